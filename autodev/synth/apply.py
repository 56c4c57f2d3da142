"""Apply file edits to the files' current text: SEARCH/REPLACE matched exactly, then more and more loosely.

Models quote the lines to replace imperfectly (trailing spaces, lost indentation, blank lines around them), so a
SEARCH is tried exactly, then ignoring trailing space, then ignoring indentation; a match in more than one place,
or in none, is an EditRejectedError addressed to the model. Nothing is written here: the result is the new text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from autodev.errors import EditRejectedError
from autodev.synth.edit import MAX_FILE_CHARS, FileEdit


def _split_lines(text: str) -> tuple[list[str], bool]:
    """Lines without terminators, and whether the text ended with a newline."""
    if not text:
        return [], False
    ends_with_newline = text.endswith("\n")
    lines = text.split("\n")
    if ends_with_newline:
        lines.pop()
    return lines, ends_with_newline


def _quote(lines: Sequence[str]) -> str:
    shown = [line.strip()[:80] for line in lines if line.strip()][:3]
    more = len([line for line in lines if line.strip()]) - len(shown)
    quoted = " / ".join(repr(line) for line in shown)
    return quoted + (f" (and {more} more lines)" if more > 0 else "")


def _leading(text: str) -> str:
    return text[: len(text) - len(text.lstrip(" \t"))]


def _indent_shift(window: Sequence[str], search: Sequence[str]) -> tuple[str, str] | None:
    """(added, removed) indentation turning each search line into its file line; None if not uniform."""
    shift: tuple[str, str] | None = None
    for file_line, search_line in zip(window, search, strict=True):
        found, wanted = file_line.rstrip(), search_line.rstrip()
        if not wanted.strip():
            if found.strip():
                return None
            continue
        if shift is None:
            if found.endswith(wanted) and not found[: len(found) - len(wanted)].strip():
                shift = (found[: len(found) - len(wanted)], "")
            elif wanted.endswith(found) and not wanted[: len(wanted) - len(found)].strip():
                shift = ("", wanted[: len(wanted) - len(found)])
            else:
                return None
        added, removed = shift
        if not wanted.startswith(removed) or found != added + wanted[len(removed) :]:
            return None
    return shift


def _shift_lines(lines: Sequence[str], shift: tuple[str, str]) -> list[str]:
    added, removed = shift
    out = []
    for line in lines:
        if not line.strip():
            out.append(line)
            continue
        cut = min(len(removed), len(_leading(line))) if not line.startswith(removed) else len(removed)
        out.append(added + line[cut:])
    return out


_Match = tuple[int, list[str]]


def _starts(haystack: list[str], needle: list[str]) -> list[int]:
    """Every index where ``needle`` occurs in ``haystack`` as consecutive items (list compares run in C)."""
    size, first = len(needle), needle[0]
    return [k for k in range(len(haystack) - size + 1) if haystack[k] == first and haystack[k : k + size] == needle]


def _exact(file_lines: list[str], search: list[str], replace: list[str]) -> list[_Match]:
    return [(k, replace) for k in _starts(file_lines, search)]


def _ignoring_trailing_space(file_lines: list[str], search: list[str], replace: list[str]) -> list[_Match]:
    stripped = [line.rstrip() for line in file_lines]
    return [(k, replace) for k in _starts(stripped, [line.rstrip() for line in search])]


def _ignoring_indentation(file_lines: list[str], search: list[str], replace: list[str]) -> list[_Match]:
    found = []
    stripped = [line.strip() for line in file_lines]
    for k in _starts(stripped, [line.strip() for line in search]):
        shift = _indent_shift(file_lines[k : k + len(search)], search)
        if shift is not None:
            found.append((k, _shift_lines(replace, shift)))
    return found


def _trim_blank_ends(search: list[str], replace: list[str]) -> tuple[list[str], list[str]]:
    """Without the blank lines models add at the ends of SEARCH (and as many at the ends of REPLACE)."""

    def blanks(lines: Sequence[str]) -> tuple[int, int]:
        head = next((n for n, line in enumerate(lines) if line.strip()), len(lines))
        tail = next((n for n, line in enumerate(reversed(lines)) if line.strip()), len(lines))
        return head, tail

    search_head, search_tail = blanks(search)
    replace_head, replace_tail = blanks(replace)
    cut_head, cut_tail = min(search_head, replace_head), min(search_tail, replace_tail)
    trimmed_replace = replace[cut_head : len(replace) - cut_tail] if len(replace) > cut_head + cut_tail else []
    return search[search_head : len(search) - search_tail], trimmed_replace


def _locate(path: str, file_lines: list[str], search: list[str], replace: list[str]) -> tuple[int, int, list[str]]:
    """Where the search lines are, and what replaces them: exact, then trailing space, then indentation."""
    attempts = [(search, replace)]
    trimmed = _trim_blank_ends(search, replace)
    if trimmed[0] and trimmed[0] != search:
        attempts.append(trimmed)
    for wanted, new in attempts:
        for matcher in (_exact, _ignoring_trailing_space, _ignoring_indentation):
            matches = matcher(file_lines, wanted, new)
            if len(matches) > 1:
                where = ", ".join(str(k + 1) for k, _ in matches[:5])
                raise EditRejectedError(
                    f"The SEARCH text for {path} matches {len(matches)} places (lines {where}): "
                    f"{_quote(wanted)}. Add more of the surrounding lines to the SEARCH text so that it "
                    "matches exactly one place."
                )
            if matches:
                start, lines = matches[0]
                return start, start + len(wanted), lines
    raise EditRejectedError(
        f"The SEARCH text for {path} was not found in the file: {_quote(search)}. Copy the lines exactly "
        f"as they are in {path}, with the same indentation, or send the whole file instead."
    )


def _apply_replace(path: str, text: str | None, edit: FileEdit) -> str:
    """One SEARCH/REPLACE on ``text`` (None: no such file).

    An empty SEARCH creates a missing file and appends to an existing one, as Aider does: models use it to
    add code, and in Python a later definition replaces an earlier one of the same name.
    """
    if not edit.search.strip():
        if not text:
            return edit.replace
        return text + ("" if text.endswith("\n") else "\n") + edit.replace
    if text is None:
        raise EditRejectedError(
            f"{path} does not exist, so its SEARCH text cannot be found. To create it, put its path alone "
            "on a line, then its complete content in a fenced code block."
        )
    file_lines, ends_with_newline = _split_lines(text)
    start, end, new_lines = _locate(path, file_lines, _split_lines(edit.search)[0], _split_lines(edit.replace)[0])
    lines = file_lines[:start] + new_lines + file_lines[end:]
    return "\n".join(lines) + ("\n" if ends_with_newline and lines else "")


def _uses_crlf(text: str | None) -> bool:
    return text is not None and "\r\n" in text and text.count("\r\n") == text.count("\n")


def apply_edits(edits: Sequence[FileEdit], read_current: Callable[[str], str | None]) -> dict[str, str]:
    """The new full text of every edited file, in first-seen order; edits to one path apply one on another.

    ``read_current(path)`` is the file's text now, or None if it does not exist; it is called once per path.
    A file with CRLF line endings is matched as LF and written back with CRLF, so its line endings survive.
    """
    texts: dict[str, str | None] = {}
    crlf: dict[str, bool] = {}
    for edit in edits:
        if edit.path not in texts:
            current = read_current(edit.path)
            crlf[edit.path] = _uses_crlf(current)
            texts[edit.path] = current.replace("\r\n", "\n") if crlf[edit.path] and current else current
        if edit.kind == "whole":
            texts[edit.path] = edit.content
        else:
            texts[edit.path] = _apply_replace(edit.path, texts[edit.path], edit)
    result: dict[str, str] = {}
    for path, text in texts.items():
        final = text or ""
        if crlf[path]:
            final = final.replace("\n", "\r\n")
        if len(final) > MAX_FILE_CHARS:
            raise EditRejectedError(
                f"Your edits make {path} {len(final):,} characters long, over the limit of "
                f"{MAX_FILE_CHARS:,}; keep the file smaller."
            )
        result[path] = final
    return result
