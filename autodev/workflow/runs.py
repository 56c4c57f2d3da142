"""Each workflow run on disk: ``.autodev/runs/ID/run.json`` (the workflow as it was, the input, each step's record)
beside one prompt and one output file per finished step.

The record is rewritten atomically after every step, so a run killed at any moment resumes from its first step
that is not done, with the definition it started with (editing the workflow file meanwhile changes later runs,
not this one). A record that cannot be read is moved aside and said so; it never stops other runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from autodev.ask.conversation import new_id, utc_now
from autodev.ask.session import Answer
from autodev.errors import WorkflowError
from autodev.fileio import atomic_write, move_aside
from autodev.workflow_model import Workflow

RUN_FILE = "run.json"
SCHEMA_VERSION = 1
StepStatus = Literal["pending", "done", "failed"]


class CallRecord(BaseModel):
    """What one answered call was and cost: kept for a step, and for each answer of a fan-out step."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = None  # who answered
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    duration_s: float = 0.0
    cached: bool = False
    conversation: str | None = None  # `autodev chat --conversation ID` goes on from the answer

    def took(self, answer: Answer) -> None:
        self.model, self.cached, self.conversation = answer.model, answer.cached, answer.conversation
        self.input_tokens, self.output_tokens = answer.input_tokens, answer.output_tokens
        self.cost_usd, self.duration_s = answer.cost_usd, answer.duration_s


class CandidateRecord(CallRecord):
    """One model's answer in a fan-out step (``models = [...]``), and whether it was the one kept."""

    model: str  # the model asked; once it answered, the one that did (a fallback, perhaps)
    answered: bool = False
    output_file: str | None = None
    tests: str = ""  # best-by-tests: what its tests said
    error: str = ""  # why it gave no answer
    chosen: bool = False


class StepRecord(CallRecord):
    """What one step did: who answered, what it cost, where its prompt and output are, what became of its files."""

    name: str
    status: StepStatus = "pending"
    chosen: str = ""  # the choice in words: "role reviewer (tier2)", "model gpt-4o-mini"
    prompt_file: str | None = None
    output_file: str | None = None
    targets: list[str] = Field(default_factory=list)  # the project files its prompt showed
    files: list[str] = Field(default_factory=list)  # written by a files step
    commit: str | None = None
    outcome: str = ""  # what became of a files step's changes, or why the step failed
    candidates: list[CandidateRecord] = Field(default_factory=list)  # a fan-out step's answers
    combined: str = ""  # how a fan-out step's answer was made of them, and why that one
    finished_at: str | None = None


class RunRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    id: str
    workflow: str
    origin: str
    definition: Workflow
    input: str
    started_at: str
    steps: list[StepRecord]

    @property
    def status(self) -> Literal["done", "failed", "unfinished"]:
        if all(step.status == "done" for step in self.steps):
            return "done"
        return "failed" if any(step.status == "failed" for step in self.steps) else "unfinished"

    def next_step(self) -> int | None:
        """The index of the first step not done, where a run (or its resume) goes on."""
        return next((index for index, step in enumerate(self.steps) if step.status != "done"), None)


def step_stem(index: int, name: str) -> str:
    """The start of a step's file names in its run's directory: ``02-code`` (``.prompt.md``, ``.output.md``)."""
    return f"{index + 1:02d}-{name}"


class RunStore:
    """The runs under one directory (``.autodev/runs``), newest id last."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def start(self, workflow: str, origin: str, definition: Workflow, input_text: str) -> RunRecord:
        run_id = new_id()
        while (self.directory / run_id).exists():
            run_id = new_id()
        record = RunRecord(
            id=run_id,
            workflow=workflow,
            origin=origin,
            definition=definition,
            input=input_text,
            started_at=utc_now(),
            steps=[StepRecord(name=step.name) for step in definition.steps],
        )
        self.save(record)
        return record

    def run_dir(self, record: RunRecord) -> Path:
        return self.directory / record.id

    def save(self, record: RunRecord) -> None:
        directory = self.run_dir(record)
        directory.mkdir(parents=True, exist_ok=True)
        data = json.dumps(record.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
        atomic_write(directory / RUN_FILE, data.encode("utf-8"))

    def write_text(self, record: RunRecord, name: str, text: str) -> str:
        """A step's prompt or output saved in the run's directory; its file name, for the record."""
        atomic_write(self.run_dir(record) / name, text.encode("utf-8"))
        return name

    def read_text(self, record: RunRecord, name: str) -> str:
        try:
            return (self.run_dir(record) / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise WorkflowError(
                f"run {record.id}: {name} cannot be read ({error}); start the workflow again instead"
            ) from None

    def load(self, ref: str) -> RunRecord:
        """The run whose id is ``ref`` or starts with it; WorkflowError naming the candidates otherwise."""
        ids = self._ids()
        matches = [ref] if ref in ids else [run_id for run_id in ids if ref and run_id.startswith(ref)]
        if not matches:
            raise WorkflowError(f"no workflow run {ref} (`autodev workflow runs` lists them)")
        if len(matches) > 1:
            raise WorkflowError(f"{ref} names several runs: {', '.join(matches)}; give more of the id")
        record, problem = self._read(matches[0])
        if record is None:
            raise WorkflowError(problem)
        return record

    def all(self) -> tuple[list[RunRecord], list[str]]:
        """Every readable run, oldest first, and a sentence for each one that was not (moved aside)."""
        records: list[RunRecord] = []
        problems: list[str] = []
        for run_id in self._ids():
            record, problem = self._read(run_id)
            if record is not None:
                records.append(record)
            else:
                problems.append(problem)
        return records, problems

    def _ids(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(path.name for path in self.directory.iterdir() if (path / RUN_FILE).is_file())

    def _read(self, run_id: str) -> tuple[RunRecord | None, str]:
        path = self.directory / run_id / RUN_FILE
        try:
            return RunRecord.model_validate_json(path.read_bytes()), ""
        except (OSError, ValidationError, ValueError) as error:
            aside = move_aside(path, "corrupt")
            reason = str(error).splitlines()[0]
            return None, f"run {run_id}: {RUN_FILE} could not be read ({reason}); moved aside to {aside.name}"
