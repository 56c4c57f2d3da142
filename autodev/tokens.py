"""A cheap, conservative count of tokens, for budgets decided before any tokenizer is at hand."""

from __future__ import annotations

import math
from typing import Final

CHARS_PER_TOKEN: Final = 3.5  # English and code average about 4; fewer characters per token over-estimates


def estimate_tokens(text: str) -> int:
    """About how many tokens ``text`` is, rounded up.

    A real tokenizer means importing LiteLLM (seconds) and differs per model anyway; counting 3.5 characters a
    token over-estimates typical text and code, so what is trimmed to this estimate stays inside its budget.
    """
    return math.ceil(len(text) / CHARS_PER_TOKEN)
