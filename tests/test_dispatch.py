"""One call to a tier over real HTTP: retries with back-off, fall-back, cooldowns, the cache and the budget hook.

Every test drives LiteLLMClient(retries=0) against ScriptedServer, so the retries counted here are the
dispatcher's own and every request shows up in the server's log.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from autodev.errors import BudgetExceededError, ModelError
from autodev.llm.cache import ResponseCache
from autodev.llm.client import Completion, LiteLLMClient, Message
from autodev.llm.models import ResolvedModel
from autodev.route.dispatch import Cooldowns, TierDispatcher
from autodev.testing import ScriptedReply, ScriptedServer

pytestmark = pytest.mark.req("ROUTE-2")

HELLO = [{"role": "user", "content": "Say hello."}]
TRANSPORT = LiteLLMClient(retries=0)


@pytest.fixture
def first() -> Iterator[ScriptedServer]:
    with ScriptedServer() as scripted:
        yield scripted


@pytest.fixture
def second() -> Iterator[ScriptedServer]:
    with ScriptedServer() as scripted:
        yield scripted


def model_at(name: str, url: str, **fields: object) -> ResolvedModel:
    return ResolvedModel.model_validate(
        {"name": name, "litellm_model": "openai/scripted", "api_base": url, "api_key": "sk-test", **fields}
    )


class Clock:
    """A hand-wound monotonic clock, so cooldown tests take no real time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Observer:
    """Records every hook call; refuses calls like an exhausted budget when ``refuse`` is set."""

    def __init__(self, *, refuse: bool = False) -> None:
        self.refuse = refuse
        self.events: list[tuple[str, str, str]] = []

    def before_call(self, model: ResolvedModel, messages: Sequence[Message]) -> None:
        self.events.append(("before", model.name, ""))
        if self.refuse:
            raise BudgetExceededError("run", 1.0, 0.99, 0.05)

    def after_call(self, model: ResolvedModel, completion: Completion | None, error: ModelError | None) -> None:
        if completion is not None:
            outcome = "cached" if completion.cached else "ok"
        else:
            assert error is not None
            outcome = error.kind
        self.events.append(("after", model.name, outcome))


class Log:
    """A structlog-shaped logger that keeps (level, event, fields)."""

    def __init__(self) -> None:
        self.records: list[tuple[str, str, dict[str, Any]]] = []

    def _record(self, level: str, event: str, fields: dict[str, Any]) -> None:
        self.records.append((level, event, fields))

    def debug(self, event: str, **fields: Any) -> None:
        self._record("debug", event, fields)

    def info(self, event: str, **fields: Any) -> None:
        self._record("info", event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._record("warning", event, fields)

    def events(self, name: str) -> list[dict[str, Any]]:
        return [fields for _level, event, fields in self.records if event == name]


def dispatcher(
    *,
    retries: int = 2,
    cache: ResponseCache | None = None,
    observer: Observer | None = None,
    cooldowns: Cooldowns | None = None,
    sleeps: list[float] | None = None,
    log: Log | None = None,
) -> TierDispatcher:
    recorded = sleeps if sleeps is not None else []
    return TierDispatcher(
        TRANSPORT,
        cache=cache,
        observer=observer,
        retries=retries,
        backoff_s=0.01,
        cooldowns=cooldowns or Cooldowns(after=3, seconds=60.0),
        sleep=recorded.append,
        log=log or Log(),
    )


def server_error() -> ScriptedReply:
    return ScriptedReply(status=500, error_message="boom")


def unauthorized() -> ScriptedReply:
    return ScriptedReply(status=401, error_message="bad key")


class TestRetries:
    def test_server_errors_are_retried_transparently(self, first: ScriptedServer) -> None:
        """Two 500s then an answer: three requests, one completion, back-off doubling from backoff_s."""
        first.push(server_error(), server_error(), "hello")
        sleeps: list[float] = []
        model = model_at("a", first.url)
        answered, completion = dispatcher(retries=2, sleeps=sleeps).complete([model], HELLO)
        assert answered == model
        assert completion.text == "hello"
        assert len(first.requests) == 3
        assert sleeps == pytest.approx([0.01, 0.02])

    def test_observer_sees_every_retry(self, first: ScriptedServer) -> None:
        """before_call precedes each real request and after_call follows each, error or answer."""
        first.push(server_error(), server_error(), "hello")
        observer = Observer()
        dispatcher(retries=2, observer=observer).complete([model_at("a", first.url)], HELLO)
        assert observer.events == [
            ("before", "a", ""),
            ("after", "a", "server error"),
            ("before", "a", ""),
            ("after", "a", "server error"),
            ("before", "a", ""),
            ("after", "a", "ok"),
        ]

    def test_retries_exhausted_fall_back(self, first: ScriptedServer, second: ScriptedServer) -> None:
        """A model still failing after 1 + retries requests gives way to the next model of the tier."""
        first.push(server_error(), server_error())
        second.push("from b")
        log = Log()
        answered, completion = dispatcher(retries=1, log=log).complete(
            [model_at("a", first.url), model_at("b", second.url)], HELLO
        )
        assert (answered.name, completion.text) == ("b", "from b")
        assert len(first.requests) == 2
        [fallback] = log.events("falling back")
        assert (fallback["failed"], fallback["to"]) == ("a", "b")
        assert "server error" in fallback["reason"]


class TestFallBack:
    def test_timeout_falls_back_to_second_model(self, first: ScriptedServer, second: ScriptedServer) -> None:
        """A model slower than its timeout_s is abandoned and the tier's next model answers."""
        first.push(ScriptedReply(content="late", delay_s=3))
        second.push("on time")
        observer = Observer()
        answered, completion = dispatcher(retries=0, observer=observer).complete(
            [model_at("slow", first.url, timeout_s=1.0), model_at("fast", second.url)], HELLO
        )
        assert (answered.name, completion.text) == ("fast", "on time")
        assert ("after", "slow", "timed out") in observer.events

    def test_non_retryable_error_falls_back_without_retry(self, first: ScriptedServer, second: ScriptedServer) -> None:
        """A 401 cannot be fixed by asking again: one request, then the next model, no back-off sleep."""
        first.push(unauthorized(), "unused")
        second.push("from b")
        sleeps: list[float] = []
        answered, completion = dispatcher(retries=3, sleeps=sleeps).complete(
            [model_at("a", first.url), model_at("b", second.url)], HELLO
        )
        assert (answered.name, completion.text) == ("b", "from b")
        assert len(first.requests) == 1
        assert sleeps == []

    def test_all_models_failing_raises_the_last_error(self, first: ScriptedServer, second: ScriptedServer) -> None:
        """When no model of the tier answers, the last model's error is what the caller sees."""
        first.push(unauthorized())
        second.push(ScriptedReply(status=404, error_message="no such model"))
        with pytest.raises(ModelError) as caught:
            dispatcher().complete([model_at("a", first.url), model_at("b", second.url)], HELLO)
        assert (caught.value.model, caught.value.kind) == ("b", "model not found")

    def test_empty_tier_is_a_programming_error(self) -> None:
        """A tier with no models cannot be dispatched; that is a bug in the caller, not a model failure."""
        with pytest.raises(ValueError, match="at least one model"):
            dispatcher().complete([], HELLO)


class TestCooldowns:
    def test_rest_starts_after_consecutive_failures_and_ends(self) -> None:
        """`after` consecutive failures make a model rest `seconds`; time passing ends the rest."""
        clock = Clock()
        cooldowns = Cooldowns(after=2, seconds=30.0, clock=clock)
        cooldowns.failed("a")
        assert cooldowns.resting("a") == 0.0
        cooldowns.failed("a")
        assert cooldowns.resting("a") == 30.0
        clock.now += 10
        assert cooldowns.resting("a") == 20.0
        clock.now += 20
        assert cooldowns.resting("a") == 0.0

    def test_success_resets_the_count(self) -> None:
        """Failures must be consecutive: a success in between starts the count again."""
        cooldowns = Cooldowns(after=2, seconds=30.0, clock=Clock())
        cooldowns.failed("a")
        cooldowns.succeeded("a")
        cooldowns.failed("a")
        assert cooldowns.resting("a") == 0.0

    def test_failure_after_rest_rests_again_at_once(self) -> None:
        """A model back from its rest that fails again has not recovered: it rests again without a new count."""
        clock = Clock()
        cooldowns = Cooldowns(after=2, seconds=30.0, clock=clock)
        cooldowns.failed("a")
        cooldowns.failed("a")
        clock.now += 30
        cooldowns.failed("a")
        assert cooldowns.resting("a") == 30.0

    def test_resting_model_is_skipped_then_comes_back(self, first: ScriptedServer, second: ScriptedServer) -> None:
        """After `after` failed calls the model gets no requests until its rest is over."""
        clock = Clock()
        tier = [model_at("a", first.url), model_at("b", second.url)]
        dispatch = dispatcher(cooldowns=Cooldowns(after=2, seconds=60.0, clock=clock))
        first.push(unauthorized(), unauthorized())
        second.push("b1", "b2", "b3")
        assert dispatch.complete(tier, HELLO)[1].text == "b1"
        assert dispatch.complete(tier, HELLO)[1].text == "b2"
        assert len(first.requests) == 2
        assert dispatch.complete(tier, HELLO)[0].name == "b"
        assert len(first.requests) == 2  # resting: not asked
        clock.now += 60
        first.push("a is back")
        answered, completion = dispatch.complete(tier, HELLO)
        assert (answered.name, completion.text) == ("a", "a is back")
        assert len(first.requests) == 3

    def test_all_resting_uses_the_one_whose_rest_ends_first(
        self, first: ScriptedServer, second: ScriptedServer
    ) -> None:
        """With every model resting, the tier still answers through the model closest to the end of its rest."""
        clock = Clock()
        cooldowns = Cooldowns(after=1, seconds=60.0, clock=clock)
        cooldowns.failed("a")
        clock.now += 10
        cooldowns.failed("b")
        first.push("from a")
        answered, completion = dispatcher(cooldowns=cooldowns).complete(
            [model_at("b", second.url), model_at("a", first.url)], HELLO
        )
        assert (answered.name, completion.text) == ("a", "from a")
        assert second.requests == []
        assert cooldowns.resting("a") == 0.0  # the success ended its rest


class TestCache:
    def test_identical_request_is_replayed_without_http(self, first: ScriptedServer, tmp_path: Path) -> None:
        """The second identical request makes no HTTP request and comes back cached; only after_call sees it."""
        first.push("hello")
        observer = Observer()
        dispatch = dispatcher(cache=ResponseCache(tmp_path), observer=observer)
        model = model_at("a", first.url)
        _, fresh = dispatch.complete([model], HELLO)
        _, replayed = dispatch.complete([model], HELLO)
        assert len(first.requests) == 1
        assert not fresh.cached
        assert replayed.cached
        assert replayed.text == "hello"
        assert replayed.cost_usd == 0.0
        assert observer.events[-1] == ("after", "a", "cached")
        assert [event for event in observer.events if event[0] == "before"] == [("before", "a", "")]

    def test_other_temperature_or_seed_is_a_new_request(self, first: ScriptedServer, tmp_path: Path) -> None:
        """Changing temperature or seed changes the answer, so each goes to the model."""
        first.push("t0", "t7", "s1")
        dispatch = dispatcher(cache=ResponseCache(tmp_path))
        texts = [
            dispatch.complete([model_at("a", first.url, **fields)], HELLO)[1].text
            for fields in ({}, {"temperature": 0.7}, {"seed": 1})
        ]
        assert texts == ["t0", "t7", "s1"]
        assert len(first.requests) == 3

    def test_empty_reply_is_not_replayed(self, first: ScriptedServer, tmp_path: Path) -> None:
        """An empty answer is not cached: the next identical request asks the model again."""
        first.push("", "now with text")
        dispatch = dispatcher(cache=ResponseCache(tmp_path))
        model = model_at("a", first.url)
        assert dispatch.complete([model], HELLO)[1].text == ""
        assert dispatch.complete([model], HELLO)[1].text == "now with text"
        assert len(first.requests) == 2

    def test_a_forgotten_answer_is_asked_for_again(self, first: ScriptedServer, tmp_path: Path) -> None:
        """forget drops the answer from the cache, fresh or replayed: the next identical request is a real one."""
        first.push("rejected", "asked again")
        dispatch = dispatcher(cache=ResponseCache(tmp_path))
        model = model_at("a", first.url)
        dispatch.forget(dispatch.complete([model], HELLO)[1])
        assert dispatch.complete([model], HELLO)[1].text == "asked again"
        replayed = dispatch.complete([model], HELLO)[1]
        assert replayed.cached
        dispatch.forget(replayed)
        assert list(tmp_path.glob("*/*.json")) == []
        assert len(first.requests) == 2


class TestBudget:
    def test_refused_call_stops_everything(self, first: ScriptedServer, second: ScriptedServer) -> None:
        """BudgetExceededError from before_call propagates: no request, no retry, no fall-back."""
        first.push("unused")
        second.push("unused")
        observer = Observer(refuse=True)
        with pytest.raises(BudgetExceededError):
            dispatcher(observer=observer).complete([model_at("a", first.url), model_at("b", second.url)], HELLO)
        assert first.requests == []
        assert second.requests == []
        assert observer.events == [("before", "a", "")]


class TestNoNetwork:
    def test_remote_model_is_refused_without_network(self) -> None:
        """With AUTODEV_NO_NETWORK=1 (set by conftest) a provider model fails at once, not retryable."""
        remote = ResolvedModel(name="remote", litellm_model="gpt-4o-mini")
        with pytest.raises(ModelError) as caught:
            TRANSPORT.complete(remote, HELLO)
        assert caught.value.kind == "network disabled"
        assert not caught.value.retryable
        assert "AUTODEV_NO_NETWORK" in caught.value.detail

    def test_remote_api_base_is_refused(self) -> None:
        """A non-loopback api_base is remote too, even for an OpenAI-compatible server."""
        remote = model_at("lan", "http://10.0.0.5:11434/v1")
        with pytest.raises(ModelError) as caught:
            TRANSPORT.complete(remote, HELLO)
        assert caught.value.kind == "network disabled"
