"""One conversation with one model: a question in, the answer out (streamed as progress steps), both recorded.

`autodev ask` makes one of these for one question, `autodev chat` keeps one for the whole session. The model is
called through the router exactly as a pass calls it, so budgets, the response cache, retries, fallbacks within
a tier and local models served on demand behave as in `run`; the answer streams through ``autodev.progress``
(``ModelStreaming`` carries each piece of text), which the command line prints as it arrives. Each call is a line
of the project's metrics (``.autodev/metrics.jsonl``, written as a pass writes them: ``autodev.route.CallLog``)
under the session's ``metrics_role`` and ``metrics_scope``, so `autodev metrics --by role` shows what asking cost
beside the passes.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone

from pydantic import BaseModel, ConfigDict

from autodev.ask.conversation import Conversation, ConversationStore, Turn
from autodev.ask.prompt import head_messages, question_message, read_context_files
from autodev.ask.window import fit_to_window, window_tokens
from autodev.config import Config
from autodev.errors import ModelError, UsageError
from autodev.llm.client import ChatClient
from autodev.llm.models import ResolvedModel
from autodev.llm.price_list import close_model_name
from autodev.logs import get_logger
from autodev.project import ProjectPaths
from autodev.route import CallLog, Router, TierPlan, call_facts
from autodev.synth.memory_prompt import memory_budget, memory_section, project_memory

ASK_BUDGET_SCOPE = "ask"  # the budget's per-requirement cap applies to each question
ASK_ROLE = "ask"  # the role and scope of the metrics lines of `autodev ask` (chat and workflows set their own)
MAX_RESERVE_TOKENS = 1024  # room kept in the window for the answer, when the model sets no max_tokens
_log = get_logger(component="ask")


class Answer(BaseModel):
    """A model's answer to one question, what it cost, and how the conversation had to be cut to fit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    question: str
    text: str
    model: str
    tier: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    cached: bool
    duration_s: float
    conversation: str
    dropped: int  # earlier messages left out (and summarised) to fit the window
    window: int


class AskSession:
    """A conversation held open with a model choice; every question and answer is appended to its file.

    Every call is a metrics line with role ``metrics_role`` and, as its requirement, ``metrics_scope`` (both "ask"
    unless the one who opened the session says otherwise: chat, a workflow's step); a failed request is a line
    with outcome "error".
    """

    def __init__(
        self,
        paths: ProjectPaths,
        config: Config,
        client: ChatClient,
        env: Mapping[str, str],
        store: ConversationStore,
        conversation: Conversation,
        *,
        system: str | None = None,
    ) -> None:
        self.paths = paths
        self.config = config
        self.client = client
        self.env = env
        self.store = store
        self.conversation = conversation
        self.system = system
        self.metrics_role = ASK_ROLE
        self.metrics_scope = ASK_ROLE
        self._tier_name: str | None = None
        self.last: Answer | None = None  # this session's last answer, for chat's /apply
        self._router = self._new_router(conversation.model)

    # ---------------------------------------------------------------------------------------------- choices

    def choose(self, *, model: str | None = None, tier: str | None = None) -> str:
        """Answer with ``model`` (any name `run --model` takes) or the models of ``tier``; a mistake is a UsageError
        before anything is recorded. Returns the choice in words."""
        self._router, self._tier_name = self._checked_router(model, tier), tier
        if model != self.conversation.model:
            self.conversation = self.store.set_model(self.conversation, model)
        return self.described()

    @contextlib.contextmanager
    def choice_for_now(self, *, model: str | None, tier: str | None) -> Iterator[None]:
        """Answer with ``model`` or ``tier`` inside the block only, nothing recorded of the choice.

        A custom command's front matter chooses for its own question in chat; the conversation's choice (/model,
        --model) answers the next one. Neither given: the choice stands as it is.
        """
        if model is None and tier is None:
            yield
            return
        saved = self._router, self._tier_name
        self._router, self._tier_name = self._checked_router(model, tier), tier
        try:
            yield
        finally:
            self._router, self._tier_name = saved

    def _checked_router(self, model: str | None, tier: str | None) -> Router:
        """A router for this choice; a misspelt name or tier says "did you mean" now, not after a call."""
        router = self._new_router(model)
        router.resolve(_tier_named(router, tier).models[0])
        return router

    def tier_names(self) -> list[str]:
        """The tiers there are, cheapest first (a workflow's architect answers with the last)."""
        return [tier.name for tier in self._router.tiers]

    def described(self) -> str:
        tier = _tier_named(self._router, self._tier_name)
        return tier.models[0] if len(tier.models) == 1 else f"{tier.name} ({', '.join(tier.models)})"

    def add_files(self, files: Sequence[str]) -> None:
        """Files the model sees with every question from now on (read afresh each time); checked readable now."""
        read_context_files(self.paths.root, files)
        merged = tuple(dict.fromkeys((*self.conversation.files, *files)))
        if merged != self.conversation.files:
            self.conversation = self.store.set_files(self.conversation, merged)

    def drop_files(self, files: Sequence[str]) -> list[str]:
        """Stop sending these files; the ones that were not in the conversation are returned."""
        unknown = [path for path in files if path not in self.conversation.files]
        kept = tuple(path for path in self.conversation.files if path not in files)
        if kept != self.conversation.files:
            self.conversation = self.store.set_files(self.conversation, kept)
        return unknown

    # ---------------------------------------------------------------------------------------------- asking

    def ask(self, question: str, *, stdin_text: str | None = None) -> Answer:
        """One request: instructions and files, as much history as fits, the question; both turns recorded."""
        tier = _tier_named(self._router, self._tier_name)
        model = self._router.resolve(tier.models[0])
        files = read_context_files(self.paths.root, self.conversation.files)
        latest = question_message(question, stdin_text)
        window = window_tokens(model, self.config)
        fitted = fit_to_window(
            head_messages(files, self.system, self._memory(tier.name, model)),
            self.conversation.messages(),
            latest,
            window=window,
            reserve=_reserve(model, window),
        )
        log = CallLog(self.metrics_scope, self._router.metrics)
        caller = self._router.caller(ASK_BUDGET_SCOPE, on_error=log.call_failed)
        try:
            answered_by, completion = caller.ask(tier, fitted.messages, repair=False, attempt=0, role=self.metrics_role)
        except ModelError as error:
            raise _misspelt_hosted(model, error) or error from None
        log.role_call(self.metrics_role, call_facts(answered_by.name, tier.name, completion))
        conversation = self.store.append(self.conversation, Turn(role="user", content=latest["content"], at=_now()))
        self.conversation = self.store.append(
            conversation,
            Turn(
                role="assistant",
                content=completion.text,
                at=_now(),
                model=answered_by.name,
                input_tokens=0 if completion.cached else completion.input_tokens,
                output_tokens=0 if completion.cached else completion.output_tokens,
                cost_usd=0.0 if completion.cached else completion.cost_usd,
                cached=completion.cached,
            ),
        )
        self.last = Answer(
            question=question,
            text=completion.text,
            model=answered_by.name,
            tier=tier.name,
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            cost_usd=0.0 if completion.cached else completion.cost_usd,
            cached=completion.cached,
            duration_s=completion.duration_s,
            conversation=self.conversation.id,
            dropped=fitted.dropped,
            window=fitted.window,
        )
        return self.last

    def _memory(self, tier: str, model: ResolvedModel) -> str:
        """The project memory for the conversation's files, read afresh (an edited AGENTS.md counts at once)."""
        in_project = self.paths.state_root is None  # elsewhere (a home directory) only its own AGENTS.md & co
        memory = project_memory(self.paths.root, self.config.context, nested=in_project)
        for problem in memory.problems:
            _log.warning("memory", problem=problem)
        budget = memory_budget(self.config.context, tier, served_locally=model.served_locally)
        section = memory_section(memory, self.conversation.files, budget)
        if section.shortened and budget > 0:
            _log.warning("memory shortened", reason=section.shortened_message())
        return section.text

    def _new_router(self, model: str | None) -> Router:
        return Router(self.paths, self.config, self.client, self.env, model_override=model)


def _tier_named(router: Router, name: str | None) -> TierPlan:
    """The tier called ``name``, or the cheapest one; an unknown name is a UsageError with the tiers there are."""
    tiers = router.tiers
    if name is None:
        return tiers[0]
    for tier in tiers:
        if tier.name == name:
            return tier
    names = [tier.name for tier in tiers]
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    guess = f"; did you mean {close[0]!r}?" if close else ""
    raise UsageError(f"--tier {name}: no such tier{guess} (the tiers are {', '.join(names)}: [llm.tiers])")


def _misspelt_hosted(model: ResolvedModel, error: ModelError) -> UsageError | None:
    """A bare name sent to Ollama that failed, and is a typo of a hosted model's name: said so, not "cannot connect".

    Only after the call failed: a bare name is a valid Ollama name until Ollama says otherwise (DESIGN.md).
    """
    if not model.litellm_model.startswith("ollama/") or model.note is None:
        return None
    close = close_model_name(model.name)
    if close is None:
        return None
    return UsageError(f"--model {model.name}: {error.kind} at Ollama; did you mean {close!r}?")


def _reserve(model: ResolvedModel, window: int) -> int:
    """Tokens kept free for the answer: the model's max_tokens, else a quarter of the window up to a limit."""
    return model.max_tokens or min(MAX_RESERVE_TOKENS, window // 4)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
