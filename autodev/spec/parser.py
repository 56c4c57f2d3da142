"""Spec files into requirements: headings with IDs split a file, everything else stays prose the model reads.

The structure comes from markdown-it-py's block token stream (its ``.map`` gives source lines), not from regular
expressions over lines, so a ``## REQ-1`` inside a code fence or a list is text, not a requirement. Regular
expressions only read single lines the parser has already classified (a heading's text, a paragraph's lines).

A file without any ID is one requirement, whole, as before: free prose such as an exercise description must keep
working without the user learning a format.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from markdown_it import MarkdownIt
from markdown_it.token import Token

from autodev.errors import SpecError
from autodev.spec.model import DEFAULT_PRIORITY, Requirement, SpecDiagnostic, SpecSet
from autodev.spec.reader import files_hints

DEFAULT_SPEC_PATHS: tuple[str, ...] = ("SPEC.md", "requirements.md", "specs/**/*.md")
MAX_SPEC_FILE_BYTES = 5_000_000  # 5 MB: far beyond any hand-written spec, small enough to parse in seconds
MAX_CONTEXT_CHARS = 4000  # the shared text before the first requirement, as given to the model
MAX_NESTING = 100  # markdown-it block levels (a list level takes two); deeper input is refused, not half-read
TITLE_CHARS = 72  # a whole-file title becomes a commit subject
IGNORED_DIRS = frozenset({".git", ".autodev"})

# markdown-it stops descending at maxNesting and swallows the rest of the file into the deepest list item, so the
# limit is checked after parsing. The inline rule is off: only block structure and the raw text of each block matter.
_MD = MarkdownIt("commonmark", {"maxNesting": MAX_NESTING}).enable("table").disable("inline")

_ID_CORE = r"[A-Z]+(?:-[A-Z]+)*-\d+(?:\.\d+)*"
# The ID must be followed by a separator or end the heading, so that "## UTF-8 handling" stays a plain heading.
_LEADING_ID = re.compile(rf"^[*_`\[]*(?P<id>{_ID_CORE})[*_`\]]*(?:\s*[:.)|]|\s+[-\u2013\u2014](?=\s)|\s*$)")
_SUFFIX_ID = re.compile(r"\s*\{#(?P<id>[A-Za-z0-9_][\w.:-]*)\}\s*$")
_DEPENDS = re.compile(r"^\s*\**Depends(?:\s+on)?\**\s*:\**\s*(?P<ids>.*)$", re.IGNORECASE)
_PRIORITY = re.compile(r"^\s*\**Priority\**\s*:\**\s*(?P<value>.*)$", re.IGNORECASE)
_FILES = re.compile(r"^\s*\**Files\**\s*:", re.IGNORECASE)
_PLAN = re.compile(r"^\s*\**Plan\**\s*:\**\s*(?P<value>.*)$", re.IGNORECASE)
_EARS = re.compile(r"^(?:WHEN|WHILE|WHERE|IF|THE)\b.*\bSHALL\b", re.IGNORECASE)
_GWT = re.compile(r"^(?P<word>Given|When|Then|And|But)\b[\s:]", re.IGNORECASE)
_GWT_ONE_LINE = re.compile(r"^Given\b.+\bwhen\b.+\bthen\b", re.IGNORECASE)
_ARROW = re.compile(r"^(?P<left>\S.*?)\s*(?:->|=>|\u2192|\u21d2)\s*(?P<right>\S.*)$")
_CHECKBOX = re.compile(r"^\[[ xX]\]\s+")
_MARKUP = re.compile(r"[*_`]")
_SURROGATE = re.compile("[\ud800-\udfff]")  # only a str built in memory has them; they cannot be encoded
_NOT_IDS = frozenset({"and", "none", "n/a", "nothing", "-", "\u2014"})
_PLAN_WORDS = {"yes": True, "true": True, "on": True, "no": False, "false": False, "off": False}
_PRIORITY_WORDS = {"critical": 0, "p0": 0, "high": 1, "p1": 1, "medium": 2, "p2": 2, "low": 3, "p3": 3}
_IO_HEADERS = ("output", "expected", "result", "returns", "answer")
_GHERKIN = frozenset({"gherkin", "feature", "cucumber"})
_ARROW_MAX = 200  # a longer line with an arrow is prose, not an example row

Mode = Literal["acceptance", "examples"] | None  # how lists, tables and code under a heading or lead-in are read


@dataclass
class _Section:
    """A top-level heading and the blocks up to the next one (the preamble has no heading)."""

    start: int  # 0-based first line
    end: int  # 0-based line after the last
    level: int = 0  # heading level; 0 for the preamble
    heading: str = ""  # the heading's raw text
    req_id: str | None = None
    title: str = ""
    body: list[Token] = field(default_factory=list)


@dataclass
class _Findings:
    """What one requirement's own blocks say, beyond prose."""

    criteria: list[str] = field(default_factory=list)
    examples: list[tuple[int, str]] = field(default_factory=list)  # (1-based line where it starts, its text)
    lines: list[tuple[int, str]] = field(default_factory=list)  # (1-based line, text) of every paragraph line


def parse_spec_text(
    text: str, source: str, *, default_spec: bool = True
) -> tuple[list[Requirement], list[SpecDiagnostic]]:
    """One file's requirements (in file order) and what is worth telling the user about it.

    ``default_spec`` is False for documents that are context unless they carry requirement IDs (a README named in
    the configured paths): such a file without IDs gives no requirement rather than a whole-file one.
    Raises SpecError only for input that cannot be read sensibly (too large, nested too deep).
    """
    text = _normalise(text)
    if len(text) > MAX_SPEC_FILE_BYTES:
        raise SpecError(
            f"{source}: {len(text)} characters; a spec file may have at most {MAX_SPEC_FILE_BYTES}: split it"
        )
    diagnostics: list[SpecDiagnostic] = []
    if not text.strip():
        if default_spec:
            diagnostics.append(_note(source, 1, "empty spec file; skipped"))
        return [], diagnostics
    tokens = _MD.parse(text)
    _check_nesting(tokens, source)
    lines = text.split("\n")
    sections = _sections(tokens, len(lines))
    for section in sections:
        if section.req_id and section.level == 1:
            diagnostics.append(
                _note(
                    source, section.start + 1, f"level-1 heading {section.req_id} is a title, not a requirement; use ##"
                )
            )
    if not any(section.req_id and section.level >= 2 for section in sections):
        if not default_spec:
            return [], diagnostics
        return [_whole_file(text, source, sections, diagnostics)], diagnostics
    return _split(lines, source, sections, diagnostics), diagnostics


def load_specs(root: Path, paths: Sequence[str] = DEFAULT_SPEC_PATHS) -> SpecSet:
    """Every requirement under ``root`` named by ``paths`` (globs), in file order, with the context documents.

    Files are sorted by path so the result does not depend on the file system. Raises SpecError for an unreadable,
    binary or oversized file, for an ID used twice, and when no requirement is found at all.
    """
    specs = read_specs(root, paths)
    duplicates = duplicate_diagnostics(specs.requirements)
    if duplicates:
        raise SpecError("duplicate requirement IDs (each must be unique):\n" + "\n".join(map(str, duplicates)))
    return specs


def read_specs(root: Path, paths: Sequence[str] = DEFAULT_SPEC_PATHS) -> SpecSet:
    """:func:`load_specs` without refusing duplicate IDs: `spec check` reports them with everything else."""
    requirements: list[Requirement] = []
    context_files: list[str] = []
    diagnostics: list[SpecDiagnostic] = []
    for path in spec_files(root, paths):
        relative = path.relative_to(root).as_posix()
        default = is_default_spec(relative)
        text = _read_text(path, relative)
        found, notes = parse_spec_text(text, relative, default_spec=default)
        requirements.extend(found)
        diagnostics.extend(notes)
        if not found and not default and text.strip():
            context_files.append(relative)
    if not requirements:
        looked = ", ".join(paths) or "no paths"
        skipped = "".join(f"; {note.file} is empty" for note in diagnostics if note.message.startswith("empty"))
        raise SpecError(
            f"no requirement found (looked in {looked}{skipped}): write what you want in SPEC.md "
            "(or run `autodev init` for a template)"
        )
    return SpecSet(requirements=requirements, context_files=context_files, diagnostics=diagnostics)


def spec_files(root: Path, paths: Sequence[str]) -> list[Path]:
    """The files the globs name under ``root``, sorted and without duplicates, never inside .git or .autodev."""
    found: dict[str, Path] = {}
    for pattern in paths:
        try:
            matches = list(root.glob(pattern))
        except (ValueError, NotImplementedError) as exc:  # empty or absolute patterns
            raise SpecError(
                f"spec path {pattern!r} cannot be used: {exc}; give a glob relative to the project"
            ) from exc
        for match in matches:
            try:
                relative = match.relative_to(root)
            except ValueError:
                continue
            if ".." in relative.parts or IGNORED_DIRS.intersection(relative.parts) or not match.is_file():
                continue
            found.setdefault(relative.as_posix(), match)
    return [found[key] for key in sorted(found)]


def is_default_spec(relative: str) -> bool:
    """Whether a project-relative POSIX path is one of the default spec files (others are context documents)."""
    return any(_glob_regex(pattern).fullmatch(relative) for pattern in DEFAULT_SPEC_PATHS)


def duplicate_diagnostics(requirements: Iterable[Requirement]) -> list[SpecDiagnostic]:
    """One error per repeated ID, at the repeat, naming where the ID was first used."""
    first: dict[str, Requirement] = {}
    found: list[SpecDiagnostic] = []
    for requirement in requirements:
        earlier = first.setdefault(requirement.id, requirement)
        if earlier is not requirement:
            found.append(
                SpecDiagnostic(
                    file=requirement.source,
                    line=requirement.line,
                    level="error",
                    message=(
                        f"duplicate requirement ID {requirement.id} (first defined at {earlier.source}:{earlier.line})"
                    ),
                )
            )
    return found


def _read_text(path: Path, relative: str) -> str:
    """A spec file's text, or a SpecError the user can act on (size, binary, encoding, permissions)."""
    try:
        size = path.stat().st_size
        if size > MAX_SPEC_FILE_BYTES:
            raise SpecError(
                f"{relative}: {size} bytes; a spec file may have at most {MAX_SPEC_FILE_BYTES} (5 MB): split it"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError(f"{relative}: cannot be read ({exc.strerror or exc})") from exc
    if len(raw) > MAX_SPEC_FILE_BYTES:  # grew since stat
        raise SpecError(f"{relative}: more than {MAX_SPEC_FILE_BYTES} bytes (5 MB); split it")
    nul = raw.find(b"\0")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise SpecError(f"{relative}:{line}: binary data (a NUL byte at offset {nul}), not Markdown text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise SpecError(f"{relative}:{line}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc


def _normalise(text: str) -> str:
    """Unix line endings, no byte-order mark, no NULs or lone surrogates: what every line and hash is computed on."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").replace("\0", "\ufffd")
    return _SURROGATE.sub("\ufffd", text)


def _check_nesting(tokens: Sequence[Token], source: str) -> None:
    """Refuse input that hit markdown-it's nesting limit: past it the rest of the file would silently vanish."""
    for index, token in enumerate(tokens):
        if token.level >= MAX_NESTING - 1:
            line = next((t.map[0] + 1 for t in reversed(tokens[: index + 1]) if t.map), 1)
            raise SpecError(
                f"{source}:{line}: lists or quotes nested more than {MAX_NESTING // 2} levels deep; flatten them"
            )


def _sections(tokens: Sequence[Token], line_count: int) -> list[_Section]:
    """The preamble and one section per top-level heading, with the heading's ID and title if it has one."""
    sections = [_Section(start=0, end=line_count)]
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.type == "heading_open" and token.level == 0 and token.map:
            content = tokens[index + 1].content if index + 1 < len(tokens) else ""
            sections[-1].end = token.map[0]
            req_id, title = _heading_id(content)
            sections.append(
                _Section(
                    start=token.map[0],
                    end=line_count,
                    level=int(token.tag[1:]),
                    heading=content,
                    req_id=req_id,
                    title=title,
                )
            )
            index += 3  # heading_open, inline, heading_close
            continue
        sections[-1].body.append(token)
        index += 1
    return sections


def _heading_id(content: str) -> tuple[str | None, str]:
    """A heading's requirement ID (``{#id}`` suffix first, else a leading ``ABC-12``) and the title without it."""
    suffix = _SUFFIX_ID.search(content)
    if suffix:
        title = _clean_title(content[: suffix.start()])
        return suffix.group("id"), title or suffix.group("id")
    leading = _LEADING_ID.match(content)
    if leading:
        title = _clean_title(content[leading.end() :])
        return leading.group("id"), title or leading.group("id")
    return None, _clean_title(content)


def _clean_title(text: str) -> str:
    """A heading's words without Markdown emphasis; empty when it has no letters or digits at all."""
    title = text.strip().strip("#*_` ").strip()
    return title if any(char.isalnum() for char in title) else ""


def _whole_file(text: str, source: str, sections: list[_Section], diagnostics: list[SpecDiagnostic]) -> Requirement:
    """A file without IDs as one requirement, titled by its first heading, like today's whole-file reader."""
    headed = [section for section in sections if section.level]
    if sum(1 for section in headed if section.level >= 2) >= 2:
        diagnostics.append(_note(source, 1, "treated as one requirement; add IDs to split it"))
    findings = _scan(sections)
    files, depends, priority, plan = _fields(findings, source, diagnostics)
    body = text.strip()
    return Requirement(
        id=source,
        title=_whole_title(body, headed, source),
        text=body,
        source=source,
        line=1,
        files=files,
        depends=depends,
        priority=priority,
        plan=plan,
        criteria=tuple(_unique(findings.criteria)),
        examples=tuple(_unique(text for _, text in findings.examples)),
        example_lines=_example_lines(findings.examples),
        whole_file=True,
        content_hash=_content_hash(body, files, depends),
    )


def _whole_title(body: str, headed: list[_Section], source: str) -> str:
    """The first heading with words, else the first line: a commit subject the user recognises (as ``spec_title``)."""
    for candidate in [*(section.heading for section in headed), *body.split("\n")]:
        title = candidate.strip().strip("#*_ ").strip()
        if title:
            return title[:TITLE_CHARS]
    return source


def _split(
    lines: list[str], source: str, sections: list[_Section], diagnostics: list[SpecDiagnostic]
) -> list[Requirement]:
    """Requirements from the ID headings; ID-less sections belong to the requirement they sit in."""
    owned: list[list[_Section]] = []  # per requirement, in file order: its heading's section, then its ID-less ones
    parents: list[str | None] = []
    stack: list[tuple[int, int]] = []  # (heading level, index into owned) of the requirements a heading sits in
    for section in sections:
        if section.level:
            while stack and stack[-1][0] >= section.level:
                stack.pop()
        if section.req_id is not None and section.level >= 2:
            parents.append(owned[stack[-1][1]][0].req_id if stack else None)
            stack.append((section.level, len(owned)))
            owned.append([section])
        elif stack:
            owned[stack[-1][1]].append(section)
        elif owned and _has_text(lines, section):
            diagnostics.append(
                _note(
                    source,
                    section.start + 1,
                    f"section {section.heading.strip()!r} is in no requirement (no ID, at a requirement's "
                    "level); the model does not see it: add an ID or move it above the first requirement",
                )
            )
    context = _context(lines, owned[0][0].start, source, diagnostics)
    requirements = []
    for own, parent in zip(owned, parents, strict=True):
        head = own[0]
        findings = _scan(own)
        files, depends, priority, plan = _fields(findings, source, diagnostics)
        text = "\n\n".join(_section_text(lines, section) for section in own).strip()
        requirements.append(
            Requirement(
                id=head.req_id or "",
                title=head.title,
                text=text,
                source=source,
                line=head.start + 1,
                parent=parent,
                files=files,
                depends=depends,
                priority=priority,
                plan=plan,
                criteria=tuple(_unique(findings.criteria)),
                examples=tuple(_unique(text for _, text in findings.examples)),
                example_lines=_example_lines(findings.examples),
                context=context,
                content_hash=_content_hash(text, files, depends),
            )
        )
    return requirements


def _has_text(lines: list[str], section: _Section) -> bool:
    return any(line.strip() for line in lines[section.start : section.end])


def _section_text(lines: list[str], section: _Section) -> str:
    return "\n".join(lines[section.start : section.end]).strip()


def _context(lines: list[str], end: int, source: str, diagnostics: list[SpecDiagnostic]) -> str:
    """The text before the first requirement, capped at a line boundary so prompts stay small."""
    context = "\n".join(lines[:end]).strip()
    if len(context) <= MAX_CONTEXT_CHARS:
        return context
    diagnostics.append(
        _note(
            source,
            1,
            f"the text before the first requirement has {len(context)} characters; "
            f"the model is given the first {MAX_CONTEXT_CHARS}",
        )
    )
    cut = context[:MAX_CONTEXT_CHARS]
    newline = cut.rfind("\n")
    return (cut[:newline] if newline > 0 else cut).rstrip() + "\n\u2026"


def _scan(sections: Sequence[_Section]) -> _Findings:
    """Criteria, examples and field lines in the blocks of some sections, each section read in its heading's mode."""
    findings = _Findings()
    for section in sections:
        mode = _mode(section.heading) if section.level and section.req_id is None else None
        _scan_blocks(section.body, mode, findings)
    return findings


def _mode(text: str) -> Mode:
    """What a heading or lead-in line announces: "Acceptance criteria" or "Examples" (else ordinary prose)."""
    plain = re.sub(r"[^\w\s]", "", text).strip().lower()
    if plain.startswith(("acceptance", "criteria")):
        return "acceptance"
    if plain.startswith("example"):
        return "examples"
    return None


def _scan_blocks(tokens: Sequence[Token], section_mode: Mode, findings: _Findings) -> None:
    """One pass over a section's block tokens; a lead-in paragraph sets the mode of the block right after it."""
    list_modes: list[Mode] = []
    pending: Mode = None
    pending_index = -1  # the block after the lead-in paragraph's close
    index = 0
    while index < len(tokens):
        token = tokens[index]
        kind = token.type
        announced = pending if index == pending_index else None
        current = announced or (list_modes[-1] if list_modes else None) or section_mode
        if kind in ("bullet_list_open", "ordered_list_open"):
            list_modes.append(current)
        elif kind in ("bullet_list_close", "ordered_list_close"):
            if list_modes:
                list_modes.pop()
        elif kind == "inline" and index > 0 and tokens[index - 1].type == "paragraph_open":
            first_in_item = index > 1 and tokens[index - 2].type == "list_item_open"
            _paragraph(token, list_modes[-1] if first_in_item and list_modes else None, findings)
            lead_in = _mode(token.content.split("\n", 1)[0])
            if lead_in:
                pending, pending_index = lead_in, index + 2
        elif kind in ("fence", "code_block"):
            _code(token, current, findings)
        elif kind == "table_open":
            index = _table(tokens, index, current, findings)
        index += 1


def _paragraph(token: Token, item_mode: Mode, findings: _Findings) -> None:
    """A paragraph's lines: field lines are kept, and criteria or examples are recognised line by line.

    ``item_mode`` is set for the first paragraph of a list item under an "Acceptance" or "Examples" lead-in: the
    whole item is then one criterion or example.
    """
    first_line = (token.map[0] if token.map else 0) + 1
    raw_lines = token.content.split("\n")
    findings.lines.extend((first_line + offset, line) for offset, line in enumerate(raw_lines))
    if item_mode:
        item = _CHECKBOX.sub("", " ".join(line.strip() for line in raw_lines).strip())
        if item and item_mode == "acceptance":
            findings.criteria.append(item)
        elif item:
            findings.examples.append((first_line, item))
        return
    _line_criteria(raw_lines, findings)
    for offset, line in enumerate(raw_lines):
        plain = line.strip()
        if _is_field(plain) or len(plain) > _ARROW_MAX or _EARS.match(_MARKUP.sub("", plain)):
            continue
        if _ARROW.match(plain):
            findings.examples.append((first_line + offset, plain))


def _line_criteria(raw_lines: Sequence[str], findings: _Findings) -> None:
    """EARS lines (``WHEN ... THE SYSTEM SHALL ...``) and Given/When/Then scenarios, each one criterion."""
    group: list[str] = []

    def flush() -> None:
        words = {_GWT.match(_MARKUP.sub("", line)).group("word").lower() for line in group}  # type: ignore[union-attr]
        if "then" in words and words & {"given", "when"}:
            findings.criteria.append("\n".join(group))
        group.clear()

    for line in raw_lines:
        stripped = line.strip()
        plain = _MARKUP.sub("", stripped)
        if _EARS.match(plain) or _GWT_ONE_LINE.match(plain):
            flush()
            findings.criteria.append(stripped)
        elif _GWT.match(plain):
            group.append(stripped)
        else:
            flush()
    flush()


def _code(token: Token, mode: Mode, findings: _Findings) -> None:
    """A doctest, a block of ``input -> output`` rows, a Gherkin scenario, or any code under "Examples"."""
    content = token.content.rstrip()
    first = (token.map[0] if token.map else 0) + (2 if token.type == "fence" else 1)  # the fence's own line
    numbered = [(first + offset, line.strip()) for offset, line in enumerate(content.split("\n")) if line.strip()]
    rows = [row for _, row in numbered]
    if not rows:
        return
    if any(row.startswith(">>>") for row in rows):
        findings.examples.append((first, content))
    elif all(_ARROW.match(row) and len(row) <= _ARROW_MAX for row in rows):
        findings.examples.extend(numbered)
    elif token.info.strip().lower().split(" ", 1)[0] in _GHERKIN:
        _line_criteria(rows, findings)
    elif mode == "examples":
        findings.examples.append((first, content))
    elif mode == "acceptance":
        findings.criteria.append(content)


def _table(tokens: Sequence[Token], index: int, mode: Mode, findings: _Findings) -> int:
    """Rows of an Examples table (announced, or with an output/expected column); returns the table_close index."""
    header: list[str] = []
    rows: list[tuple[int, list[str]]] = []
    row: list[str] = []
    row_line = 0
    in_head = False
    while index < len(tokens) and tokens[index].type != "table_close":
        kind = tokens[index].type
        if kind == "thead_open":
            in_head = True
        elif kind == "thead_close":
            in_head = False
        elif kind == "tr_open":
            opened = tokens[index].map
            row, row_line = [], (opened[0] + 1 if opened else 0)
        elif kind == "inline":
            row.append(tokens[index].content.strip())
        elif kind == "tr_close":
            if in_head:
                header = row
            else:
                rows.append((row_line, row))
        index += 1
    looks_like_examples = any(cell.lower().strip("*_` ").startswith(_IO_HEADERS) for cell in header)
    if mode == "examples" or looks_like_examples:
        for line, cells in rows:
            if header and any(header):
                text = " | ".join(f"{name}: {value}" for name, value in zip(header, cells, strict=False))
            else:
                text = " | ".join(cells)
            findings.examples.append((line, text))
    return index


def _is_field(line: str) -> bool:
    return bool(_FILES.match(line) or _DEPENDS.match(line) or _PRIORITY.match(line) or _PLAN.match(line))


def _fields(
    findings: _Findings, source: str, diagnostics: list[SpecDiagnostic]
) -> tuple[tuple[str, ...], tuple[str, ...], int, bool | None]:
    """``Files:``, ``Depends:``, ``Priority:`` and ``Plan:`` from paragraph lines (never from code blocks)."""
    files = tuple(files_hints("\n".join(line for _, line in findings.lines)))
    depends: list[str] = []
    priority: int | None = None
    plan: bool | None = None
    for number, line in findings.lines:
        plan_match = _PLAN.match(line)
        if plan_match and plan is None:
            plan = _plan(plan_match.group("value"), source, number, diagnostics)
            continue
        depends_match = _DEPENDS.match(line)
        if depends_match:
            for token in re.split(r"[,;\s]+", depends_match.group("ids")):
                name = token.strip("`*'\"()[]").rstrip(".:")
                if name and name.lower() not in _NOT_IDS and name not in depends:
                    depends.append(name)
            continue
        priority_match = _PRIORITY.match(line)
        if priority_match and priority is None:
            priority = _priority(priority_match.group("value"), source, number, diagnostics)
    return files, tuple(depends), DEFAULT_PRIORITY if priority is None else priority, plan


def _plan(value: str, source: str, line: int, diagnostics: list[SpecDiagnostic]) -> bool | None:
    """``Plan: yes`` asks for the architect's plan whatever the requirement's size, ``Plan: no`` never."""
    words = value.strip().strip("*_` ").split()
    word = words[0].strip("*_`.,;()").lower() if words else ""
    if word in _PLAN_WORDS:
        return _PLAN_WORDS[word]
    diagnostics.append(
        SpecDiagnostic(file=source, line=line, level="error", message=f"unknown plan {value.strip()!r}: use yes or no")
    )
    return None


def _priority(value: str, source: str, line: int, diagnostics: list[SpecDiagnostic]) -> int | None:
    """critical/P0 = 0 ... low/P3 = 3, or a small integer; anything else is an error and the default applies."""
    words = value.strip().strip("*_` ").split()
    word = words[0].strip("*_`.,;()").lower() if words else ""
    if word in _PRIORITY_WORDS:
        return _PRIORITY_WORDS[word]
    if word.isdigit() and len(word) == 1:
        return int(word)
    diagnostics.append(
        SpecDiagnostic(
            file=source,
            line=line,
            level="error",
            message=f"unknown priority {value.strip()!r}: use critical, high, medium, low, P0-P3 or 0-9",
        )
    )
    return None


def _content_hash(text: str, files: Sequence[str], depends: Sequence[str]) -> str:
    """What decides whether a requirement changed: its own text and its Files/Depends, not its line or context."""
    payload = "\0".join([text, "\n".join(files), "\n".join(depends)])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _example_lines(examples: Sequence[tuple[int, str]]) -> tuple[int, ...]:
    """The line each of the requirement's (unique) examples starts at, in the order of ``examples``."""
    first: dict[str, int] = {}
    for line, text in examples:
        first.setdefault(text, line)
    return tuple(first.values())


def _unique(items: Iterable[str]) -> Iterator[str]:
    seen: set[str] = set()
    for item in items:
        if item not in seen:
            seen.add(item)
            yield item


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob as Path.glob reads it (``**/`` is any number of directories, ``*`` stays within one)."""
    parts = re.split(r"(\*\*/|\*|\?)", pattern)
    translated = {"**/": "(?:.*/)?", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(translated.get(part, re.escape(part)) for part in parts))


def _note(source: str, line: int, message: str) -> SpecDiagnostic:
    return SpecDiagnostic(file=source, line=line, level="warning", message=message)
