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


class Coverage(BaseModel):
    """Per requirement: criteria and examples it states, and how many examples have a test in its generated file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    criteria: int
    examples: int
    examples_tested: int


def generated_path(requirement: Requirement) -> str:
    """Where the tests of ``requirement``'s examples are written: ``tests/generated/test_<id>.py``."""
    slug = re.sub(r"[^a-z0-9]+", "_", requirement.id.lower()).strip("_") or "requirement"
    return f"{GENERATED_DIR}/test_{slug}.py"


def example_digest(text: str) -> str:
    """The digest a generated test's name ends with (autodev.testgen.render), from its example's text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def coverage(root: Path, requirement: Requirement) -> Coverage:
    try:
        text = (root / generated_path(requirement)).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    present = {match.group("digest") for match in _TEST_NAME.finditer(text)}
    tested = sum(example_digest(example) in present for example in requirement.examples)
    return Coverage(criteria=len(requirement.criteria), examples=len(requirement.examples), examples_tested=tested)
