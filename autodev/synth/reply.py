"""Read a model's reply as file edits: where untrusted model text becomes changes to files.

Small local models rarely follow a format exactly, so the parser accepts what they actually write, and rejects
whatever it cannot use safely with an instruction the model can act on (the reason is sent back to it on the
next attempt). ``autodev.synth.blocks`` scans the reply into blocks and reads their paths; this module decides
which blocks are edits. Paths are only parsed; ``autodev.synth.guard`` confines them before anything is written.

Accepted, in any mix, with prose around them:

1. Whole-file blocks: a fenced block (``` or ~~~, any info string) whose path is given by a path line up to
   three non-blank lines above it (``temps.py``, ```` `temps.py` ````, ``**temps.py**``, ``### temps.py``,
   ``# File: temps.py``, ``File: src/temps.py``, ``temps.py:``, ``- temps.py (updated)``), by the info string
   (``python temps.py``, ``temps.py``, ``python title="temps.py"``, ``py:temps.py``), or by a first-line
   comment naming a target (``# temps.py``), or by a first line that is only a target's path (then dropped).
   A path is one token with an extension or a slash, so "Here is the code:" is never taken for one. A
   labelled block that is a transcript (console, pycon, output, a first line with a ``$`` or ``>>>``
   prompt), or shell code under a ``.py`` path, shows how to run the file and does not replace it.
2. SEARCH/REPLACE blocks (Aider's format, 5-9 marker characters, fenced or not). Their path is the path line
   before them (inside or outside the fence), else a target named in the prose just above, else the previous
   block's path (several blocks may follow one path line), else the only target.
3. Unlabelled blocks. Blocks that are not code (info string bash/sh/console/text/output/pycon/..., or a first
   line starting with a ``$`` or ``>>>`` prompt) are never used. With one target the block chosen is the LAST
   of those with the most top-level ``def``/``class`` lines (Python blocks first for a ``.py`` target): a
   usage example defines nothing, a later snippet of one function defines less than the full file, and when a
   model shows a draft and then the final file, the final one comes last. With several targets a bare block
   must name its target in the prose just above it ("Here is `b.py`:"). When the reply also has labelled
   edits, bare blocks are most likely examples: they only fill in targets that no labelled edit covers, must
   define something, and are ignored rather than rejected.
4. A reply without any fence that is valid Python defining something, when the only target is a ``.py`` file:
   tiny models sometimes answer with bare code.

A path that is a path-suffix of exactly one target (``temps.py`` for ``src/temps.py``), or an absolute path
that ends with a target (``/temps.py``, ``/home/me/project/temps.py``), is mapped onto that target.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Sequence
from pathlib import PurePosixPath

from autodev.errors import EditRejectedError, NoEditError
from autodev.synth.blocks import (
    BLOCK_HINT,
    REPLACE_END,
    CodeBlock,
    ReplaceBlock,
    Targets,
    looks_like_path,
    scan_blocks,
)
from autodev.synth.edit import MAX_FILE_CHARS, FileEdit

MAX_REPLY_CHARS = 200_000

_FORMAT_HINT = "put the file's path alone on a line, then its complete content in a fenced code block"

# Everything in U+0000-U+001F except tab, newline, form feed and carriage return, and DEL: never part of
# source text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_COMMENT = r"^\s*(?:#|//)\s*"
# Comments that stand for code left out ("# ... existing code ...", "# rest of the file unchanged"): a whole
# file with one would lose that code. Narrow on purpose: a real comment ("# return the rest of the input")
# must not match.
_PLACEHOLDER = re.compile(
    "|".join(
        (
            _COMMENT + r"[(\[]?\s*(?:\.\.\.|…)",
            _COMMENT + r".*\brest\s+of\s+(?:the\s+)?(?:code|file|class|module|functions?|methods?|implementation)\b",
            _COMMENT + r".*\b(?:code|functions?|methods?|implementation|everything\s+else)\s+"
            r"(?:remains?|stays?|is|are)\s+(?:unchanged|the\s+same)\b",
            _COMMENT + r".*\b(?:existing|previous|unchanged)\s+(?:code|functions?|methods?|implementation)\s*"
            r"(?:\.\.\.|…|here|unchanged|remains?|stays?|$)",
            _COMMENT + r".*\b(?:omitted\s+for\s+brevity|code\s+omitted)\b",
        )
    ),
    re.IGNORECASE,
)
_PYTHON_INFO = frozenset({"", "python", "py", "python3", "py3"})
_SOURCE_SUFFIXES = frozenset({".py", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".rs", ".go", ".java", ".rb"})
"""Files that are code: an empty block for one is no file (an empty ``__init__.py`` is)."""


# ------------------------------------------------------------------------------------------------ parse_reply


def _check_reply_text(reply: str) -> None:
    """Reject replies that cannot be source text at all, before reading them line by line."""
    if len(reply) > MAX_REPLY_CHARS:
        raise EditRejectedError(
            f"Your reply was {len(reply):,} characters, over the limit of {MAX_REPLY_CHARS:,}. Send a "
            "shorter answer: only the files that must change, or SEARCH/REPLACE blocks for the changed parts."
        )
    if not reply.strip():
        raise EditRejectedError(f"Your reply was empty. To change a file, {_FORMAT_HINT}.")
    surrogate = _SURROGATE.search(reply)
    if surrogate is not None:
        line = reply.count("\n", 0, surrogate.start()) + 1
        raise EditRejectedError(
            f"Your reply contains invalid Unicode (a lone surrogate) on line {line}; send plain UTF-8 text only."
        )
    control = _CONTROL.search(reply)
    if control is not None:
        line = reply.count("\n", 0, control.start()) + 1
        raise EditRejectedError(
            f"Your reply contains a control character (U+{ord(control.group()):04X}) on line {line}; send "
            "plain source text only, and write special characters as escape sequences such as \\x00."
        )


def _check_whole_content(path: str, content: str, line: int) -> None:
    """Reject whole-file content that is too big, half a SEARCH/REPLACE block, or has parts left out."""
    if len(content) > MAX_FILE_CHARS:
        raise EditRejectedError(
            f"Your content for {path} is {len(content):,} characters, over the limit of {MAX_FILE_CHARS:,}; "
            "send SEARCH/REPLACE blocks for the parts that change instead."
        )
    for offset, text in enumerate(content.split("\n")):
        if REPLACE_END.match(text):
            raise EditRejectedError(
                f"Your code block for {path} (line {line}) has SEARCH/REPLACE markers but no "
                f"'<<<<<<< SEARCH' line; {BLOCK_HINT}"
            )
        if _PLACEHOLDER.match(text):
            raise EditRejectedError(
                f"Your code block for {path} leaves code out (line {line + offset + 1}: "
                f"{text.strip()[:60]!r}). Send the complete file with nothing omitted, or SEARCH/REPLACE "
                "blocks for only the lines that change."
            )


def _check_not_only_a_name(path: str, content: str, line: int) -> None:
    """Reject a block that holds no code, only a name: small models answer "the path on one line, then the file"
    with a block holding just ``fizz.py`` (or ``fizz``), and writing that word as the module is an ImportError the
    repair then repeats. An empty block is no file either, except an ``__init__.py`` (or a non-source file)."""
    text = content.strip()
    name = PurePosixPath(path).name
    if not text and (name == "__init__.py" or PurePosixPath(path).suffix not in _SOURCE_SUFFIXES):
        return
    single_word = bool(text) and "\n" not in text and not any(ch.isspace() for ch in text)
    if text and not (single_word and (text.strip("`'\"") in {path, name, PurePosixPath(path).stem}
                                      or looks_like_path(text.strip("`'\"")))):  # fmt: skip
        return
    held = f"only {text[:60]!r}" if text else "no code (at most its path)"
    raise EditRejectedError(
        f"Your code block for {path} (line {line}) holds {held}, not the file's code. Put the path alone on the "
        "line before the block, and the complete contents of the file inside it."
    )


def _whole_edit(path: str, block: CodeBlock) -> FileEdit:
    content = block.text
    _check_not_only_a_name(path, content, block.line)
    _check_whole_content(path, content, block.line)
    return FileEdit(path=path, kind="whole", content=content)


def _replace_edit(path: str, block: ReplaceBlock) -> FileEdit:
    for text, name in ((block.search, "SEARCH"), (block.replace, "REPLACE")):
        if len(text) > MAX_FILE_CHARS:
            raise EditRejectedError(
                f"The {name} part of your block for {path} (line {block.line}) is over {MAX_FILE_CHARS:,} "
                "characters; send smaller SEARCH/REPLACE blocks."
            )
    return FileEdit(path=path, kind="replace", search=block.search, replace=block.replace)


def _best_block(blocks: Sequence[CodeBlock], target: str) -> CodeBlock:
    """The block most likely to be the whole file: the last of those with the most top-level definitions."""
    if target.endswith(".py"):
        python = [b for b in blocks if b.language in _PYTHON_INFO]
        blocks = python or blocks
    most = max(b.definitions for b in blocks)
    return [b for b in blocks if b.definitions == most][-1]


def _bare_python(reply: str, targets: Targets) -> FileEdit | None:
    """The whole reply as the only target, when it has no fence and is Python that defines something."""
    target = targets.only
    if target is None or not target.endswith(".py"):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(reply)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if not any(isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) for node in tree.body):
        return None
    content = reply.strip("\n") + "\n"
    _check_whole_content(target, content, 1)
    return FileEdit(path=target, kind="whole", content=content)


def _no_edit_reason(targets: Targets, blocks: Sequence[CodeBlock]) -> str:
    if any(b.is_diff for b in blocks):
        return (
            "Your reply is a diff, which autodev cannot apply. Send the complete file in a fenced code "
            f"block, or SEARCH/REPLACE blocks: {BLOCK_HINT}"
        )
    example = f" (for example {targets.paths[0]!r})" if targets.paths else ""
    return f"Your reply contains no file edit. To change a file, {_FORMAT_HINT}{example}."


def _unlabelled_edits(blocks: Sequence[CodeBlock], targets: Targets) -> list[FileEdit]:
    """Edits from blocks without a path, when the reply labelled nothing (rule 3 of the module docstring)."""
    code = [b for b in blocks if b.is_code and not b.is_diff]
    if not code:
        raise NoEditError(_no_edit_reason(targets, blocks))
    if targets.only is not None:
        return [_whole_edit(targets.only, _best_block(code, targets.only))]
    if not targets.paths:
        raise EditRejectedError(
            f"Your reply has a code block without a file path (line {code[0].line}); put the file's path "
            "alone on the line before each code block."
        )
    chosen: dict[str, list[CodeBlock]] = {}
    for block in code:
        if block.mention is None:
            raise EditRejectedError(
                f"Your reply has a code block without a file path (line {block.line}), and several files "
                f"are expected ({', '.join(targets.paths)}); put the file's path alone on the line before "
                "each code block."
            )
        chosen.setdefault(block.mention, []).append(block)
    return [_whole_edit(path, _best_block(group, path)) for path, group in chosen.items()]


def _fill_in_edits(blocks: Sequence[CodeBlock], targets: Targets, covered: set[str]) -> list[FileEdit]:
    """Edits from bare blocks beside labelled ones, for targets no labelled block covers.

    Beside labelled blocks a bare block is usually an example, so it counts only if it defines something,
    and (with several targets) names its target just above; anything else is ignored, never rejected. This
    saves the reply that labels a new helper module but shows the main file's code bare.
    """
    code = [b for b in blocks if b.is_code and not b.is_diff and b.definitions > 0]
    open_targets = [path for path in targets.paths if path not in covered]
    chosen: dict[str, list[CodeBlock]] = {}
    for block in code:
        target = open_targets[0] if len(targets.paths) == 1 and open_targets else block.mention
        if target in open_targets:
            chosen.setdefault(target, []).append(block)
    return [_whole_edit(path, _best_block(group, path)) for path, group in chosen.items()]


def _replace_path(block: ReplaceBlock, previous: str | None, targets: Targets) -> str:
    path = block.label or block.mention or previous or targets.only
    if path is None:
        raise EditRejectedError(
            f"Your SEARCH/REPLACE block at line {block.line} has no file path; put the file's path alone "
            "on the line before it (or before the code fence around it)."
        )
    return path


def parse_reply(reply: str, targets: Sequence[str]) -> list[FileEdit]:
    """The edits a reply asks for, in order, or EditRejectedError with a reason addressed to the model.

    ``targets`` are the files the model was asked to write: they place bare blocks and shortened paths.
    """
    _check_reply_text(reply)
    known = Targets(targets)
    text = reply.replace("\r\n", "\n")
    blocks = scan_blocks(text.split("\n"), known)
    edits: list[FileEdit] = []
    unlabelled: list[CodeBlock] = []
    previous: str | None = None
    for block in blocks:
        if isinstance(block, ReplaceBlock):
            previous = _replace_path(block, previous, known)
            edits.append(_replace_edit(previous, block))
        elif block.label is not None:
            previous = block.label
            edits.append(_whole_edit(block.label, block))
        else:
            unlabelled.append(block)
    if edits:
        return edits + _fill_in_edits(unlabelled, known, {edit.path for edit in edits})
    if not blocks:
        bare = _bare_python(text, known)
        if bare is not None:
            return [bare]
    return _unlabelled_edits(unlabelled, known)
