"""The scripted OpenAI-compatible server: raw HTTP behaviour, the real LiteLLM path, and the serve command."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.error import HTTPError, URLError

import pytest

from autodev.testing import RecordedRequest, ScriptedReply, ScriptedServer

# LiteLLM 1.106.0 installs its own `warnings.filterwarnings("ignore", ...)` for exactly these two at import
# time, but pytest's per-test catch_warnings drops them after the test that imported LiteLLM, so from then on
# they are errors here: pydantic's UserWarning when it first builds the schema of litellm's response types,
# and pydantic's deprecation warning for every streamed chunk (litellm reads model_fields on instances).
pytestmark = [
    pytest.mark.req("ROUTE-2"),
    pytest.mark.filterwarnings(
        "ignore:Item 'summary' on TypedDict class 'ChatCompletionReasoningItem' is using"
        " the `ReadOnly` qualifier"
        ":UserWarning:pydantic._internal._generate_schema"
    ),
    pytest.mark.filterwarnings(
        "ignore:Accessing the 'model_(computed_)?fields' attribute on the instance is deprecated"
        ":pydantic.warnings.PydanticDeprecatedSince211:litellm.litellm_core_utils.model_response_utils"
    ),
]

REPO_ROOT = Path(__file__).resolve().parent.parent
# Loopback only: an HTTP(S)_PROXY in the environment must not capture these requests.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(
    url: str, body: bytes | None = None, *, method: str | None = None, timeout: float = 5.0
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one real HTTP request; error statuses are returned, not raised."""
    request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with OPENER.open(request, timeout=timeout) as response:
            return response.status, dict(response.headers.items()), response.read()
    except HTTPError as error:
        with error:
            return error.code, dict(error.headers.items()), error.read()


def post_chat(server: ScriptedServer, body: dict[str, Any], *, timeout: float = 5.0) -> tuple[int, Any]:
    status, _headers, raw = http(f"{server.url}/chat/completions", json.dumps(body).encode(), timeout=timeout)
    return status, json.loads(raw)


def chat_body(content: str = "hello", **extra: Any) -> dict[str, Any]:
    return {"model": "scripted", "messages": [{"role": "user", "content": content}], **extra}


def server_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("scripted-server")]


def wait_for(condition: Any, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


class TestScriptedReply:
    def test_defaults_are_a_plain_successful_reply(self) -> None:
        """A default reply is HTTP 200, no delay, finish_reason stop, token counts left to the estimate."""
        reply = ScriptedReply(content="x")
        assert (reply.status, reply.delay_s, reply.finish_reason) == (200, 0.0, "stop")
        assert reply.prompt_tokens is None and reply.completion_tokens is None and reply.raw_body is None

    @pytest.mark.parametrize("bad", [{"status": 199}, {"status": 600}, {"delay_s": -1}, {"prompt_tokens": -1}])
    def test_rejects_values_no_server_could_send(self, bad: dict[str, Any]) -> None:
        """Statuses outside 200-599, negative delays and negative token counts are refused at construction."""
        with pytest.raises(ValueError):
            ScriptedReply(**bad)

    def test_is_frozen(self) -> None:
        """Replies are values: a script cannot be changed behind the server's back."""
        reply = ScriptedReply(content="x")
        with pytest.raises(ValueError):
            reply.content = "y"  # type: ignore[misc]


class TestRecordedRequest:
    def test_exposes_messages_model_and_prompt_text(self) -> None:
        """prompt_text joins string contents and the text parts of list contents, in message order."""
        body = {
            "model": "m1",
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "part one"}, {"type": "image_url"}]},
            ],
        }
        request = RecordedRequest(method="POST", path="/v1/chat/completions", headers={}, body=body)
        assert request.model == "m1"
        assert [message["role"] for message in request.messages] == ["system", "user"]
        assert request.prompt_text == "be brief\npart one"

    def test_tolerates_a_body_without_messages_or_model(self) -> None:
        """A request missing fields still records, with empty messages, model and prompt text."""
        request = RecordedRequest(method="POST", path="/chat/completions", headers={}, body={"messages": "x"})
        assert (request.messages, request.model, request.prompt_text) == ([], "", "")


class TestScriptedServer:
    def test_refuses_non_loopback_hosts(self) -> None:
        """Binding anywhere but loopback is refused, since the server answers anyone with scripted text."""
        for host in ("0.0.0.0", "192.168.1.10", "example.com"):  # noqa: S104
            with pytest.raises(ValueError, match="loopback"):
                ScriptedServer(host=host)

    def test_url_needs_a_running_server(self) -> None:
        """Asking for the URL before start() is a clear error, not a URL with port 0."""
        with pytest.raises(RuntimeError, match="not running"):
            _ = ScriptedServer().url

    def test_health_and_models(self) -> None:
        """GET /health answers 200 and GET /v1/models lists exactly one model."""
        with ScriptedServer() as server:
            assert server.url.startswith("http://127.0.0.1:") and server.url.endswith("/v1")
            status, _headers, _body = http(server.url.removesuffix("/v1") + "/health")
            assert status == 200
            status, _headers, raw = http(f"{server.url}/models")
            assert status == 200
            assert [model["id"] for model in json.loads(raw)["data"]] == ["scripted"]

    def test_unknown_path_is_404_and_not_recorded(self) -> None:
        """Unknown paths answer 404 with an OpenAI-style error body and use up no reply."""
        with ScriptedServer(["unused"]) as server:
            status, _headers, raw = http(f"{server.url}/completions", b"{}")
            assert status == 404
            assert "no route" in json.loads(raw)["error"]["message"]
            status, _headers, _raw = http(f"{server.url}/nope")
            assert status == 404
            assert (server.requests, server.remaining) == ([], 1)

    def test_get_on_the_chat_path_is_405(self) -> None:
        """The chat path exists but only for POST: a GET says so instead of pretending it is unknown."""
        with ScriptedServer(["unused"]) as server:
            status, _headers, _raw = http(f"{server.url}/chat/completions")
            assert (status, server.remaining) == (405, 1)

    @pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"", b"\xff\xfe"])
    def test_malformed_body_is_400(self, body: bytes) -> None:
        """A body that is not one JSON object answers 400 and uses up no reply."""
        with ScriptedServer(["unused"]) as server:
            status, _headers, raw = http(f"{server.url}/chat/completions", body)
            assert status == 400
            assert json.loads(raw)["error"]["type"] == "invalid_request_error"
            assert server.remaining == 1

    def test_reply_has_the_openai_chat_completion_shape(self) -> None:
        """A reply carries id, object, created, the request's model, the content, finish_reason and usage."""
        with ScriptedServer(["12345678"]) as server:
            status, body = post_chat(server, chat_body("abcdefgh", model="my-model"))
        assert status == 200
        assert body["object"] == "chat.completion" and body["id"] and isinstance(body["created"], int)
        assert body["model"] == "my-model"
        assert body["choices"][0]["message"] == {"role": "assistant", "content": "12345678"}
        assert body["choices"][0]["finish_reason"] == "stop"
        assert body["usage"] == {"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4}

    def test_scripted_token_counts_and_finish_reason_override_the_estimate(self) -> None:
        """Explicit token counts and finish_reason are sent as given."""
        reply = ScriptedReply(content="cut", prompt_tokens=900, completion_tokens=100, finish_reason="length")
        with ScriptedServer([reply]) as server:
            _status, body = post_chat(server, chat_body())
        assert body["usage"] == {"prompt_tokens": 900, "completion_tokens": 100, "total_tokens": 1000}
        assert body["choices"][0]["finish_reason"] == "length"

    def test_both_chat_paths_answer_in_script_order_and_are_recorded(self) -> None:
        """/v1/chat/completions and /chat/completions both take the next reply; requests record in order."""
        with ScriptedServer(["first", "second"]) as server:
            base = server.url.removesuffix("/v1")
            status, _headers, raw = http(f"{base}/chat/completions", json.dumps(chat_body("a")).encode())
            assert (status, json.loads(raw)["choices"][0]["message"]["content"]) == (200, "first")
            _status, body = post_chat(server, chat_body("b"))
            assert body["choices"][0]["message"]["content"] == "second"
            assert [request.path for request in server.requests] == [
                "/chat/completions",
                "/v1/chat/completions",
            ]
            assert [request.prompt_text for request in server.requests] == ["a", "b"]
            assert server.requests[0].headers["content-type"] == "application/json"

    def test_exhausted_script_answers_500_naming_the_request(self) -> None:
        """Once the script is used up, each request gets 500 with 'no reply left for request #N'."""
        with ScriptedServer(["only"]) as server:
            post_chat(server, chat_body())
            status, body = post_chat(server, chat_body())
            assert status == 500
            assert body["error"]["message"] == "scripted server: no reply left for request #2"
            assert body["error"]["type"] == "server_error"

    def test_push_extends_the_script(self) -> None:
        """push() appends replies; remaining counts the unused ones."""
        with ScriptedServer(["a"]) as server:
            server.push("b", ScriptedReply(content="c"))
            assert server.remaining == 3
            contents = [post_chat(server, chat_body())[1]["choices"][0]["message"]["content"] for _ in range(3)]
            assert contents == ["a", "b", "c"]
            assert server.remaining == 0

    def test_responder_answers_after_the_script(self) -> None:
        """The responder sees each request once the scripted replies are used up, and may return a str."""
        seen: list[str] = []

        def echo(request: RecordedRequest) -> str:
            seen.append(request.prompt_text)
            return f"echo: {request.prompt_text}"

        with ScriptedServer(["scripted"], responder=echo) as server:
            contents = [post_chat(server, chat_body(text))[1]["choices"][0]["message"]["content"] for text in "xy"]
        assert contents == ["scripted", "echo: y"]
        assert seen == ["y"]

    def test_a_failing_responder_is_a_visible_500(self) -> None:
        """A responder that raises turns into a 500 naming the exception, not a dropped connection."""

        def broken(request: RecordedRequest) -> str:
            raise KeyError("oops")

        with ScriptedServer(responder=broken) as server:
            status, body = post_chat(server, chat_body())
        assert status == 500
        assert "responder raised KeyError" in body["error"]["message"]

    def test_error_status_uses_the_openai_error_shape_and_extra_headers(self) -> None:
        """A non-200 reply answers with {"error": {message, type, code}} and the scripted headers."""
        reply = ScriptedReply(status=429, error_message="slow down", headers={"Retry-After": "7"})
        with ScriptedServer([reply]) as server:
            status, headers, raw = http(f"{server.url}/chat/completions", json.dumps(chat_body()).encode())
        assert (status, headers["Retry-After"]) == (429, "7")
        assert json.loads(raw)["error"] == {
            "message": "slow down",
            "type": "rate_limit_error",
            "param": None,
            "code": "429",
        }

    def test_raw_body_is_sent_verbatim(self) -> None:
        """raw_body goes out byte for byte with its status, to simulate a broken or hostile server."""
        with ScriptedServer([ScriptedReply(status=200, raw_body=b'{"choices": [tru')]) as server:
            status, _headers, raw = http(f"{server.url}/chat/completions", json.dumps(chat_body()).encode())
        assert (status, raw) == (200, b'{"choices": [tru')

    def test_streaming_request_gets_sse_chunks_then_usage_then_done(self) -> None:
        """With stream=true the reply is SSE: content deltas that rebuild the text, a usage chunk, [DONE]."""
        reply = ScriptedReply(content="one two  three", completion_tokens=3)
        with ScriptedServer([reply]) as server:
            status, headers, raw = http(f"{server.url}/chat/completions", json.dumps(chat_body(stream=True)).encode())
        assert status == 200 and headers["Content-Type"] == "text/event-stream"
        events = raw.decode().split("\n\n")
        assert events[-2:] == ["data: [DONE]", ""]
        chunks = [json.loads(event.removeprefix("data: ")) for event in events[:-2]]
        assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
        deltas = [chunk["choices"][0]["delta"].get("content", "") for chunk in chunks if chunk["choices"]]
        assert "".join(deltas) == "one two  three" and len(deltas) > 3
        assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
        assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 3

    def test_delay_holds_the_reply_back(self) -> None:
        """delay_s makes the server wait that long before answering."""
        with ScriptedServer([ScriptedReply(content="late", delay_s=0.3)]) as server:
            started = time.monotonic()
            status, _body = post_chat(server, chat_body())
            assert status == 200 and time.monotonic() - started >= 0.3

    def test_delay_longer_than_the_client_timeout_times_the_client_out(self) -> None:
        """A client with a shorter timeout than delay_s sees a timeout; the request is still recorded."""
        with ScriptedServer([ScriptedReply(content="late", delay_s=10)]) as server:
            with pytest.raises((TimeoutError, URLError)):
                post_chat(server, chat_body(), timeout=0.2)
            assert len(server.requests) == 1

    def test_stop_is_prompt_with_a_delayed_request_in_flight_and_leaks_no_threads(self) -> None:
        """stop() cuts a request still sleeping out its delay, returns within 2 s, leaves no server thread."""
        outcome: list[BaseException | int] = []

        def call(server: ScriptedServer) -> None:
            try:
                outcome.append(post_chat(server, chat_body(), timeout=20)[0])
            except (OSError, ValueError) as error:
                outcome.append(error)

        server = ScriptedServer([ScriptedReply(content="never", delay_s=30)]).start()
        client = threading.Thread(target=call, args=(server,))
        client.start()
        wait_for(lambda: len(server.requests) == 1)
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 2.0
        client.join(5)
        assert not client.is_alive()
        assert len(outcome) == 1 and isinstance(outcome[0], BaseException)
        assert server_threads() == []

    def test_stop_is_prompt_with_a_silent_client_connected(self) -> None:
        """A client that connects and never sends a request does not hold stop() up or leak its thread."""
        server = ScriptedServer().start()
        port = int(server.url.rsplit(":", 1)[1].removesuffix("/v1"))
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            wait_for(lambda: any(t.name == "scripted-server-connection" for t in server_threads()))
            started = time.monotonic()
            server.stop()
            assert time.monotonic() - started < 2.0
        assert server_threads() == []

    def test_stop_is_idempotent_and_the_port_is_released(self) -> None:
        """A second stop() is harmless and the port refuses connections after stop."""
        server = ScriptedServer().start()
        url = server.url
        server.stop()
        server.stop()
        with pytest.raises(URLError):
            http(f"{url}/models", timeout=2)

    def test_concurrent_requests_each_get_a_distinct_reply(self) -> None:
        """Overlapping requests take distinct replies and all get recorded."""
        replies = [f"reply {index}" for index in range(8)]
        contents: list[str] = []
        with ScriptedServer(replies) as server:
            threads = [
                threading.Thread(
                    target=lambda: contents.append(
                        post_chat(server, chat_body())[1]["choices"][0]["message"]["content"]
                    )
                )
                for _ in replies
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(10)
            assert len(server.requests) == 8
        assert sorted(contents) == sorted(replies)


@pytest.fixture(scope="module")
def litellm() -> ModuleType:
    """LiteLLM, imported only here: with the local cost map, so importing it touches no network."""
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    import litellm as imported

    return imported


def complete(litellm: ModuleType, server: ScriptedServer, content: str = "hi", **extra: Any) -> Any:
    return litellm.completion(
        model="openai/scripted",
        api_base=server.url,
        api_key="sk-test",
        messages=[{"role": "user", "content": content}],
        num_retries=0,
        **extra,
    )


class TestScriptedServerThroughLiteLLM:
    def test_plain_reply_and_usage_reach_the_litellm_response(
        self, litellm: ModuleType, server: ScriptedServer
    ) -> None:
        """LiteLLM returns the scripted content, finish_reason and token counts unchanged."""
        server.push(ScriptedReply(content="def add(a, b): ...", prompt_tokens=11, completion_tokens=5))
        response = complete(litellm, server)
        assert response.choices[0].message.content == "def add(a, b): ..."
        assert response.choices[0].finish_reason == "stop"
        assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (11, 5)
        assert response.usage.total_tokens == 16

    def test_records_what_litellm_sent(self, litellm: ModuleType, server: ScriptedServer) -> None:
        """The recorded request holds LiteLLM's messages, the model name without provider and the API key."""
        server.push("ok")
        complete(litellm, server, "write add()")
        [request] = server.requests
        assert request.model == "scripted"
        assert request.messages == [{"role": "user", "content": "write add()"}]
        assert request.path == "/v1/chat/completions"
        assert request.headers["authorization"] == "Bearer sk-test"

    def test_cut_off_reply_reports_finish_reason_length(self, litellm: ModuleType, server: ScriptedServer) -> None:
        """finish_reason 'length' reaches the caller, so truncation can be detected."""
        server.push(ScriptedReply(content="def f(", finish_reason="length"))
        assert complete(litellm, server).choices[0].finish_reason == "length"

    @pytest.mark.parametrize(
        ("status", "exception_name"),
        [
            (400, "BadRequestError"),
            (401, "AuthenticationError"),
            (429, "RateLimitError"),
            (503, "ServiceUnavailableError"),
        ],
    )
    def test_error_status_becomes_the_matching_litellm_exception(
        self, litellm: ModuleType, server: ScriptedServer, status: int, exception_name: str
    ) -> None:
        """LiteLLM maps each scripted error status to its exception class and keeps the scripted message."""
        server.push(ScriptedReply(status=status, error_message=f"scripted failure {status}"))
        with pytest.raises(getattr(litellm, exception_name), match=f"scripted failure {status}"):
            complete(litellm, server)
        assert len(server.requests) == 1

    def test_streaming_reassembles_content_and_reports_usage(self, litellm: ModuleType, server: ScriptedServer) -> None:
        """A streamed reply comes as several chunks whose deltas rebuild the content, plus the usage."""
        server.push(ScriptedReply(content="return a + b", prompt_tokens=20, completion_tokens=4))
        stream = complete(litellm, server, stream=True, stream_options={"include_usage": True})
        chunks = list(stream)
        text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
        assert text == "return a + b"
        usage = litellm.stream_chunk_builder(chunks).usage
        assert (usage.prompt_tokens, usage.completion_tokens) == (20, 4)

    def test_exhausted_script_fails_the_call(self, litellm: ModuleType, server: ScriptedServer) -> None:
        """A call beyond the script raises LiteLLM's server error carrying the request number."""
        with pytest.raises(litellm.InternalServerError, match=r"no reply left for request #1"):
            complete(litellm, server)

    def test_delay_beyond_the_timeout_raises_litellm_timeout(self, litellm: ModuleType, server: ScriptedServer) -> None:
        """A reply delayed past LiteLLM's timeout surfaces as litellm.Timeout after one request."""
        server.push(ScriptedReply(content="late", delay_s=10))
        with pytest.raises(litellm.Timeout):
            complete(litellm, server, timeout=0.3)
        assert len(server.requests) == 1


def run_module(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autodev.testing", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_serve(*args: str) -> tuple[subprocess.Popen[str], str]:
    """Start the serve command and return it with the base URL read from its single stdout line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "autodev.testing", "serve", *args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("listening on http://127.0.0.1:"), line
    return process, line.removeprefix("listening on ").strip()


def finish(process: subprocess.Popen[str], sig: signal.Signals = signal.SIGTERM) -> tuple[int, str, str]:
    process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=10)
    return process.returncode, stdout, stderr


class TestServeCommand:
    @pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
    def test_serves_reply_files_in_order_and_exits_zero_on_signal(self, tmp_path: Path, sig: signal.Signals) -> None:
        """It prints one URL line, answers with the file contents in order, then exits 0 on a signal."""
        first, second = tmp_path / "first.txt", tmp_path / "second.txt"
        first.write_text("print('one')\n", encoding="utf-8")
        second.write_text("print('two')\n", encoding="utf-8")
        process, url = start_serve("--reply-file", str(first), "--reply-file", str(second))
        try:
            bodies = [http(f"{url}/chat/completions", json.dumps(chat_body()).encode()) for _ in range(3)]
        finally:
            returncode, stdout, stderr = finish(process, sig)
        contents = [json.loads(raw)["choices"][0]["message"]["content"] for _status, _h, raw in bodies[:2]]
        assert contents == ["print('one')\n", "print('two')\n"]
        assert bodies[2][0] == 500
        assert (returncode, stdout, stderr) == (0, "", "")

    def test_repeat_cycles_the_replies(self, tmp_path: Path) -> None:
        """--repeat starts again from the first reply instead of running out."""
        reply = tmp_path / "reply.txt"
        reply.write_text("again", encoding="utf-8")
        process, url = start_serve("--reply-file", str(reply), "--repeat")
        try:
            bodies = [http(f"{url}/chat/completions", json.dumps(chat_body()).encode()) for _ in range(3)]
        finally:
            returncode, _stdout, _stderr = finish(process)
        assert [json.loads(raw)["choices"][0]["message"]["content"] for _s, _h, raw in bodies] == ["again"] * 3
        assert returncode == 0

    def test_missing_reply_file_is_a_usage_error(self, tmp_path: Path) -> None:
        """An unreadable reply file stops the command before it listens: exit code 2, the file named."""
        done = run_module("serve", "--reply-file", str(tmp_path / "absent.txt"))
        assert done.returncode == 2
        assert "absent.txt" in done.stderr and done.stdout == ""

    def test_port_in_use_exits_1_with_a_message(self, tmp_path: Path) -> None:
        """A port another process holds is reported on stderr with exit code 1, not a traceback."""
        reply = tmp_path / "reply.txt"
        reply.write_text("x", encoding="utf-8")
        with ScriptedServer() as holder:
            port = holder.url.rsplit(":", 1)[1].removesuffix("/v1")
            done = run_module("serve", "--port", port, "--reply-file", str(reply))
        assert done.returncode == 1
        assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr

    def test_does_not_import_litellm_or_click(self) -> None:
        """The command stays light: importing it loads neither LiteLLM nor click."""
        code = (
            "import sys, autodev.testing.__main__; print(sorted(m for m in ('litellm', 'click') if m in sys.modules))"
        )
        done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=20)
        assert (done.returncode, done.stdout.strip()) == (0, "[]")
