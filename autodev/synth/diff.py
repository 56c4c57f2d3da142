"""A change as one unified diff: each file's text before (None: a new file) and after, with git's headers.

For people (`ask --apply`'s confirmation), for a reviewer model (the pass's reviewer) and for a workflow's
``{diff}`` of new files: one form everywhere, ``\\ No newline at end of file`` included.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping


def unified_diff(changes: Mapping[str, str], before: Mapping[str, str | None]) -> str:
    """Every changed file in ``changes``' order, ``a/``/``b/`` headers, ``/dev/null`` for a file new in it."""
    out: list[str] = []
    for rel, text in changes.items():
        old = before.get(rel)
        lines = difflib.unified_diff(
            [] if old is None else old.splitlines(keepends=True),
            text.splitlines(keepends=True),
            fromfile="/dev/null" if old is None else f"a/{rel}",
            tofile=f"b/{rel}",
        )
        for line in lines:
            out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)
