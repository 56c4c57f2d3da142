"""When a burst of file events is over: trailing debounce, capped by a maximum wait.

Editors save in several steps (write a temporary file, rename, delete the backup) and users save many times
in a row; a pass must start once, on the final content, shortly after the last event. A trailing debounce
alone would never fire while events keep coming (a generator rewriting a file every 100 ms), so a burst is
also due ``max_wait_s`` after its first event. Pure logic with an injectable clock: tests need no sleeps.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Debouncer:
    """Tracks one burst: due ``debounce_s`` after its last event, but never later than ``max_wait_s`` after
    its first. Times are seconds on ``clock`` (monotonic); events may carry their own earlier timestamps
    (an event queued during a pass is due as soon as the pass ends, not a debounce later).
    """

    def __init__(
        self,
        debounce_s: float,
        max_wait_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if debounce_s < 0 or max_wait_s < 0:
            raise ValueError(f"debounce and maximum wait must not be negative (got {debounce_s}, {max_wait_s})")
        self.debounce_s = debounce_s
        self.max_wait_s = max_wait_s
        self._clock = clock
        self._first: float | None = None
        self._last: float | None = None

    @property
    def pending(self) -> bool:
        """A burst has started and has not been reset."""
        return self._first is not None

    def touch(self, now: float | None = None) -> None:
        """Record one event at ``now`` (default: the clock)."""
        at = self._clock() if now is None else now
        self._first = at if self._first is None else min(self._first, at)
        self._last = at if self._last is None else max(self._last, at)

    def deadline(self) -> float | None:
        """When the current burst is due; None when there is none."""
        if self._first is None or self._last is None:
            return None
        return min(self._last + self.debounce_s, self._first + self.max_wait_s)

    def due(self, now: float | None = None) -> bool:
        """The burst is over (or has waited long enough): time to look at what changed."""
        deadline = self.deadline()
        if deadline is None:
            return False
        return (self._clock() if now is None else now) >= deadline

    def time_until_due(self, now: float | None = None) -> float | None:
        """Seconds to wait before the burst is due (0 when it is); None when there is no burst to wait for."""
        deadline = self.deadline()
        if deadline is None:
            return None
        return max(0.0, deadline - (self._clock() if now is None else now))

    def reset(self) -> None:
        """Forget the burst: its events have been handed to the content gate."""
        self._first = None
        self._last = None
