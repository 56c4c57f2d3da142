"""How long a reply to a round's prompt may be, from the size of what it is to write.

A local model on a CPU writes a few tokens a second; one that rambles (repeats the tests, loops) to the model's
whole ``max_tokens`` costs minutes for a reply that is then rejected. The bound leaves room for a short
explanation and the whole of every target, and more for a target that is long already.
"""

from __future__ import annotations

from collections.abc import Sequence

from autodev.synth.context import SourceFile
from autodev.tokens import upper_bound_tokens

TOKENS_PER_FILE = 1024
"""Room per target for the explanation and a new file: the development set's reference solutions are 40-4,000
characters, under 1,000 tokens each."""


def reply_token_bound(targets: Sequence[SourceFile]) -> int:
    """Tokens enough for every target in full, twice over for what exists (a whole-file rewrite plus slack)."""
    existing = sum(upper_bound_tokens(target.content) for target in targets if target.content)
    return TOKENS_PER_FILE * max(1, len(targets)) + 2 * existing
