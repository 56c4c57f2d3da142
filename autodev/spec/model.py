"""Requirements and test links as data: what the parser produces, the ledger stores and the engine works on."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_PRIORITY = 2  # "medium"; critical/P0 = 0, high/P1 = 1, low/P3 = 3


class Requirement(BaseModel):
    """One unit of work: what the user wants, where it was written, and what it depends on.

    ``text`` is the requirement's own Markdown (its heading and body, without its sub-requirements); ``context`` is
    the shared text before the first requirement of its file, given to the model but not part of the hash, so
    that editing one requirement rebuilds only that one.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    title: str
    text: str
    source: str  # the spec file, relative to the project root, POSIX separators
    line: int = 1  # 1-based line of the heading (1 for a whole-file requirement)
    parent: str | None = None  # the enclosing requirement's ID, for a sub-requirement
    files: tuple[str, ...] = ()
    depends: tuple[str, ...] = ()
    priority: int = DEFAULT_PRIORITY
    plan: bool | None = None  # `Plan: yes` / `Plan: no`; None: the architect plans when the requirement is large
    criteria: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    example_lines: tuple[int, ...] = ()  # the spec line where each example starts (for generated tests' names)
    context: str = ""
    whole_file: bool = False  # a file without any requirement ID: the whole file is one requirement
    content_hash: str


class SpecDiagnostic(BaseModel):
    """One finding of `autodev spec check`, printed as ``file:line: level: message`` like a compiler."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file: str
    line: int
    level: Literal["error", "warning"]
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.level}: {self.message}"


class SpecSet(BaseModel):
    """Every requirement of the project in file order, the context documents, and what the parser noticed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    requirements: list[Requirement] = Field(default_factory=list)
    context_files: list[str] = Field(default_factory=list)  # documents read as context, not requirements
    diagnostics: list[SpecDiagnostic] = Field(default_factory=list)


class TestItem(BaseModel):
    """One collected test and what links it to requirements."""

    __test__ = False
    model_config = ConfigDict(frozen=True, extra="forbid")

    nodeid: str
    file: str  # relative to the project root
    marked: tuple[str, ...] = ()  # IDs from @pytest.mark.req(...)
    mentioned: tuple[str, ...] = ()  # IDs named in the test's docstring or comments
    imports: tuple[str, ...] = ()  # modules the test file imports
    line: int = 0  # 1-based line of the test's definition; 0 when unknown


class TestLinks(BaseModel):
    """Which tests prove which requirement; tests linked to nothing become work items of their own."""

    __test__ = False
    model_config = ConfigDict(frozen=True, extra="forbid")

    by_requirement: dict[str, list[str]] = Field(default_factory=dict)  # requirement ID -> node ids
    unlinked: list[str] = Field(default_factory=list)
