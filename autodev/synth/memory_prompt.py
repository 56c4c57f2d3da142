"""The project memory as a prompt carries it: the files that apply to the files being written, within a budget.

Memory goes in the system message, after the fixed instructions and before anything that changes between
attempts, so a server's prefix cache (llama.cpp's, a provider's) reuses it: it stays the same for every attempt
of a requirement, and for every requirement when only the root's files apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from autodev.config import ContextConfig
from autodev.memory import NO_MEMORY, Memory, MemoryFile, find_memory
from autodev.tokens import CHARS_PER_TOKEN, estimate_tokens

HEADING = "The project's own instructions follow (from its memory files); follow them where the tests allow."
CUT_NOTE = "[... cut here: the memory budget is spent]"


class MemorySection(BaseModel):
    """What a prompt gets of the memory: ``text`` ("" for nothing), what was sent whole, cut or left out."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    tokens: int
    budget: int
    whole: tuple[str, ...] = ()
    cut: tuple[str, ...] = ()
    left_out: tuple[str, ...] = ()

    @property
    def shortened(self) -> bool:
        return bool(self.cut or self.left_out)

    def shortened_message(self) -> str:
        """One line for the log and the console: what the budget kept out, and the key that raises it."""
        parts = [f"cut: {', '.join(self.cut)}"] if self.cut else []
        parts += [f"left out: {', '.join(self.left_out)}"] if self.left_out else []
        return (
            f"project memory over its budget of {self.budget:,} tokens ({'; '.join(parts)}); "
            "raise [context] memory_tokens for the tier to send more"
        )


def project_memory(root: Path, context: ContextConfig, *, nested: bool = True) -> Memory:
    """The memory files prompts may use: those found under ``root`` and ``[context] memory_files``; none when
    ``[context] memory`` is off (then nothing is even read)."""
    return find_memory(root, context.memory_files, nested=nested) if context.memory else NO_MEMORY


def memory_budget(context: ContextConfig, tier: str, *, served_locally: bool) -> int:
    """Tokens of memory one tier's prompts may carry: its own budget, else the local or hosted default."""
    if not context.memory:
        return 0
    if tier in context.memory_tokens:
        return context.memory_tokens[tier]
    return context.local_memory_tokens if served_locally else context.hosted_memory_tokens


def memory_section(memory: Memory, targets: Sequence[str], budget: int) -> MemorySection:
    """The applying files in order (general first, nearest last), whole while they fit, the next one cut at a line.

    The heading and each file's name line count against the budget too: the budget is what the model reads.
    """
    files = memory.for_files(targets)
    if budget <= 0 or not files:
        return MemorySection(text="", tokens=0, budget=budget, left_out=tuple(f.path for f in files))
    blocks: list[str] = []
    whole: list[str] = []
    cut: list[str] = []
    left = budget - estimate_tokens(HEADING + "\n\n")
    for index, file in enumerate(files):
        block = _block(file)
        cost = estimate_tokens(block + "\n\n")
        if cost <= left:
            blocks.append(block)
            whole.append(file.path)
            left -= cost
            continue
        shortened = _cut_to(file, left)
        if shortened is not None:
            blocks.append(shortened)
            cut.append(file.path)
        left_out = tuple(f.path for f in files[index + (1 if shortened is not None else 0) :])
        return _section(blocks, budget, whole, cut, left_out)
    return _section(blocks, budget, whole, cut, ())


def _section(
    blocks: Sequence[str], budget: int, whole: Sequence[str], cut: Sequence[str], left_out: tuple[str, ...]
) -> MemorySection:
    text = "\n\n".join([HEADING, *blocks]) if blocks else ""
    return MemorySection(text=text, tokens=estimate_tokens(text) if text else 0, budget=budget, whole=tuple(whole),
                         cut=tuple(cut), left_out=left_out)  # fmt: skip


def _block(file: MemoryFile, text: str | None = None) -> str:
    return f"From {file.path}:\n{(file.text if text is None else text).strip()}"


def _cut_to(file: MemoryFile, tokens: int) -> str | None:
    """The file's first lines that fit in ``tokens`` with the cut note; None when not even one line does."""
    room = int(tokens * CHARS_PER_TOKEN) - len(_block(file, CUT_NOTE)) - len("\n\n")
    kept: list[str] = []
    for line in file.text.strip().splitlines():
        room -= len(line) + 1
        if room < 0:
            break
        kept.append(line)
    if not any(line.strip() for line in kept):
        return None
    return _block(file, "\n".join([*kept, CUT_NOTE]))
