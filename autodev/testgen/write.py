"""Generated test files written into the project: atomically, and never over a file the user wrote.

A file under ``tests/generated/`` is autodev's only while its first line is the generated header and its digest
line matches the rest: a user who edits it (or writes a file of that name) owns it, and it is left alone with the
reason said.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from autodev.fileio import atomic_write
from autodev.spec.model import Requirement
from autodev.testgen.coverage import criteria_digest, criteria_path, criteria_written_for
from autodev.testgen.render import HEADER, GeneratedTests, edited

WriteOutcome = Literal["written", "unchanged", "kept", "nothing"]


@dataclass(frozen=True)
class Written:
    """What became of one requirement's file: written, already so, kept (the user's), or nothing to write."""

    outcome: WriteOutcome
    reason: str = ""


def write_generated(root: Path, generated: GeneratedTests) -> Written:
    if not generated.text:
        return Written("nothing", "no example could be translated" if generated.refused else "no examples")
    path = root / generated.path
    try:
        current = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        current = None
    except (OSError, UnicodeDecodeError) as error:
        return Written("kept", f"{generated.path} cannot be read ({error}); it was left as it is")
    if current is not None and not current.startswith(HEADER):
        return Written("kept", f"{generated.path} is not autodev's (its first line is not {HEADER!r}): it was left "
                               "as it is; move it, or delete it to have it generated")  # fmt: skip
    if current == generated.text:
        return Written("unchanged")
    if current is not None and edited(current):
        return Written("kept", f"{generated.path} was edited since autodev wrote it, so it is yours now: it was left "
                               "as it is; delete it to have it generated again")  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, generated.text.encode("utf-8"))
    return Written("written")


def owned_by_user(path: Path) -> bool:
    """Whether a generated file's path holds the user's file: one without autodev's header, or edited since."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return False
    except (OSError, UnicodeDecodeError):
        return True
    return not text.startswith(HEADER) or edited(text)


def criteria_settled(root: Path, requirement: Requirement) -> bool:
    """Whether the requirement's criteria file needs no tester: written for the requirement as it is now, or the
    user's (written or edited by them)."""
    current = criteria_written_for(root, requirement) == criteria_digest(requirement)
    return current or owned_by_user(root / criteria_path(requirement))
