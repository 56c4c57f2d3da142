"""Exact-match response cache on disk: the same request to the same model is answered once.

Re-running autodev on an unchanged spec (a restart, a benchmark rerun) repeats identical prompts; with temperature 0
and a seed the answer would be the same, so paying for it again buys nothing. But only an answer worth having is
worth replaying: the pass forgets a reply its tests or checks rejected, so a rerun asks the model again instead of
repeating the failure for free. The cache is an optimisation only: a corrupt entry is a miss (moved aside for
inspection), a failed write or forget is logged, and none of them stops a run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from autodev.fileio import atomic_write
from autodev.llm.client import Completion, Message
from autodev.llm.models import ResolvedModel
from autodev.logs import get_logger

SCHEMA = 1


def request_key(model: ResolvedModel, messages: Sequence[Message]) -> str:
    """sha256 over everything that shapes the answer.

    The API key and the timeout are left out on purpose: a rotated key or a longer timeout does not change what
    the model says, so they must not turn a hit into a miss (and a key must never be hashed into a file name).
    """
    payload = {
        "litellm_model": model.litellm_model,
        "api_base": model.api_base,
        "messages": [dict(message) for message in messages],
        "temperature": model.temperature,
        "seed": model.seed,
        "max_tokens": model.max_tokens,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


CACHE_FILE_MODE = 0o600  # replies may quote the project's code: readable by its owner only, as before


class ResponseCache:
    """Completions stored as ``directory/<key[:2]>/<key>.json``; two-character fan-out keeps directories small."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._log = get_logger(component="response-cache")

    def path_for(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> Completion | None:
        """The stored completion marked ``cached``; cost and duration are zero because nothing was spent.

        Tokens are kept so metrics can show what the cache saved.
        """
        path = self.path_for(key)
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        completion = _parse(raw)
        if completion is None:
            self._move_aside(path)
            return None
        return completion.model_copy(update={"cached": True, "cost_usd": 0.0, "duration_s": 0.0, "cache_key": key})

    def put(self, key: str, completion: Completion) -> None:
        """Write atomically (temp file, then rename) so a reader never sees half an entry.

        An empty reply is not stored: replaying it could only repeat a failure. A write error (full disk,
        read-only directory) is logged and swallowed, leaving no partial file behind.
        """
        if not completion.text:
            return
        path = self.path_for(key)
        stored = completion.model_copy(update={"cached": False})
        body = json.dumps({"schema": SCHEMA, "completion": stored.model_dump(mode="json")}, ensure_ascii=False)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, body.encode("utf-8"), mode=CACHE_FILE_MODE)
        except OSError as error:
            self._log.warning("response cache write failed", key=key, error=str(error))

    def forget(self, key: str) -> None:
        """Remove an entry whose reply was rejected, so that the next run makes a real request.

        A missing entry is already forgotten; a failed removal is logged: at worst a rerun repeats one failure.
        """
        try:
            self.path_for(key).unlink(missing_ok=True)
        except OSError as error:
            self._log.warning("response cache entry could not be forgotten", key=key, error=str(error))

    def _move_aside(self, path: Path) -> None:
        """Keep the bad bytes for a post-mortem, out of the way of the next put."""
        target = path.with_name(path.name + ".corrupt")
        try:
            path.replace(target)
        except OSError as error:
            self._log.warning("corrupt response cache entry could not be moved", path=str(path), error=str(error))
            return
        self._log.warning("corrupt response cache entry moved aside", path=str(target))


def _parse(raw: bytes) -> Completion | None:
    try:
        document: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        return None
    try:
        return Completion.model_validate(document.get("completion"))
    except ValidationError:
        return None
