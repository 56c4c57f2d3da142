"""A fan-out step run: every model of ``models`` asked the same prompt (each in a conversation of its own), their
answers saved, and one answer made of them (``autodev.workflow.fanout``) with the reason recorded.

A model that fails costs its candidate, not the step: the step fails only when no model answered. Calls are made
one after the other (a local model server answers one request at a time, and the console shows one stream).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from autodev.ask.session import Answer, AskSession
from autodev.config import Config
from autodev.errors import ModelError
from autodev.project import ProjectPaths
from autodev.workflow.fanout import Pick, best_by_tests, merge_prompt, vote
from autodev.workflow.roles import Choice as Who
from autodev.workflow.runs import CandidateRecord, RunRecord, RunStore, StepRecord
from autodev.workflow_model import WorkflowStep

NewSession = Callable[[], AskSession]


@dataclass(frozen=True)
class CandidateAnswered:
    """Said after each model of a fan-out step has answered (or failed)."""

    step: str
    number: int
    total: int
    candidate: CandidateRecord
    answer: str


class FanOut:
    """One fan-out step of one run: ask every model, combine, fill in the step's record."""

    def __init__(
        self,
        paths: ProjectPaths,
        config: Config,
        store: RunStore,
        record: RunRecord,
        new_session: NewSession,
        listener: Callable[[CandidateAnswered], None],
    ) -> None:
        self.paths, self.config, self.store, self.record = paths, config, store, record
        self.new_session, self.listener = new_session, listener

    def answer(
        self, step: WorkflowStep, who: Who, prompt: str, targets: tuple[str, ...], saved: StepRecord, *, stem: str
    ) -> Answer:
        """The step's one answer; ModelError when no model answered. ``saved`` gets the candidates and the reason;
        each answer is saved as ``STEM.K.output.md``."""
        answered: list[tuple[CandidateRecord, Answer]] = []
        for number, model in enumerate(step.models, start=1):
            candidate, answer = self._ask(model, who.system, prompt, f"{stem}.{number}.output.md")
            saved.candidates.append(candidate)
            self.store.save(self.record)
            self.listener(
                CandidateAnswered(step.name, number, len(step.models), candidate, answer.text if answer else "")
            )
            if answer is not None:
                answered.append((candidate, answer))
        if not answered:
            failures = "; ".join(f"{c.model}: {c.error}" for c in saved.candidates)
            raise ModelError(", ".join(step.models), "no model of the fan-out answered", failures, retryable=False)
        if len(answered) == 1:
            answered[0][0].chosen = True
            saved.combined = f"only {answered[0][0].model} answered; its answer is kept"
            return answered[0][1]
        if step.combine == "merge":
            return self._merged(step, who, prompt, answered, saved)
        choice = self._choice(step, answered, targets)
        answered[choice.index][0].chosen = True
        for (candidate, _), tests in zip(answered, choice.tests, strict=False):
            candidate.tests = tests
        saved.combined = choice.reason
        return answered[choice.index][1]

    def _ask(
        self, model: str, system: str | None, prompt: str, output_name: str
    ) -> tuple[CandidateRecord, Answer | None]:
        session = self.new_session()
        session.system = system
        session.choose(model=model)
        try:
            answer = session.ask(prompt)
        except ModelError as error:
            return CandidateRecord(model=model, error=str(error)), None
        output_file = self.store.write_text(self.record, output_name, answer.text)
        candidate = CandidateRecord(model=model, answered=True, output_file=output_file)
        candidate.took(answer)
        return candidate, answer

    def _choice(
        self, step: WorkflowStep, answered: list[tuple[CandidateRecord, Answer]], targets: tuple[str, ...]
    ) -> Pick:
        models = [candidate.model for candidate, _ in answered]
        texts = [answer.text for _, answer in answered]
        if step.combine == "vote":
            return vote(models, texts)
        return best_by_tests(self.paths, self.config, models, texts, targets)

    def _merged(
        self,
        step: WorkflowStep,
        who: Who,
        prompt: str,
        answered: list[tuple[CandidateRecord, Answer]],
        saved: StepRecord,
    ) -> Answer:
        """One more call, to the step's role when it has one (else the first model), given every answer."""
        session = self.new_session()
        session.system = who.system
        if step.role:
            session.choose(model=who.model, tier=who.tier)
        else:
            session.choose(model=step.models[0])
        models = [candidate.model for candidate, _ in answered]
        merged = session.ask(merge_prompt(prompt, models, [answer.text for _, answer in answered]))
        saved.combined = f"merge: {merged.model} merged the answers of {', '.join(models)}"
        return merged
