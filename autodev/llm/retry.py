"""The one retry loop for a model call: errors that another call may fix are retried with exponential back-off.

The dispatcher wraps each try with its budget and metrics hooks, so a retry is checked against the caps and
counted like a first try; a bare client (`autodev models test`) uses the same loop without hooks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from autodev.errors import ModelError

T = TypeVar("T")
RetryNotice = Callable[[int, float, ModelError], None]  # (retry number from 1, delay in seconds, the error)


def call_with_retries(
    call: Callable[[], T],
    *,
    retries: int,
    backoff_s: float,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: RetryNotice | None = None,
) -> T:
    """``call()``, tried up to ``retries`` more times while it raises a retryable ModelError.

    The delay doubles each time (``backoff_s``, then twice that, ...); any other exception propagates at once.
    """
    for attempt in range(retries + 1):
        try:
            return call()
        except ModelError as error:
            if not error.retryable or attempt == retries:
                raise
            delay = backoff_s * 2**attempt
            if on_retry is not None:
                on_retry(attempt + 1, delay, error)
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
