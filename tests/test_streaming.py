"""LiteLLMClient streams: tokens are reported as they arrive, and the Completion is what it was without streaming.

Through real LiteLLM over HTTP to the scripted server, which sends the reply as server-sent events, one word each.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from helpers import FakeClock

from autodev.errors import ModelError
from autodev.llm.client import LiteLLMClient
from autodev.llm.models import ResolvedModel
from autodev.llm.stream import read_stream
from autodev.progress import ModelStreaming, Step, listening
from autodev.testing import ScriptedReply, ScriptedServer

pytestmark = pytest.mark.req("ROUTE-2")

HELLO = [{"role": "user", "content": "Say hello."}]
CLIENT = LiteLLMClient(retries=0)


def model_at(url: str, **fields: object) -> ResolvedModel:
    return ResolvedModel.model_validate(
        {"name": "scripted", "litellm_model": "openai/scripted", "api_base": url, "api_key": "sk-test", **fields}
    )


class TestStreamingClient:
    def test_tokens_are_reported_as_the_reply_streams_in(self, server: ScriptedServer) -> None:
        """A five-word reply arrives as five deltas: the listener sees the count grow 1..5 for that model."""
        server.push(ScriptedReply(content="one two three four five"))
        seen: list[Step] = []
        with listening(seen.append):
            completion = CLIENT.complete(model_at(server.url), HELLO)
        assert completion.text == "one two three four five"
        streaming = [step for step in seen if isinstance(step, ModelStreaming)]
        assert [step.tokens for step in streaming] == [1, 2, 3, 4, 5]
        assert {step.model for step in streaming} == {"scripted"}

    def test_the_completion_keeps_usage_cost_and_finish_reason(self, server: ScriptedServer) -> None:
        """Usage from the stream's last chunk, configured prices, the finish reason; the request asked for usage."""
        server.push(ScriptedReply(content="cut sho", prompt_tokens=100, completion_tokens=10, finish_reason="length"))
        model = model_at(server.url, input_cost_per_token=0.001, output_cost_per_token=0.01)
        completion = CLIENT.complete(model, HELLO)
        assert (completion.text, completion.model) == ("cut sho", "openai/scripted")
        assert (completion.input_tokens, completion.output_tokens) == (100, 10)
        assert completion.cost_usd == pytest.approx(0.2)
        assert completion.finish_reason == "length"
        assert completion.duration_s > 0 and not completion.cached
        body = server.requests[0].body
        assert body["stream"] is True
        assert body["stream_options"] == {"include_usage": True}

    def test_a_server_that_ignores_stream_is_answered_from_its_one_completion(self, server: ScriptedServer) -> None:
        """Some servers send one JSON chat completion to a streaming request: its text and usage are the reply,
        not an empty stream that would pass for a model that said nothing."""
        body = (
            b'{"choices": [{"index": 0, "message": {"role": "assistant", "content": "whole answer"},'
            b' "finish_reason": "stop"}], "usage": {"prompt_tokens": 7, "completion_tokens": 2}}'
        )
        server.push(ScriptedReply(raw_body=body))
        completion = CLIENT.complete(model_at(server.url), HELLO)
        assert (completion.text, completion.input_tokens, completion.output_tokens) == ("whole answer", 7, 2)
        assert completion.finish_reason == "stop"

    def test_json_that_is_no_completion_is_a_wrong_api_base(self, server: ScriptedServer) -> None:
        """A JSON body of another API (a web UI's status object) is named as such, once, without a retry."""
        server.push(ScriptedReply(raw_body=b'{"status": "ok"}'), "unused")
        with pytest.raises(ModelError) as caught:
            CLIENT.complete(model_at(server.url), HELLO)
        assert caught.value.kind == "invalid answer"
        assert "JSON that is not a chat completion" in caught.value.detail
        assert len(server.requests) == 1

    def test_an_error_status_is_still_translated(self, server: ScriptedServer) -> None:
        """A 401 on a streaming request is the same ModelError as before streaming."""
        server.push(ScriptedReply(status=401, error_message="bad key"))
        with pytest.raises(ModelError) as caught:
            CLIENT.complete(model_at(server.url), HELLO)
        assert caught.value.kind == "authentication failed"


def chunks(clock: FakeClock, words: list[str], step_s: float) -> Iterator[SimpleNamespace]:
    """Chunks shaped like LiteLLM's, each arriving ``step_s`` after the one before."""
    for word in words:
        clock.advance(step_s)
        yield SimpleNamespace(usage=None, choices=[SimpleNamespace(delta=SimpleNamespace(content=word),
                                                                   finish_reason=None)])  # fmt: skip


class TestReadStream:
    def test_a_model_that_streams_past_its_timeout_is_cut_off(self) -> None:
        """timeout_s bounds the whole call, not only the silence between chunks: a trickle forever times out."""
        clock = FakeClock(0.0)
        with pytest.raises(ModelError) as caught:
            read_stream(chunks(clock, ["a "] * 100, step_s=1.0), "slow", timeout_s=5.0, started=0.0, clock=clock)
        assert caught.value.kind == "timed out"
        assert caught.value.retryable
        assert clock.now == pytest.approx(6.0)

    def test_without_usage_the_counts_are_left_to_the_caller(self) -> None:
        """No usage chunk (some local servers): the text is whole and the token counts are None, not 0."""
        clock = FakeClock(0.0)
        reply = read_stream(chunks(clock, ["a ", "b"], step_s=0.1), "m", timeout_s=5.0, started=0.0, clock=clock)
        assert (reply.text, reply.input_tokens, reply.output_tokens) == ("a b", None, None)
        assert len(reply.chunks) == 2
