"""Changes that once made the tests pass, stored under a key of everything a model would have been shown (tier 0).

The key is everything a model would have been shown (requirement, tests, target files), so a hit means the same
question was answered and verified before: reverting autodev's commit, a fresh clone or a benchmark rerun then
costs one test run and no model call. A replay is still tested before it is committed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from autodev.fileio import atomic_write, read_or_discard, texts_on_disk

SCHEMA = 1


class VerifiedChange(BaseModel):
    """The files that turned the tests green, and the model that wrote them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = SCHEMA
    model: str
    changes: dict[str, str]


def state_key(requirement: str, files: Mapping[str, str | None], test_command: str) -> str:
    """A digest of the requirement text, the test command and the contents of the tests and target files."""
    canonical = json.dumps(
        {"requirement": requirement, "files": dict(sorted(files.items())), "command": test_command},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class VerifiedStore:
    """One JSON file per key; unreadable entries are misses, never errors."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def get(self, key: str) -> VerifiedChange | None:
        return read_or_discard(self._path(key), VerifiedChange)

    def put(self, key: str, model: str, changes: Mapping[str, str]) -> None:
        """Store atomically; a full disk only loses the shortcut, never the pass."""
        entry = VerifiedChange(model=model, changes=dict(changes))
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            atomic_write(self._path(key), entry.model_dump_json().encode("utf-8"), mode=0o600)
        except OSError:
            return

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.json"


def keyed_files(root: Path, paths: Sequence[str]) -> dict[str, str | None]:
    """The current text of each path (None when absent), as :func:`state_key` expects."""
    return texts_on_disk(root, paths)
