"""``Files:`` lines: the target files a spec names, in the forms people write them.

The Markdown parser (:mod:`autodev.spec.parser`) calls this for each requirement's own text.
"""

from __future__ import annotations

import re

_FILES_LINE = re.compile(r"^\s*(?:[-*]\s+)?\**Files\**\s*:\**\s*(?P<files>.+)$", re.IGNORECASE | re.MULTILINE)


def files_hints(text: str) -> list[str]:
    """Paths named on ``Files:`` lines, in order, without duplicates (commas or spaces separate them)."""
    found: list[str] = []
    for match in _FILES_LINE.finditer(text):
        for token in re.split(r"[,\s]+", match.group("files")):
            path = token.strip("`*'\"()[]").rstrip(".;:")
            path = path.removeprefix("./")
            if path and ("." in path or "/" in path) and path not in found:
                found.append(path)
    return found
