"""A reply caught in a loop, seen while it streams, so that it can be cut off instead of read to ``max_tokens``.

Small models at low temperature fall into loops: the same line again and again, or the same few words without a
line break. On a CPU such a reply runs for minutes and is rejected anyway. Real code repeats itself far less:
thirty lines with at most six different ones, or a 600-character tail that is one short unit repeated, do not
occur in the files we ask for.
"""

from __future__ import annotations

LINES_CHECKED = 30
MOST_DISTINCT_LINES = 6
TAIL_CHARS = 600
LONGEST_PERIOD = 80


def looping(text: str) -> bool:
    """Whether the end of ``text`` is a loop: few distinct lines, or a short unit repeated."""
    return _repeats_lines(text) or _periodic_tail(text)


def _repeats_lines(text: str) -> bool:
    lines = [line.strip() for line in text[-LINES_CHECKED * 200 :].splitlines() if line.strip()]
    if len(lines) < LINES_CHECKED:
        return False
    return len(set(lines[-LINES_CHECKED:])) <= MOST_DISTINCT_LINES


def _periodic_tail(text: str) -> bool:
    tail = text[-TAIL_CHARS:]
    if len(tail) < TAIL_CHARS:
        return False
    return any(tail[period:] == tail[:-period] for period in range(1, LONGEST_PERIOD + 1))
