"""`ask --output PATH`: the answer, or the code alone when the answer is one code block, written atomically.

"Fix this code" answers are usually a sentence, one fenced block and a sentence; the file the user asked for is
the block. Blocks are found by the same reader that reads edits (``synth/blocks.py``), so fences autodev
understands elsewhere (``~~~``, longer fences, info strings) are understood here too.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from autodev.errors import EditRejectedError, UsageError
from autodev.fileio import atomic_write
from autodev.synth.blocks import CodeBlock, Targets, scan_blocks


class OutputText(BaseModel):
    """What goes into the file, and what it is, in words (``the code block (python, 12 lines)``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    what: str


def output_text(answer: str) -> OutputText:
    """The one code block's text when there is exactly one; otherwise the whole answer."""
    try:
        blocks = scan_blocks(answer.replace("\r\n", "\n").split("\n"), Targets([]))
    except EditRejectedError:  # an unclosed fence: not one clean block
        blocks = []
    code = [block for block in blocks if isinstance(block, CodeBlock)]
    if len(blocks) == 1 and len(code) == 1:
        block = code[0]
        language = f"{block.language}, " if block.language else ""
        return OutputText(text=block.text, what=f"the code block ({language}{_lines(block.text)})")
    text = answer if answer.endswith("\n") else answer + "\n"
    count = f"{len(blocks)} code blocks" if blocks else "no code block"
    return OutputText(text=text, what=f"the whole answer ({count}, {_lines(text)})")


def write_output(path: Path, content: OutputText) -> None:
    """Replace ``path`` atomically (an interrupted write leaves the old file); its directory must exist."""
    if path.is_dir():
        raise UsageError(f"--output {path}: is a directory; name a file")
    if not path.parent.is_dir():
        raise UsageError(f"--output {path}: directory {path.parent} does not exist")
    try:
        atomic_write(path, content.text.encode("utf-8"))
    except OSError as error:
        raise UsageError(f"--output {path}: cannot write: {error.strerror or error}; nothing was changed") from error


def _lines(text: str) -> str:
    count = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    return f"{count} line" + ("" if count == 1 else "s")
