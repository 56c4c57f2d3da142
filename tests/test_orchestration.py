"""Several models for one prompt: a sampled round's candidates spread over the tier's models
(``[llm.consensus] across_models``), their hosted calls made at once (at most ``parallel_calls``), the budget's caps
kept exactly, and every candidate's model logged.

Calls go through the real LiteLLM HTTP path to the scripted server, where the tier's two models (``scripted`` and
``big``) are told apart by the request's model; the pass is a real one (git, pytest). Only the split of local and
hosted calls is checked on :func:`autodev.route.samples.gather` directly: the scripted server cannot pose as a
llama.cpp server.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from helpers import HOPELESS, RIGHT, run_pass, setup_example, two_models

from autodev.config import load_config
from autodev.errors import ModelError
from autodev.llm.client import Completion, LiteLLMClient, Message
from autodev.llm.models import ResolvedModel
from autodev.project import ProjectPaths
from autodev.route.dispatch import Cooldowns, TierDispatcher
from autodev.route.router import Router, TierCaller
from autodev.route.samples import gather
from autodev.testing import FunctionClient, RecordedRequest, ScriptedReply, ScriptedServer

pytestmark = pytest.mark.req("ROUTE-6")

QUESTION: list[Message] = [{"role": "user", "content": "write it"}]
ACROSS = "[llm.consensus]\nacross_models = true\n"


def signed(request: RecordedRequest) -> ScriptedReply:
    """A reply naming the model and seed that were asked, so that an answer shows where it came from."""
    return ScriptedReply(content=f"{request.model} {request.body.get('seed')}")


def caller_for(repo: Path, config: str) -> TierCaller:
    """A router's caller for requirement R of a project with ``config``; LiteLLM's own retries off."""
    (repo / "autodev.toml").write_text(config, encoding="utf-8")
    paths = ProjectPaths(root=repo)
    router = Router(paths, load_config(paths.config_file), LiteLLMClient(retries=0), {})
    return router.caller("R", lambda *args: None)


def texts(answers: Sequence[tuple[ResolvedModel, Completion]]) -> list[str]:
    return [completion.text for _, completion in answers]


class InFlight:
    """A responder that holds each request until ``expected`` are in flight (or 3 s), and counts the peak.

    Holding makes overlap certain when the client allows it, and a short hold after the release lets a request
    beyond the limit arrive while the others are still open, so that it would be counted.
    """

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.open = self.peak = 0
        self._changed = threading.Condition()

    def __call__(self, request: RecordedRequest) -> ScriptedReply:
        with self._changed:
            self.open += 1
            self.peak = max(self.peak, self.open)
            self._changed.notify_all()
            self._changed.wait_for(lambda: self.open >= self.expected, timeout=3.0)
        time.sleep(0.2)
        with self._changed:
            self.open -= 1
        return signed(request)


class TestWhichModelAnswers:
    def test_across_models_spreads_the_candidates_over_the_tier_s_models_in_order(self, repo: Path) -> None:
        """Four candidates from two models: scripted, big, scripted, big, each model's seed counting its turns;
        the answers come back in the candidates' order whatever order the parallel requests arrived in."""
        with ScriptedServer(responder=signed) as server:
            caller = caller_for(repo, two_models(server.url, extra=ACROSS))
            answers = caller.ask_samples(caller.tiers[0], QUESTION, 4)
            requests = server.requests
        assert [model.name for model, _ in answers] == ["scripted", "big", "scripted", "big"]
        assert texts(answers) == ["scripted 0", "big 0", "scripted 1", "big 1"]
        assert sorted(request.model for request in requests) == ["big", "big", "scripted", "scripted"]

    def test_without_across_models_every_candidate_asks_the_first_model(self, repo: Path) -> None:
        """The default: the second model is a fallback only; seeds 0..3 of the first model, one call after the
        other."""
        with ScriptedServer(responder=signed) as server:
            caller = caller_for(repo, two_models(server.url))
            answers = caller.ask_samples(caller.tiers[0], QUESTION, 4)
            requests = server.requests
        assert [model.name for model, _ in answers] == ["scripted"] * 4
        assert texts(answers) == ["scripted 0", "scripted 1", "scripted 2", "scripted 3"]
        assert [request.model for request in requests] == ["scripted"] * 4

    def test_a_failing_model_s_candidates_fall_back_to_the_other_model(self, repo: Path) -> None:
        """big answers HTTP 500: its two candidates are answered by scripted, with seeds no other candidate used
        (above the first-asked ones), so the round still has four different answers."""

        def big_is_down(request: RecordedRequest) -> ScriptedReply:
            if request.model == "big":
                return ScriptedReply(status=500, error_message="big is down")
            return signed(request)

        with ScriptedServer(responder=big_is_down) as server:
            caller = caller_for(repo, two_models(server.url, extra="retries = 0\n" + ACROSS))
            answers = caller.ask_samples(caller.tiers[0], QUESTION, 4)
            requests = server.requests
        assert [model.name for model, _ in answers] == ["scripted"] * 4
        assert texts(answers) == ["scripted 0", "scripted 3", "scripted 1", "scripted 5"]
        assert [request.model for request in requests].count("big") == 2


class TestParallelCalls:
    @pytest.mark.parametrize("parallel", [2, 4])
    def test_hosted_calls_overlap_and_never_exceed_parallel_calls(self, repo: Path, parallel: int) -> None:
        """Four hosted candidates: ``parallel`` requests are open at the server at once, never more; the answers
        keep the candidates' order."""
        responder = InFlight(parallel)
        with ScriptedServer(responder=responder) as server:
            caller = caller_for(repo, two_models(server.url, extra=f"{ACROSS}parallel_calls = {parallel}\n"))
            answers = caller.ask_samples(caller.tiers[0], QUESTION, 4)
        assert responder.peak == parallel
        assert texts(answers) == ["scripted 0", "big 0", "scripted 1", "big 1"]

    def test_local_calls_are_made_one_at_a_time_beside_the_hosted_ones(self) -> None:
        """Two local and two hosted candidates, four calls allowed: the hosted ones overlap each other and the
        local ones, the two local ones never overlap (one llama.cpp server answers one request at a time)."""
        local = ResolvedModel(name="small", litellm_model="openai/small", gguf="small.gguf")
        hosted = ResolvedModel(name="big", litellm_model="openai/big")
        lock = threading.Lock()
        open_calls: dict[str, int] = {"small": 0, "big": 0}
        peaks: dict[str, int] = {"small": 0, "big": 0}
        both_at_once = threading.Event()

        def complete(models: Sequence[ResolvedModel]) -> tuple[ResolvedModel, Completion]:
            name = models[0].name
            with lock:
                open_calls[name] += 1
                peaks[name] = max(peaks[name], open_calls[name])
                if open_calls["small"] and open_calls["big"]:
                    both_at_once.set()
            time.sleep(0.5)
            with lock:
                open_calls[name] -= 1
            return models[0], Completion(text=name, model=models[0].litellm_model, input_tokens=1, output_tokens=1,
                                         cost_usd=0.0, duration_s=0.5)  # fmt: skip

        gathered = gather([[local], [hosted], [local], [hosted]], complete, parallel=4)
        assert texts(gathered.answers) == ["small", "big", "small", "big"]
        assert peaks == {"small": 1, "big": 2}
        assert both_at_once.is_set()

    def test_hosted_calls_falling_back_to_a_local_model_wait_for_its_call_in_flight(self) -> None:
        """The hosted model is down and both its candidates fall back to the local one while the local candidate
        is being answered: the local server still gets one request at a time (the dispatcher's turn)."""
        local = ResolvedModel(name="small", litellm_model="openai/small", gguf="small.gguf")
        hosted = ResolvedModel(name="big", litellm_model="openai/big")
        lock = threading.Lock()
        open_local = [0]
        peak_local = [0]

        def answer(model: ResolvedModel, messages: list[dict[str, Any]]) -> str:
            if model.name == "big":
                raise ModelError("big", "server error", "HTTP 500", retryable=False)
            with lock:
                open_local[0] += 1
                peak_local[0] = max(peak_local[0], open_local[0])
            time.sleep(0.2)
            with lock:
                open_local[0] -= 1
            return "small"

        dispatcher = TierDispatcher(FunctionClient(answer), cache=None, observer=None, retries=0, backoff_s=0.0,
                                    cooldowns=Cooldowns(after=10, seconds=60.0))  # fmt: skip
        calls = [[local], [hosted, local], [hosted, local]]
        gathered = gather(calls, lambda models: dispatcher.complete(models, QUESTION), parallel=4)
        assert texts(gathered.answers) == ["small"] * 3
        assert peak_local[0] == 1


class TestBudget:
    def test_a_requirement_cap_for_two_calls_lets_two_of_four_parallel_calls_reach_the_server(self, repo: Path) -> None:
        """Each call may cost $1.00 (100 tokens at $0.01) and costs $0.60; a $2.00 requirement cap lets two of the
        four candidates asked at once be reserved and refuses the others before they are sent. Both paid answers
        are tested (one is right and committed), and the log names each candidate's model."""
        priced = "input_cost_per_token = 0.0\noutput_cost_per_token = 0.01\nmax_tokens = 100\n"
        extra = f"cache_responses = false\n[llm.samples]\ntier1 = 4\n{ACROSS}parallel_calls = 4\n"
        config = two_models("URL", extra=extra, model_extra=priced, max_attempts="6")
        replies = iter([HOPELESS, RIGHT])
        lock = threading.Lock()

        def first_hopeless_then_right(request: RecordedRequest) -> ScriptedReply:
            with lock:
                content = next(replies, "never asked")
            return ScriptedReply(content=content, completion_tokens=60, delay_s=0.3)

        with ScriptedServer(responder=first_hopeless_then_right) as server:
            config = config.replace("URL", server.url) + "[budget]\nper_requirement_usd = 2.0\n"
            setup_example(repo, server.url, config=config)
            result = run_pass(repo, LiteLLMClient(retries=0))
            requests = server.requests
        assert len(requests) == 2
        assert result.status == "satisfied"
        assert sorted(attempt.outcome for attempt in result.attempts) == ["green", "red"]
        assert result.cost_usd == pytest.approx(1.20)
        log = [json.loads(line) for line in (repo / ".autodev" / "logs" / "autodev.jsonl").read_text().splitlines()]
        candidates = [line for line in log if line.get("event") == "candidates"]
        assert len(candidates) == 1
        assert candidates[0]["count"] == 2
        assert sorted(candidates[0]["models"]) == sorted(attempt.model for attempt in result.attempts)
        assert any(line.get("event") == "fewer samples" for line in log)
