"""Read a model's reply as file edits: where untrusted model text becomes changes to files.

Small local models rarely follow a format exactly, so the parser accepts what they actually write, and rejects
whatever it cannot use safely with an instruction the model can act on (the reason is sent back to it on the
next attempt). Paths are only parsed here; ``autodev.synth.guard`` confines them before anything is written.

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

from pydantic import BaseModel, ConfigDict

from autodev.errors import EditRejectedError
from autodev.synth.edit import MAX_FILE_CHARS, FileEdit

MAX_REPLY_CHARS = 200_000

_FORMAT_HINT = "put the file's path alone on a line, then its complete content in a fenced code block"
_BLOCK_HINT = "write <<<<<<< SEARCH, the old lines, =======, the new lines, then >>>>>>> REPLACE."


# -------------------------------------------------------------------------------------------- lines and marks

# Everything in U+0000-U+001F except tab, newline, form feed and carriage return, and DEL: never part of
# source text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_HEAD = re.compile(r"^\s*<{5,9}\s*(?:SEARCH|ORIGINAL)\s*>?\s*$")
_DIVIDER = re.compile(r"^\s*={5,9}\s*$")
_UPDATED = re.compile(r"^\s*>{5,9}\s*(?:REPLACE|UPDATED)\s*<?\s*$")
_DEFINITION = re.compile(r"^(?:async\s+def|def|class)\s+\w")
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
_NON_CODE_INFO = frozenset(
    {
        "bash",
        "sh",
        "shell",
        "zsh",
        "console",
        "terminal",
        "shell-session",
        "powershell",
        "ps1",
        "cmd",
        "bat",
        "text",
        "txt",
        "output",
        "plaintext",
        "plain",
        "pycon",
        "log",
        "stdout",
        "stderr",
    }
)
# Info strings of blocks that show a session or its output: never the content of a file, whatever is above
# them.
_TRANSCRIPT_INFO = frozenset({"console", "shell-session", "terminal", "pycon", "output", "stdout", "stderr"})
_PROMPTS = ("$ ", ">>> ", "% ", "> ")
_DIFF_INFO = frozenset({"diff", "patch", "udiff"})
_PYTHON_INFO = frozenset({"", "python", "py", "python3", "py3"})

# ------------------------------------------------------------------------------------------------------ paths

_PATH_CHARS = re.compile(r"^[\w.\-+@~/\\:]+$")
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_FILE_WITH_EXTENSION = re.compile(r"^[\w.\-+@~]*\.[A-Za-z0-9_]*[A-Za-z][A-Za-z0-9_]*$")
_HEADING = re.compile(r"^#{1,6}\s+")
_LIST_MARKER = re.compile(r"^(?:[-*+]|\d{1,3}[.)])\s+")
_LABEL = re.compile(
    r"^(?:file\s*name|file\s*path|filepath|filename|file|path|name"
    r"|(?:updated|new|modified|changed|complete)\s+file)"
    r"(?:\s*[:=]\s*|\s+)",
    re.IGNORECASE,
)
_STATUS_SUFFIX = re.compile(
    r"\s+\((?:new|updated|modified|complete|full|final|changed|revised|created|fixed|corrected)\b[^)]*\)$",
    re.IGNORECASE,
)
_INFO_KEYS = frozenset({"title", "filename", "file", "path", "name"})
_COMMENT_PATH = re.compile(r"^\s*(?:#|//|--|/\*)\s*(?:file(?:name)?\s*:\s*)?(?P<path>\S+?)\s*(?:\*/)?\s*$", re.I)


def _looks_like_path(text: str) -> bool:
    """A single token that is a file path: a slash, or a last component with a (lettered) extension.

    Why so strict: the line above a code block is usually prose ("Here is the code:", "Output:", "v1.2"),
    and a prose line taken for a path would write a stray file.
    """
    if not text or len(text) > 300 or "://" in text or not _PATH_CHARS.match(text):
        return False
    if ":" in text and not _DRIVE.match(text):
        return False
    if not any(ch.isalnum() for ch in text):
        return False
    if text.endswith(("/", "\\")):
        return False
    if "/" in text or "\\" in text:
        return True
    return bool(_FILE_WITH_EXTENSION.match(text))


def _normalize_path(path: str) -> str:
    """Drop ``./`` and doubled slashes so one file has one spelling; ``..`` and ``/`` stay for the guard."""
    leading = "/" if path.startswith("/") else ""
    parts = [part for part in path.split("/") if part not in ("", ".")]
    return leading + "/".join(parts) if parts else path


def _unwrap_once(text: str) -> str:
    """Remove one layer of the markup models put around a path (heading, list, bold, label, backticks...)."""
    text = _HEADING.sub("", text)
    text = _LIST_MARKER.sub("", text)
    text = text.replace("**", "")
    text = _LABEL.sub("", text)
    text = _STATUS_SUFFIX.sub("", text)
    text = text.strip().rstrip(":").strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "`'\"*":
        text = text[1:-1].strip()
    return text


def _path_from_line(line: str) -> str | None:
    """The path a whole line names (``### `src/a.py`:``), or None when the line is anything else."""
    text = line.strip()
    if not text or len(text) > 300:
        return None
    for _ in range(8):
        unwrapped = _unwrap_once(text)
        if unwrapped == text:
            break
        text = unwrapped
    return text if _looks_like_path(text) else None


def _path_from_info(info: str) -> str | None:
    """The path in a fence's info string (``python a.py``, ``a.py``, ``py title="a.py"``, ``py:a.py``)."""
    for raw in re.split(r"[\s,{}]+", info):
        token = raw
        if "=" in token:
            key, _, value = token.partition("=")
            if key.strip().lstrip(".").lower() not in _INFO_KEYS:
                continue
            token = value
        elif ":" in token and not _DRIVE.match(token):
            token = token.rsplit(":", 1)[1]
        token = token.strip("\"'`")
        if token and not token.startswith(".") and _looks_like_path(token):
            return token
    return None


def _language(info: str) -> str:
    """The language word of an info string: ``python`` for ``python``, ``{.python}`` or ``python:a.py``."""
    words = info.strip().split()
    first = words[0] if words else ""
    return first.strip("{}.").split(":", 1)[0].lower()


class _Targets:
    """The files the model is expected to write, and how a path or a mention maps onto one of them."""

    def __init__(self, targets: Sequence[str]) -> None:
        self.paths = list(dict.fromkeys(_normalize_path(t) for t in targets))
        self._mention_patterns = [(path, self._pattern(path)) for path in self.paths]
        basenames = [path.rsplit("/", 1)[-1] for path in self.paths]
        for path, base in zip(self.paths, basenames, strict=True):
            if base != path and basenames.count(base) == 1:
                self._mention_patterns.append((path, self._pattern(base)))

    @staticmethod
    def _pattern(name: str) -> re.Pattern[str]:
        return re.compile(r"(?<![\w./\\-])" + re.escape(name) + r"(?![\w/\\-]|\.\w)")

    def canonical(self, path: str) -> str:
        """``path`` normalized, or the target it abbreviates (small models drop or add directories)."""
        path = _normalize_path(path)
        if path in self.paths:
            return path
        if path.startswith("/"):  # "/temps.py", "/home/me/project/src/a.py": echoed from a traceback
            ends = sorted((t for t in self.paths if path.endswith("/" + t)), key=len)
            return ends[-1] if ends else path
        matches = [t for t in self.paths if t.endswith("/" + path)]
        return matches[0] if len(matches) == 1 else path

    def mentioned_in(self, line: str) -> set[str]:
        """Targets a prose line names."""
        return {path for path, pattern in self._mention_patterns if pattern.search(line)}

    @property
    def only(self) -> str | None:
        return self.paths[0] if len(self.paths) == 1 else None


# ----------------------------------------------------------------------------------------------------- blocks


class _CodeBlock(BaseModel):
    """A fenced block without SEARCH/REPLACE: ``label`` is its path, ``mention`` a target named above it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    line: int
    info: str
    lines: tuple[str, ...]
    label: str | None
    mention: str | None


class _ReplaceBlock(BaseModel):
    """One SEARCH/REPLACE block; its path is decided after the scan, once the previous block's is known."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    line: int
    search: str
    replace: str
    label: str | None
    mention: str | None


_Block = _CodeBlock | _ReplaceBlock


def _joined(lines: Sequence[str]) -> str:
    return "".join(line + "\n" for line in lines)


def _label_above(prose: Sequence[str], *, reach: int) -> str | None:
    """The path of the nearest path line among the last ``reach`` non-blank lines."""
    seen = 0
    for line in reversed(prose):
        if not line.strip():
            continue
        path = _path_from_line(line)
        if path is not None:
            return path
        seen += 1
        if seen >= reach:
            return None
    return None


def _mention_above(prose: Sequence[str], targets: _Targets) -> str | None:
    """The one target named in the nearest two non-blank prose lines ("Here is the updated `b.py`:")."""
    seen = 0
    for line in reversed(prose):
        if not line.strip():
            continue
        named = targets.mentioned_in(line)
        if len(named) == 1:
            return named.pop()
        if named:
            return None
        seen += 1
        if seen >= 2:
            return None
    return None


def _first_text(lines: Sequence[str]) -> str | None:
    return next((line.strip() for line in lines if line.strip()), None)


def _label_fits(label: str, info: str, lines: Sequence[str]) -> bool:
    """Whether a labelled block can really be that file: a path heading followed by "```console" or by a
    ``$ python temps.py`` session is showing how to run the file, and must not overwrite it."""
    language = _language(info)
    first = _first_text(lines) or ""
    if language in _TRANSCRIPT_INFO or first.startswith(_PROMPTS):
        return False
    return not (label.endswith(".py") and language in _NON_CODE_INFO)


def _is_closing(line: str, fence: str) -> bool:
    text = line.strip()
    return len(text) >= len(fence) and text == fence[0] * len(text)


def _outdent(lines: Sequence[str], indent: str) -> tuple[str, ...]:
    """Content lines of a fence indented by ``indent`` (a block inside a list item) lose that indentation."""
    if not indent:
        return tuple(lines)
    width = len(indent)
    out = []
    for line in lines:
        strip = len(line) - len(line.lstrip(" \t"))
        out.append(line[min(strip, width) :])
    return tuple(out)


class _Scanner:
    """One pass over the reply's lines, giving blocks in order; malformed structure is EditRejectedError."""

    def __init__(self, lines: list[str], targets: _Targets) -> None:
        self.lines = lines
        self.targets = targets
        self.blocks: list[_Block] = []

    def scan(self) -> list[_Block]:
        prose: list[str] = []
        i = 0
        while i < len(self.lines):
            line = self.lines[i]
            opening = _FENCE_OPEN.match(line)
            if _HEAD.match(line):
                i = self._replace_block(i, _label_above(prose, reach=3), self._mention(prose))
                prose = []
            elif opening and not (opening["fence"][0] == "`" and "`" in opening["info"]):
                i = self._fence(i, opening, _label_above(prose, reach=3), self._mention(prose))
                prose = []
            else:
                if _UPDATED.match(line):
                    raise EditRejectedError(
                        f"Your reply has a '>>>>>>> REPLACE' line (line {i + 1}) without a '<<<<<<< SEARCH' "
                        f"line before it; {_BLOCK_HINT}"
                    )
                prose.append(line)
                i += 1
        return self.blocks

    def _mention(self, prose: Sequence[str]) -> str | None:
        return _mention_above(prose, self.targets)

    def _canonical(self, path: str | None) -> str | None:
        return None if path is None else self.targets.canonical(path)

    def _replace_block(self, start: int, label: str | None, mention: str | None) -> int:
        """Read one SEARCH/REPLACE block from its SEARCH marker; returns the index after its last line."""
        i = start + 1
        search: list[str] = []
        while i < len(self.lines) and not _DIVIDER.match(self.lines[i]):
            if _HEAD.match(self.lines[i]) or _UPDATED.match(self.lines[i]):
                raise EditRejectedError(
                    f"Your SEARCH/REPLACE block at line {start + 1} has no '=======' line between the old "
                    f"and the new lines; {_BLOCK_HINT}"
                )
            search.append(self.lines[i])
            i += 1
        replace: list[str] = []
        i += 1
        while i < len(self.lines) and not _UPDATED.match(self.lines[i]):
            if _HEAD.match(self.lines[i]):
                raise EditRejectedError(
                    f"Your SEARCH/REPLACE block at line {start + 1} does not end with '>>>>>>> REPLACE' "
                    "before the next '<<<<<<< SEARCH'; end every block with a '>>>>>>> REPLACE' line."
                )
            replace.append(self.lines[i])
            i += 1
        if i >= len(self.lines):
            raise EditRejectedError(
                f"Your reply ended inside the SEARCH/REPLACE block that starts at line {start + 1} (no "
                "'>>>>>>> REPLACE' line): it was probably cut off. Send a shorter answer: fewer and smaller "
                "SEARCH/REPLACE blocks, each ending with '>>>>>>> REPLACE'."
            )
        self.blocks.append(
            _ReplaceBlock(
                line=start + 1,
                search=_joined(search),
                replace=_joined(replace),
                label=self._canonical(label),
                mention=mention,
            )
        )
        return i + 1

    def _fence(self, start: int, opening: re.Match[str], label_above: str | None, mention: str | None) -> int:
        """Read a fenced block (a whole file, or SEARCH/REPLACE blocks); returns the index after its end."""
        fence = opening["fence"]
        info = opening["info"].strip()
        fence_label = _path_from_info(info) or label_above
        body: list[str] = []
        since_last_block: list[str] = []
        found_replace = False
        i = start + 1
        while i < len(self.lines):
            line = self.lines[i]
            if _is_closing(line, fence):
                break
            if _HEAD.match(line):
                found_replace = True
                inner = _label_above(since_last_block, reach=1)
                i = self._replace_block(i, inner or fence_label, mention)
                since_last_block = []
                continue
            body.append(line)
            since_last_block.append(line)
            i += 1
        else:
            raise EditRejectedError(
                f"Your reply ended inside the code block opened at line {start + 1} (no closing {fence}): "
                "it was probably cut off. Send a shorter answer: only the changed parts as SEARCH/REPLACE "
                "blocks, or a smaller file, and close every code block."
            )
        if not found_replace:
            lines, named = self._without_path_line(_outdent(body, opening["indent"]), fence_label)
            label = fence_label or named or self._first_line_target(lines)
            if label is not None and not _label_fits(label, info, lines):
                label = None
            self.blocks.append(
                _CodeBlock(line=start + 1, info=info, lines=lines, label=self._canonical(label), mention=mention)
            )
        return i + 1

    def _without_path_line(self, lines: tuple[str, ...], fence_label: str | None) -> tuple[tuple[str, ...], str | None]:
        """The block without a first line that is only its path (``temps.py`` as line one would be code).

        Only a target's path or the block's own label is taken for one, so real first lines stay.
        """
        first = next((n for n, line in enumerate(lines) if line.strip()), None)
        if first is None:
            return lines, None
        named = lines[first].strip().strip("`*")
        if not _looks_like_path(named):
            return lines, None
        path = self.targets.canonical(named)
        if path in self.targets.paths or path == self._canonical(fence_label):
            return lines[first + 1 :], path
        return lines, None

    def _first_line_target(self, lines: Sequence[str]) -> str | None:
        """A target named by the block's first line as a comment (``# temps.py``), as models often do."""
        first = next((line for line in lines if line.strip()), "")
        found = _COMMENT_PATH.match(first)
        if found is None or not _looks_like_path(found["path"]):
            return None
        path = self.targets.canonical(found["path"])
        return path if path in self.targets.paths else None


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
        if _UPDATED.match(text):
            raise EditRejectedError(
                f"Your code block for {path} (line {line}) has SEARCH/REPLACE markers but no "
                f"'<<<<<<< SEARCH' line; {_BLOCK_HINT}"
            )
        if _PLACEHOLDER.match(text):
            raise EditRejectedError(
                f"Your code block for {path} leaves code out (line {line + offset + 1}: "
                f"{text.strip()[:60]!r}). Send the complete file with nothing omitted, or SEARCH/REPLACE "
                "blocks for only the lines that change."
            )


def _whole_edit(path: str, block: _CodeBlock) -> FileEdit:
    content = _joined(block.lines)
    _check_whole_content(path, content, block.line)
    return FileEdit(path=path, kind="whole", content=content)


def _replace_edit(path: str, block: _ReplaceBlock) -> FileEdit:
    for text, name in ((block.search, "SEARCH"), (block.replace, "REPLACE")):
        if len(text) > MAX_FILE_CHARS:
            raise EditRejectedError(
                f"The {name} part of your block for {path} (line {block.line}) is over {MAX_FILE_CHARS:,} "
                "characters; send smaller SEARCH/REPLACE blocks."
            )
    return FileEdit(path=path, kind="replace", search=block.search, replace=block.replace)


def _is_code(block: _CodeBlock) -> bool:
    """Whether a bare block could be a file: not a shell session, program output or interpreter transcript."""
    if _language(block.info) in _NON_CODE_INFO:
        return False
    first = _first_text(block.lines)
    return first is not None and not first.startswith(_PROMPTS)


def _is_diff(block: _CodeBlock) -> bool:
    if _language(block.info) in _DIFF_INFO:
        return True
    starts = {line[:4] for line in block.lines}
    return "--- " in starts and "+++ " in starts and any(line.startswith("@@") for line in block.lines)


def _definitions(block: _CodeBlock) -> int:
    return sum(1 for line in block.lines if _DEFINITION.match(line))


def _best_block(blocks: Sequence[_CodeBlock], target: str) -> _CodeBlock:
    """The block most likely to be the whole file: the last of those with the most top-level definitions."""
    if target.endswith(".py"):
        python = [b for b in blocks if _language(b.info) in _PYTHON_INFO]
        blocks = python or blocks
    most = max(_definitions(b) for b in blocks)
    return [b for b in blocks if _definitions(b) == most][-1]


def _bare_python(reply: str, targets: _Targets) -> FileEdit | None:
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


def _no_edit_reason(targets: _Targets, blocks: Sequence[_CodeBlock]) -> str:
    if any(_is_diff(b) for b in blocks):
        return (
            "Your reply is a diff, which autodev cannot apply. Send the complete file in a fenced code "
            f"block, or SEARCH/REPLACE blocks: {_BLOCK_HINT}"
        )
    example = f" (for example {targets.paths[0]!r})" if targets.paths else ""
    return f"Your reply contains no file edit. To change a file, {_FORMAT_HINT}{example}."


def _unlabelled_edits(blocks: Sequence[_CodeBlock], targets: _Targets) -> list[FileEdit]:
    """Edits from blocks without a path, when the reply labelled nothing (rule 3 of the module docstring)."""
    code = [b for b in blocks if _is_code(b) and not _is_diff(b)]
    if not code:
        raise EditRejectedError(_no_edit_reason(targets, blocks))
    if targets.only is not None:
        return [_whole_edit(targets.only, _best_block(code, targets.only))]
    if not targets.paths:
        raise EditRejectedError(
            f"Your reply has a code block without a file path (line {code[0].line}); put the file's path "
            "alone on the line before each code block."
        )
    chosen: dict[str, list[_CodeBlock]] = {}
    for block in code:
        if block.mention is None:
            raise EditRejectedError(
                f"Your reply has a code block without a file path (line {block.line}), and several files "
                f"are expected ({', '.join(targets.paths)}); put the file's path alone on the line before "
                "each code block."
            )
        chosen.setdefault(block.mention, []).append(block)
    return [_whole_edit(path, _best_block(group, path)) for path, group in chosen.items()]


def _fill_in_edits(blocks: Sequence[_CodeBlock], targets: _Targets, covered: set[str]) -> list[FileEdit]:
    """Edits from bare blocks beside labelled ones, for targets no labelled block covers.

    Beside labelled blocks a bare block is usually an example, so it counts only if it defines something,
    and (with several targets) names its target just above; anything else is ignored, never rejected. This
    saves the reply that labels a new helper module but shows the main file's code bare.
    """
    code = [b for b in blocks if _is_code(b) and not _is_diff(b) and _definitions(b) > 0]
    open_targets = [path for path in targets.paths if path not in covered]
    chosen: dict[str, list[_CodeBlock]] = {}
    for block in code:
        target = open_targets[0] if len(targets.paths) == 1 and open_targets else block.mention
        if target in open_targets:
            chosen.setdefault(target, []).append(block)
    return [_whole_edit(path, _best_block(group, path)) for path, group in chosen.items()]


def _replace_path(block: _ReplaceBlock, previous: str | None, targets: _Targets) -> str:
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
    known = _Targets(targets)
    text = reply.replace("\r\n", "\n")
    blocks = _Scanner(text.split("\n"), known).scan()
    edits: list[FileEdit] = []
    unlabelled: list[_CodeBlock] = []
    previous: str | None = None
    for block in blocks:
        if isinstance(block, _ReplaceBlock):
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
