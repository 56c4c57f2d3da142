"""Model calls through real LiteLLM over HTTP to the scripted server: usage, cost, and every error as one kind."""

from __future__ import annotations

import subprocess
import sys

import pytest

from autodev.errors import ModelError
from autodev.llm.client import LiteLLMClient, key_variable
from autodev.llm.models import ResolvedModel
from autodev.testing import ScriptedReply, ScriptedServer

pytestmark = pytest.mark.req("ROUTE-2")

HELLO = [{"role": "user", "content": "Say hello."}]


def model_at(url: str, **fields: object) -> ResolvedModel:
    return ResolvedModel.model_validate(
        {
            "name": "scripted",
            "litellm_model": "openai/scripted",
            "api_base": url,
            "api_key": "sk-test",
            **fields,
        }
    )


CLIENT = LiteLLMClient(retries=1, backoff_s=0.0)


class TestLiteLLMClient:
    def test_reply_usage_and_configured_cost(self, server: ScriptedServer) -> None:
        """Text, tokens and the configured per-token prices come back in one Completion."""
        server.push(ScriptedReply(content="hello", prompt_tokens=100, completion_tokens=10))
        model = model_at(server.url, input_cost_per_token=0.001, output_cost_per_token=0.01)
        completion = CLIENT.complete(model, HELLO)
        assert completion.text == "hello"
        assert (completion.input_tokens, completion.output_tokens) == (100, 10)
        assert completion.cost_usd == pytest.approx(0.2)
        assert completion.finish_reason == "stop"
        assert server.requests[0].messages == HELLO
        assert server.requests[0].body["temperature"] == 0.0

    def test_unpriced_model_costs_nothing(self, server: ScriptedServer) -> None:
        """A model with no configured price and none in LiteLLM's map costs 0, not an error."""
        server.push("hi")
        assert CLIENT.complete(model_at(server.url), HELLO).cost_usd == 0.0

    def test_connection_refused_says_cannot_connect(self) -> None:
        """A dead server is 'cannot connect' naming its URL and the OS reason, whatever LiteLLM wraps it in."""
        with pytest.raises(ModelError) as caught:
            CLIENT.complete(model_at("http://127.0.0.1:9/v1"), HELLO)
        assert caught.value.kind == "cannot connect"
        assert caught.value.detail == (
            "http://127.0.0.1:9/v1 (connection refused): is the server running and api_base right?"
        )

    def test_an_html_error_page_says_so_with_its_status_and_url(self, server: ScriptedServer) -> None:
        """A proxy's HTML 502 is named by status and URL, never quoted as '<!DOCTYPE HTML>'."""
        page = ScriptedReply(status=502, raw_body=b"<!DOCTYPE HTML>\n<html><body>Bad gateway</body></html>")
        server.push(page, page)
        with pytest.raises(ModelError) as caught:
            CLIENT.complete(model_at(server.url), HELLO)
        assert caught.value.detail == (
            f"HTTP 502 from {server.url}: the server answered with an HTML page, not the API "
            "(is api_base the API's URL?)"
        )
        assert "DOCTYPE" not in str(caught.value)

    @pytest.mark.parametrize("body", [b"\x00\x00\x00{", b"\xff\xfe not json", b"<html><body>web UI</body></html>"])
    def test_a_200_answer_that_is_not_json_is_not_retried(self, server: ScriptedServer, body: bytes) -> None:
        """An undecodable or non-JSON 200 is a wrong api_base, said so once: no codec, no <APIResponse ...>."""
        server.push(ScriptedReply(raw_body=body), "unused")
        with pytest.raises(ModelError) as caught:
            CLIENT.complete(model_at(server.url), HELLO)
        assert str(caught.value) == (
            f"model 'scripted': invalid answer: the server at {server.url} answered HTTP 200 with a body that is "
            "not JSON (is api_base an OpenAI-compatible API?)"
        )
        assert len(server.requests) == 1

    def test_an_http_error_names_its_status(self, server: ScriptedServer) -> None:
        """A JSON error answer keeps the provider's message, after the HTTP status it came with."""
        server.push(ScriptedReply(status=500, error_message="boom"), ScriptedReply(status=500, error_message="boom"))
        with pytest.raises(ModelError) as caught:
            CLIENT.complete(model_at(server.url), HELLO)
        assert caught.value.detail == "HTTP 500: boom"

    def test_auth_error_is_not_retried(self, server: ScriptedServer) -> None:
        """A 401 is reported as an authentication failure after one request: retrying cannot help."""
        server.push(ScriptedReply(status=401, error_message="bad key"), "unused")
        with pytest.raises(ModelError) as caught:
            CLIENT.complete(model_at(server.url), HELLO)
        assert caught.value.kind == "authentication failed"
        assert not caught.value.retryable
        assert len(server.requests) == 1

    def test_auth_error_names_the_key_variable(self, server: ScriptedServer) -> None:
        """A refused key names the environment variable to set: the configured one, else the provider's."""
        server.push(ScriptedReply(status=401, error_message="bad key"), ScriptedReply(status=401))
        with pytest.raises(ModelError) as caught:
            CLIENT.complete(model_at(server.url, api_key_env="MY_PROXY_KEY"), HELLO)
        assert "set MY_PROXY_KEY to a valid key" in caught.value.detail
        with pytest.raises(ModelError) as caught:
            CLIENT.complete(model_at(server.url), HELLO)
        assert "set OPENAI_API_KEY to a valid key" in caught.value.detail

    @pytest.mark.parametrize(
        ("litellm_model", "variable"),
        [
            ("anthropic/claude-3-5-haiku-latest", "ANTHROPIC_API_KEY"),
            ("claude-3-opus", "ANTHROPIC_API_KEY"),
            ("gpt-4", "OPENAI_API_KEY"),
            ("groq/llama-3.1-8b-instant", "GROQ_API_KEY"),
            ("ollama/phi-2", None),
        ],
    )
    def test_key_variable_follows_the_provider(self, litellm_model: str, variable: str | None) -> None:
        """Without api_key_env, the provider prefix or the model family names the usual variable."""
        model = ResolvedModel(name="m", litellm_model=litellm_model)
        assert key_variable(model) == variable

    def test_server_error_is_retried_once(self, server: ScriptedServer) -> None:
        """A 500 is retried once; a good second answer is used."""
        server.push(ScriptedReply(status=500, error_message="boom"), "recovered")
        assert CLIENT.complete(model_at(server.url), HELLO).text == "recovered"
        assert len(server.requests) == 2

    def test_unknown_model_is_not_found(self, server: ScriptedServer) -> None:
        """A 404 says the model was not found and to check its name."""
        server.push(ScriptedReply(status=404, error_message="no such model"))
        with pytest.raises(ModelError) as caught:
            CLIENT.complete(model_at(server.url), HELLO)
        assert caught.value.kind == "model not found"

    def test_slow_model_times_out(self, server: ScriptedServer) -> None:
        """A reply slower than the model's timeout_s is 'timed out', never a hang."""
        server.push(ScriptedReply(content="late", delay_s=3), ScriptedReply(content="late", delay_s=3))
        with pytest.raises(ModelError) as caught:
            CLIENT.complete(model_at(server.url, timeout_s=0.5), HELLO)
        assert caught.value.kind == "timed out"


class TestLazyImport:
    def test_commands_without_model_calls_do_not_import_litellm(self) -> None:
        """Loading the CLI and running --version or init does not import LiteLLM (seconds and ~165 MB)."""
        code = (
            "import sys, tempfile\n"
            "from autodev.cli.main import run_cli\n"
            "run_cli(['--version'])\n"
            "run_cli(['-C', tempfile.mkdtemp(), 'init'])\n"
            "print('litellm' in sys.modules)\n"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert done.stdout.strip().splitlines()[-1] == "False", done.stderr
