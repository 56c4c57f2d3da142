"""The keys of ``[roles.NAME]``, ``[workflows.NAME]`` and a workflow file, and the placeholders of a step's prompt.

A workflow is checked when it is read, not when a step reaches the problem: a step that names a later step's
output, a misspelt placeholder or two steps of the same name are errors before any model is asked. Only the
placeholder *syntax* lives here; what a placeholder stands for (a file's text, the working tree's diff) is read
when a step runs (``autodev.workflow.render``).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

StepOutput = Literal["text", "files", "files+tests"]
Combine = Literal["vote", "best-by-tests", "merge"]
NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]*$"  # of a role, a workflow and a step
BUILTIN_ROLES = ("architect", "coder", "reviewer", "tester")

# `{{` and `}}` are literal braces; a placeholder is `{word}` or `{word.rest}` / `{word:rest}` (rest without braces
# or spaces), or `{file:{input}}`, the file the workflow's input names.
_TOKEN = re.compile(r"\{\{|\}\}|\{file:\{input\}\}|\{(?P<kind>[a-z]+)(?:(?P<sep>[.:])(?P<arg>[^{}\s]*))?\}")
INPUT_FILE = "{file:{input}}"  # the file whose path is the workflow's input
KINDS = {"input": "", "diff": "", "file": ":", "step": ".", "spec": ":"}
PLACEHOLDERS_HELP = "{input}, {diff}, {file:PATH}, {file:{input}}, {step.NAME}, {spec:ID}; {{ and }} for braces"


@dataclass(frozen=True)
class Placeholder:
    """One placeholder of a template: its kind and argument, and where it is (for replacing it)."""

    kind: str
    arg: str
    start: int
    end: int


def scan(template: str) -> list[Placeholder | str]:
    """The template as literal text and placeholders, in order; ValueError naming the first malformed one."""
    pieces: list[Placeholder | str] = []
    position = 0
    for match in _TOKEN.finditer(template):
        if match.start() > position:
            pieces.append(template[position : match.start()])
        token = match.group(0)
        if token in ("{{", "}}"):
            pieces.append(token[0])
        elif token == INPUT_FILE:
            pieces.append(Placeholder("file", "{input}", match.start(), match.end()))
        else:
            pieces.append(_checked(match, token))
        position = match.end()
    if position < len(template):
        pieces.append(template[position:])
    return pieces


def _checked(match: re.Match[str], token: str) -> Placeholder:
    kind, separator, arg = match.group("kind"), match.group("sep") or "", match.group("arg") or ""
    if kind not in KINDS:
        close = difflib.get_close_matches(kind, list(KINDS), n=1, cutoff=0.6)
        fixed = f"{{{close[0]}{KINDS[close[0]]}{arg}}}" if close and (arg or not KINDS[close[0]]) else None
        guess = f"; did you mean {fixed}?" if fixed else ""
        raise ValueError(f"unknown placeholder {token}{guess} (the placeholders are {PLACEHOLDERS_HELP})")
    if separator != KINDS[kind] or (KINDS[kind] and not arg):
        shape = f"{{{kind}{KINDS[kind]}{'NAME' if kind == 'step' else 'PATH' if kind == 'file' else 'ID'}}}"
        raise ValueError(f"{token}: write it as {shape}" if KINDS[kind] else f"{token}: write it as {{{kind}}}")
    return Placeholder(kind, arg, match.start(), match.end())


def placeholders(template: str) -> list[Placeholder]:
    return [piece for piece in scan(template) if isinstance(piece, Placeholder)]


def is_name(name: str) -> bool:
    return re.match(NAME_PATTERN, name) is not None


class _Keys(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoleConfig(_Keys):
    """``[roles.NAME]``: who answers for a role, and the instructions it gets (its system prompt)."""

    model: str | None = None  # any name `run --model` takes
    tier: str | None = None  # one of [llm.tiers]; neither: the role's default (architect, reviewer: the highest)
    prompt_file: str | None = None  # relative to the project root; replaces the role's built-in instructions
    passes: bool = True  # the reviewer also reads each green change of `autodev run` before its commit

    @model_validator(mode="after")
    def _one_choice(self) -> RoleConfig:
        if self.model and self.tier:
            raise ValueError("give model or tier, not both")
        return self


class WorkflowStep(_Keys):
    """One ``[[steps]]`` entry: who answers, the prompt (a template), and what becomes of the answer."""

    name: str = Field(pattern=NAME_PATTERN)
    role: str | None = None
    model: str | None = None
    tier: str | None = None
    models: tuple[str, ...] = ()  # a fan-out: every one of them is asked, ``combine`` makes one answer
    combine: Combine | None = None
    prompt: str = Field(min_length=1)
    output: StepOutput = "text"

    @model_validator(mode="after")
    def _one_choice(self) -> WorkflowStep:
        chosen = [key for key in ("role", "model", "tier") if getattr(self, key)]
        if self.models:  # a role may still give the instructions (and answer a merge)
            chosen = [key for key in chosen if key != "role"] + ["models"]
        if len(chosen) > 1:
            raise ValueError(f"step {self.name}: give one of role, model or tier, not {' and '.join(chosen)}")
        return self

    @model_validator(mode="after")
    def _fan_out(self) -> WorkflowStep:
        if self.models and len(self.models) < 2:
            raise ValueError(f"step {self.name}: models names at least two (one model: model = ...)")
        if self.models and self.combine is None:
            raise ValueError(f'step {self.name}: models needs combine = "vote", "best-by-tests" or "merge"')
        if self.combine is not None and not self.models:
            raise ValueError(f"step {self.name}: combine needs models = [...], the models to ask")
        if self.combine == "best-by-tests" and self.output == "text":
            raise ValueError(f'step {self.name}: best-by-tests compares code: give output = "files" or "files+tests"')
        return self

    @field_validator("prompt")
    @classmethod
    def _placeholders_parse(cls, prompt: str) -> str:
        scan(prompt)
        return prompt


class Workflow(_Keys):
    """A workflow: a description and ordered steps, each of which may use the outputs of the steps before it."""

    description: str = ""
    steps: list[WorkflowStep] = Field(min_length=1)

    @model_validator(mode="after")
    def _steps_refer_backwards(self) -> Workflow:
        seen: set[str] = set()
        for step in self.steps:
            if step.name in seen:
                raise ValueError(f"two steps are called {step.name!r}: each step needs a name of its own")
            for placeholder in placeholders(step.prompt):
                if placeholder.kind == "step" and placeholder.arg not in seen:
                    later = any(other.name == placeholder.arg for other in self.steps)
                    why = "a later step" if later else "no step"
                    raise ValueError(
                        f"step {step.name}: {{step.{placeholder.arg}}} names {why}; a prompt can use the output "
                        f"of the steps before it ({', '.join(sorted(seen)) or 'none: it is the first'})"
                    )
            seen.add(step.name)
        return self

    @property
    def writes_files(self) -> bool:
        return any(step.output != "text" for step in self.steps)
