"""How much of each requirement its tests cover: its criteria, its examples that have a generated test, and
whether a linked test passes. Only hashing and a regular expression: `autodev status` must start fast."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from autodev.spec.model import Requirement

GENERATED_DIR = "tests/generated"
_TEST_NAME = re.compile(r"^def test_\w*_(?P<digest>[0-9a-f]{8})\(", re.MULTILINE)
_DOCSTRING = re.compile(r'def test\w*\(.*?\).*?:\s*\n\s*(?:"""|\'\'\')(?P<text>.*?)(?:"""|\'\'\')', re.DOTALL)
_WORD = re.compile(r"[a-z0-9_]{3,}")


class Coverage(BaseModel):
    """Per requirement: criteria and examples it states, and how many examples have a test in its generated file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    criteria: int
    examples: int
    examples_tested: int
    criteria_tested: int = 0


def generated_path(requirement: Requirement) -> str:
    """Where the tests of ``requirement``'s examples are written: ``tests/generated/test_<id>.py``."""
    slug = re.sub(r"[^a-z0-9]+", "_", requirement.id.lower()).strip("_") or "requirement"
    return f"{GENERATED_DIR}/test_{slug}.py"


def criteria_path(requirement: Requirement) -> str:
    """Where the tester's tests for ``requirement``'s criteria are kept: ``tests/generated/test_<id>_criteria.py``."""
    return generated_path(requirement).removesuffix(".py") + "_criteria.py"


CRITERIA_MARK = "criteria "  # in a criteria file's header: the digest of the criteria its tests were written for


def criteria_digest(requirement: Requirement) -> str:
    """A digest of the requirement's text and criteria: when it changes, the criteria's tests are written again."""
    return example_digest("\n".join((requirement.text.strip(), *requirement.criteria)))


def criteria_written_for(root: Path, requirement: Requirement) -> str | None:
    """The criteria digest the requirement's criteria file was written for (None: no such file autodev wrote)."""
    try:
        with (root / criteria_path(requirement)).open(encoding="utf-8") as file:
            header = file.readline()
    except (OSError, UnicodeDecodeError):
        return None
    found = re.search(rf"\({CRITERIA_MARK}(?P<digest>[0-9a-f]{{8}})\)\.$", header.strip())
    return found.group("digest") if found else None


def example_digest(text: str) -> str:
    """The digest a generated test's name ends with (autodev.testgen.render), from its example's text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def coverage(root: Path, requirement: Requirement) -> Coverage:
    text = _read(root / generated_path(requirement))
    present = {match.group("digest") for match in _TEST_NAME.finditer(text)}
    tested = sum(example_digest(example) in present for example in requirement.examples)
    criteria = criteria_tested(_read(root / criteria_path(requirement)), requirement.criteria)
    return Coverage(criteria=len(requirement.criteria), examples=len(requirement.examples), examples_tested=tested,
                    criteria_tested=criteria)  # fmt: skip


def criteria_tested(text: str, criteria: tuple[str, ...]) -> int:
    """How many criteria a test of the criteria file checks: one whose docstring quotes it (the tester is asked
    to quote its criterion there; most of the criterion's words in one docstring count as a quote)."""
    docstrings = [set(_WORD.findall(match.group("text").lower())) for match in _DOCSTRING.finditer(text)]
    count = 0
    for criterion in criteria:
        words = set(_WORD.findall(criterion.lower()))
        if words and any(len(words & doc) >= 0.6 * len(words) for doc in docstrings):
            count += 1
    return count


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
