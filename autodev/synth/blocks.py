"""A model's reply scanned into blocks: fenced code and SEARCH/REPLACE, each with the path written near it.

One pass over the lines; which block becomes which edit is ``autodev.synth.reply``'s decision, and its docstring
lists the formats accepted. Paths are recognized here (a path line above a block, a fence's info string, a
first-line comment) and mapped onto the expected targets; nothing is confined to the project yet.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from autodev.errors import EditRejectedError
from autodev.synth.strip_tests import code_before_pasted_tests

BLOCK_HINT = "write <<<<<<< SEARCH, the old lines, =======, the new lines, then >>>>>>> REPLACE."


# -------------------------------------------------------------------------------------------- lines and marks

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_HEAD = re.compile(r"^\s*<{5,9}\s*(?:SEARCH|ORIGINAL)\s*>?\s*$")
_DIVIDER = re.compile(r"^\s*={5,9}\s*$")
REPLACE_END = re.compile(r"^\s*>{5,9}\s*(?:REPLACE|UPDATED)\s*<?\s*$")
_DEFINITION = re.compile(r"^(?:async\s+def|def|class)\s+\w")
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


def looks_like_path(text: str) -> bool:
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
    return text if looks_like_path(text) else None


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
        if token and not token.startswith(".") and looks_like_path(token):
            return token
    return None


def _language(info: str) -> str:
    """The language word of an info string: ``python`` for ``python``, ``{.python}`` or ``python:a.py``."""
    words = info.strip().split()
    first = words[0] if words else ""
    return first.strip("{}.").split(":", 1)[0].lower()


class Targets:
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
        if "/" in path:  # "/home/me/project/src/a.py" echoed from a traceback, "path/to/leap.js" from a template
            ends = sorted((t for t in self.paths if path.endswith("/" + t)), key=len)
            if ends and (path.startswith("/") or not ends[-1].endswith(".py")):
                return ends[-1]  # Python's relative paths stay as written until the Python bench says otherwise
        matches = [t for t in self.paths if t.endswith("/" + path)]
        return matches[0] if len(matches) == 1 else path

    def mentioned_in(self, line: str) -> set[str]:
        """Targets a prose line names."""
        return {path for path, pattern in self._mention_patterns if pattern.search(line)}

    @property
    def only(self) -> str | None:
        return self.paths[0] if len(self.paths) == 1 else None


# ----------------------------------------------------------------------------------------------------- blocks


class CodeBlock(BaseModel):
    """A fenced block without SEARCH/REPLACE: ``label`` is its path, ``mention`` a target named above it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    line: int
    info: str
    lines: tuple[str, ...]
    label: str | None
    mention: str | None

    @property
    def language(self) -> str:
        return _language(self.info)

    @property
    def text(self) -> str:
        return _joined(self.lines)

    @property
    def is_code(self) -> bool:
        """Whether the block could be a file: not a shell session, program output or interpreter transcript."""
        if self.language in _NON_CODE_INFO:
            return False
        first = _first_text(self.lines)
        return first is not None and not first.startswith(_PROMPTS)

    @property
    def is_diff(self) -> bool:
        if self.language in _DIFF_INFO:
            return True
        starts = {line[:4] for line in self.lines}
        return "--- " in starts and "+++ " in starts and any(line.startswith("@@") for line in self.lines)

    @property
    def definitions(self) -> int:
        """How many top-level ``def``/``class`` lines it has: the full file defines the most."""
        return sum(1 for line in self.lines if _DEFINITION.match(line))


class ReplaceBlock(BaseModel):
    """One SEARCH/REPLACE block; its path is decided after the scan, once the previous block's is known."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    line: int
    search: str
    replace: str
    label: str | None
    mention: str | None


Block = CodeBlock | ReplaceBlock


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


def _mention_above(prose: Sequence[str], targets: Targets) -> str | None:
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

    def __init__(self, lines: list[str], targets: Targets) -> None:
        self.lines = lines
        self.targets = targets
        self.blocks: list[Block] = []

    def scan(self) -> list[Block]:
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
                if REPLACE_END.match(line):
                    raise EditRejectedError(
                        f"Your reply has a '>>>>>>> REPLACE' line (line {i + 1}) without a '<<<<<<< SEARCH' "
                        f"line before it; {BLOCK_HINT}"
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
            if _HEAD.match(self.lines[i]) or REPLACE_END.match(self.lines[i]):
                raise EditRejectedError(
                    f"Your SEARCH/REPLACE block at line {start + 1} has no '=======' line between the old "
                    f"and the new lines; {BLOCK_HINT}"
                )
            search.append(self.lines[i])
            i += 1
        replace: list[str] = []
        i += 1
        while i < len(self.lines) and not REPLACE_END.match(self.lines[i]):
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
            ReplaceBlock(
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
            salvaged = None if found_replace else code_before_pasted_tests(body)
            if salvaged is None:
                raise self._cut_off(start, fence)
            body = salvaged  # the reply ran on into pasted tests and was cut there: the code before them is whole
        if not found_replace:
            lines, named = self._without_path_line(_outdent(body, opening["indent"]), fence_label)
            label = fence_label or named or self._first_line_target(lines)
            if label is not None and not _label_fits(label, info, lines):
                label = None
            self.blocks.append(
                CodeBlock(line=start + 1, info=info, lines=lines, label=self._canonical(label), mention=mention)
            )
        return i + 1

    @staticmethod
    def _cut_off(start: int, fence: str) -> EditRejectedError:
        return EditRejectedError(
            f"Your reply ended inside the code block opened at line {start + 1} (no closing {fence}): "
            "it was probably cut off. Send a shorter answer: only the changed parts as SEARCH/REPLACE "
            "blocks, or a smaller file, and close every code block."
        )

    def _without_path_line(self, lines: tuple[str, ...], fence_label: str | None) -> tuple[tuple[str, ...], str | None]:
        """The block without a first line that is only its path (``temps.py`` as line one would be code).

        Only a target's path or the block's own label is taken for one, so real first lines stay.
        """
        first = next((n for n, line in enumerate(lines) if line.strip()), None)
        if first is None:
            return lines, None
        named = lines[first].strip().strip("`*")
        if not looks_like_path(named):
            return lines, None
        path = self.targets.canonical(named)
        if path in self.targets.paths or path == self._canonical(fence_label):
            return lines[first + 1 :], path
        return lines, None

    def _first_line_target(self, lines: Sequence[str]) -> str | None:
        """A target named by the block's first line as a comment (``# temps.py``), as models often do."""
        first = next((line for line in lines if line.strip()), "")
        found = _COMMENT_PATH.match(first)
        if found is None or not looks_like_path(found["path"]):
            return None
        path = self.targets.canonical(found["path"])
        return path if path in self.targets.paths else None


def scan_blocks(lines: list[str], targets: Targets) -> list[Block]:
    """The reply's blocks in order; malformed structure (an unclosed fence, a broken SEARCH/REPLACE) is
    EditRejectedError."""
    return _Scanner(lines, targets).scan()
