"""When a streamed reply holds every file asked for, so that the rest need not be waited for.

Models explain their code after the block as well as before it; on a CPU those tokens cost as much as code. The
reply is read with the real parser (synth/reply.py) each time a line ends: once every target has a whole file that
defines something of its own (a Python target: a class or function that is not test code), the reply is complete.
A block still open counts once the model has run on into pasted tests (synth/strip_tests.py: a test class, a
``unittest`` import, a ``__main__`` guard after the code): the small models paste the tests they were shown and
would write them to the end of ``max_tokens``. SEARCH/REPLACE answers are read to the end: a later block may
belong to the same file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from autodev.errors import EditRejectedError
from autodev.synth.reply import parse_reply
from autodev.synth.strip_tests import defines_code


def every_target_written(targets: Sequence[str]) -> Callable[[str], bool] | None:
    """A check for :func:`autodev.llm.stream.reading_until`; None when there are no targets (the model names them)."""
    wanted = set(targets)
    if not wanted:
        return None

    def done(text: str) -> bool:
        try:
            edits = parse_reply(text, targets)
        except EditRejectedError:
            return False
        if any(edit.kind != "whole" for edit in edits):
            return False
        written = {edit.path for edit in edits if _has_code(edit.path, edit.content)}
        return wanted <= written

    return done


def _has_code(path: str, content: str) -> bool:
    if path.endswith(".py"):
        return defines_code(content)
    return len([line for line in content.splitlines() if line.strip()]) >= 2
