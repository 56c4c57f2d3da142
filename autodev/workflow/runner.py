"""One workflow run, step by step: render the prompt, ask, save, write files when the step says so, save again.

Each step is a conversation of its own (``autodev.ask.session``: the router, budgets, cache, local models and
project memory as for `autodev ask`), kept in the project's conversations, so `autodev chat --conversation ID`
can go on from any step's answer. The record is saved before a step is asked (its prompt) and after (its
answer and what became of it): a run stopped anywhere resumes at the first step that is not done, and a step
whose files were committed is never asked again.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from autodev.ask.conversation import ConversationStore, utc_now
from autodev.ask.session import Answer, AskSession
from autodev.config import Config
from autodev.errors import ModelError, UsageError
from autodev.llm.client import ChatClient
from autodev.project import ProjectPaths
from autodev.workflow.fanout_step import CandidateAnswered, FanOut
from autodev.workflow.files import FilesOptions, write_answer_files
from autodev.workflow.render import Sources, render
from autodev.workflow.roles import choose
from autodev.workflow.runs import RunRecord, RunStore, StepRecord, step_stem
from autodev.workflow_model import WorkflowStep

WORKFLOW_ROLE = "workflow"  # the metrics role of a step that names no role


@dataclass(frozen=True)
class StepStarted:
    """Said before a step's model is asked: which step of how many, and who answers."""

    index: int
    total: int
    name: str
    chosen: str


@dataclass(frozen=True)
class StepEnded:
    """Said when a step is done or has failed; ``answer`` is its model's answer (empty when none came)."""

    index: int
    record: StepRecord
    answer: str = ""


Listener = Callable[[StepStarted | StepEnded | CandidateAnswered], None]


class WorkflowRunner:
    """Runs (and resumes) the runs of one project; ``listener`` hears each step start and end."""

    def __init__(
        self,
        paths: ProjectPaths,
        config: Config,
        client: ChatClient,
        env: Mapping[str, str],
        *,
        files: FilesOptions | None = None,
        listener: Listener | None = None,
    ) -> None:
        self.paths, self.config, self.client, self.env = paths, config, client, env
        self.store = RunStore(paths.runs_dir)
        self.files = files or FilesOptions()
        self.listener = listener or (lambda event: None)

    def run(self, record: RunRecord) -> RunRecord:
        """Every step from the first one not done; stops at the first that fails (the record says why).

        A placeholder that cannot be filled is raised (WorkflowError) after the step is recorded as failed: it is
        the user's to fix, then `autodev workflow resume`.
        """
        sources = Sources(root=self.paths.root, input=record.input, spec_paths=self.config.specs.paths)
        for index, step in enumerate(record.definition.steps):
            saved = record.steps[index]
            if saved.status == "done":
                sources.outputs[step.name] = self.store.read_text(record, saved.output_file or "")
                continue
            saved = self._step(record, index, step, sources)
            self.listener(StepEnded(index=index, record=saved, answer=sources.outputs.get(step.name, "")))
            if saved.status != "done":
                return record
        return record

    def _step(self, record: RunRecord, index: int, step: WorkflowStep, sources: Sources) -> StepRecord:
        # A step that failed after its answer (its files refused or red) is asked afresh, not from the cache.
        fresh = record.steps[index].output_file is not None
        saved = record.steps[index] = StepRecord(name=step.name)
        stem = step_stem(index, step.name)
        try:
            answer = self._answer(record, index, step, sources, fresh=fresh)
        except ModelError as error:
            return self._fail(record, index, str(error))
        except UsageError as error:  # WorkflowError included: a placeholder, a role's file, a misspelt model
            self._fail(record, index, str(error))
            raise
        self._answered(saved, answer, self.store.write_text(record, f"{stem}.output.md", answer.text))
        if step.models:
            _count_every_call(saved, merged=answer if step.combine == "merge" else None)
        sources.outputs[step.name] = answer.text
        if step.output != "text":
            self._write_files(record, step, saved, answer)
        saved.finished_at = utc_now()
        self.store.save(record)
        return saved

    def _answer(self, record: RunRecord, index: int, step: WorkflowStep, sources: Sources, *, fresh: bool) -> Answer:
        """The prompt filled in and saved, then the step's model (or models) asked."""
        saved = record.steps[index]
        session = self._session(record, step, fresh=fresh)
        choice = choose(step, self.config, session.tier_names())
        rendered = render(step.prompt, sources, where=f"workflow {record.workflow}, step {step.name}")
        session.system = choice.system
        session.choose(model=choice.model, tier=choice.tier)
        saved.chosen = choice.words
        stem = step_stem(index, step.name)
        saved.prompt_file = self.store.write_text(record, f"{stem}.prompt.md", rendered.text)
        saved.targets = list(rendered.files)
        self.store.save(record)
        self.listener(StepStarted(index=index, total=len(record.steps), name=step.name, chosen=choice.words))
        if not step.models:
            return session.ask(rendered.text)
        new_session = functools.partial(self._session, record, step, fresh=fresh)
        fan_out = FanOut(self.paths, self.config, self.store, record, new_session, self.listener)
        return fan_out.answer(step, choice, rendered.text, rendered.files, saved, stem=stem)

    def _session(self, record: RunRecord, step: WorkflowStep, *, fresh: bool) -> AskSession:
        """A conversation for one call of the step (a fan-out makes one per model, and one for the merge); its
        metrics lines carry the step's role ("workflow" when the step names its model or tier and no role) and
        ``workflow NAME/STEP`` as their scope."""
        config = self.config.without_response_cache() if fresh else self.config
        store = ConversationStore(self.paths.conversations_dir)
        session = AskSession(self.paths, config, self.client, self.env, store, store.start())
        session.metrics_role = step.role or WORKFLOW_ROLE
        session.metrics_scope = f"workflow {record.workflow}/{step.name}"
        return session

    def _answered(self, saved: StepRecord, answer: Answer, output_file: str) -> None:
        saved.took(answer)
        saved.status, saved.output_file = "done", output_file

    def _write_files(self, record: RunRecord, step: WorkflowStep, saved: StepRecord, answer: Answer) -> None:
        outcome = write_answer_files(
            self.paths,
            self.config,
            answer.text,
            targets=saved.targets,
            tested=step.output == "files+tests",
            subject=f"autodev workflow {record.workflow}: {step.name}",
            trailers=(answer.model, record.id),
            options=self.files,
        )
        saved.files, saved.commit, saved.outcome = list(outcome.files), outcome.commit, outcome.reason
        if not outcome.kept:
            saved.status = "failed"

    def _fail(self, record: RunRecord, index: int, reason: str) -> StepRecord:
        saved = record.steps[index]
        saved.status, saved.outcome, saved.finished_at = "failed", reason, utc_now()
        self.store.save(record)
        return saved


def _count_every_call(saved: StepRecord, *, merged: Answer | None) -> None:
    """A fan-out step costs every candidate's call and the merge's, not only the answer it kept."""
    calls = [c for c in saved.candidates if c.answered]
    saved.input_tokens = sum(c.input_tokens for c in calls) + (merged.input_tokens if merged else 0)
    saved.output_tokens = sum(c.output_tokens for c in calls) + (merged.output_tokens if merged else 0)
    saved.cost_usd = sum(c.cost_usd for c in calls) + (merged.cost_usd if merged else 0.0)
    saved.duration_s = sum(c.duration_s for c in calls) + (merged.duration_s if merged else 0.0)
