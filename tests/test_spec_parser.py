"""Spec files into requirements: ID headings split a file, prose stays whole, bad input gets a clear SpecError."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autodev.errors import SpecError
from autodev.spec.model import Requirement
from autodev.spec.parser import (
    DEFAULT_SPEC_PATHS,
    MAX_CONTEXT_CHARS,
    MAX_SPEC_FILE_BYTES,
    is_default_spec,
    load_specs,
    parse_spec_text,
)

pytestmark = pytest.mark.req("SPEC-1")

SPEC = """\
# Dates

Shared intro for every requirement.

## Overview

Background the model should read.

## REQ-12: Parse dates

Parse ISO dates.

### Details

More about REQ-12.

### REQ-13: Reject bad months

Months above 12 are refused.

## FR-003 - Format dates

Format them back.
"""


def parse(text: str, source: str = "SPEC.md", *, default_spec: bool = True) -> list[Requirement]:
    requirements, _ = parse_spec_text(text, source, default_spec=default_spec)
    return requirements


def one(text: str) -> Requirement:
    requirements = parse(text)
    assert len(requirements) == 1
    return requirements[0]


class TestRequirementHeadings:
    def test_id_headings_split_a_file_in_order(self) -> None:
        """Each heading of level 2 or deeper with a leading ID is one requirement, with its line and title."""
        requirements = parse(SPEC)
        assert [(r.id, r.title, r.line) for r in requirements] == [
            ("REQ-12", "Parse dates", 9),
            ("REQ-13", "Reject bad months", 17),
            ("FR-003", "Format dates", 21),
        ]
        assert not any(r.whole_file for r in requirements)

    def test_nested_requirement_is_a_sub_requirement(self) -> None:
        """A requirement heading inside another has it as parent, and is not part of the parent's text."""
        parent, child, sibling = parse(SPEC)
        assert child.parent == "REQ-12"
        assert parent.parent is None and sibling.parent is None
        assert "Months above 12" not in parent.text
        assert child.text.startswith("### REQ-13: Reject bad months")

    def test_headings_without_id_describe_their_requirement(self) -> None:
        """An ID-less heading inside a requirement is part of its text."""
        parent = parse(SPEC)[0]
        assert "### Details" in parent.text
        assert "More about REQ-12." in parent.text

    def test_text_before_the_first_requirement_is_shared_context(self) -> None:
        """Every requirement of a file gets the text before its first requirement heading as context."""
        requirements = parse(SPEC)
        for requirement in requirements:
            assert requirement.context.startswith("# Dates")
            assert "Background the model should read." in requirement.context
            assert "Parse ISO dates" not in requirement.context

    def test_long_context_is_capped_with_a_note(self) -> None:
        """Context beyond the cap is cut at a line boundary, and the user is told."""
        preamble = "".join(f"line {n} of a long introduction\n" for n in range(400))
        requirements, diagnostics = parse_spec_text(preamble + "\n## REQ-1: Do it\n", "SPEC.md")
        assert len(requirements[0].context) <= MAX_CONTEXT_CHARS + 2
        assert requirements[0].context.endswith("\u2026")
        assert any("the model is given the first" in d.message for d in diagnostics)

    @pytest.mark.parametrize(
        ("heading", "expected_id", "expected_title"),
        [
            ("## REQ-12: Parse dates", "REQ-12", "Parse dates"),
            ("## FR-003", "FR-003", "FR-003"),
            ("### API-AUTH-7. Log in", "API-AUTH-7", "Log in"),
            ("## REQ-1.2: Sub numbering", "REQ-1.2", "Sub numbering"),
            ("## **REQ-4**: Bold", "REQ-4", "Bold"),
            ("## Parse dates {#parse-dates}", "parse-dates", "Parse dates"),
            ("Setext REQ-9 {#setext}\n---", "setext", "Setext REQ-9"),
        ],
    )
    def test_id_forms(self, heading: str, expected_id: str, expected_title: str) -> None:
        """A leading ``ABC-12`` token or a ``{#id}`` suffix makes a heading a requirement."""
        requirement = one(f"# Title\n\n{heading}\n\nBody.\n")
        assert (requirement.id, requirement.title) == (expected_id, expected_title)

    @pytest.mark.parametrize("heading", ["## UTF-8 handling", "## REQ-12a", "## req-12: lower case", "## See REQ-1"])
    def test_look_alikes_are_not_ids(self, heading: str) -> None:
        """An ID must lead the heading and end at a separator, so "UTF-8 handling" stays prose."""
        assert one(f"# T\n\n{heading}\n\nBody.\n").whole_file

    def test_id_inside_code_or_lists_is_not_a_heading(self) -> None:
        """The structure comes from the Markdown parser: a ``## REQ-1`` line in a fence or list item is text."""
        text = "# T\n\n```\n## REQ-1: not a heading\n```\n\n- ## REQ-2: in a list\n"
        assert one(text).whole_file

    def test_level_one_id_is_a_title_with_a_note(self) -> None:
        """``# REQ-1`` is the document title, not a requirement, and the note says to use ##."""
        requirements, diagnostics = parse_spec_text("# REQ-1: Title\n\nProse.\n", "SPEC.md")
        assert requirements[0].whole_file
        assert any("use ##" in d.message for d in diagnostics)

    def test_section_outside_every_requirement_gets_a_note(self) -> None:
        """An ID-less heading at a requirement's level after the requirements belongs to none: the user is told."""
        _, diagnostics = parse_spec_text("## REQ-1: A\n\nBody.\n\n## Glossary\n\nTerms.\n", "SPEC.md")
        assert [(d.line, d.level) for d in diagnostics] == [(5, "warning")]
        assert "Glossary" in diagnostics[0].message


class TestWholeFile:
    EXERCISE = (
        "# Leap\n\n## Instructions\n\nGiven a year, report if it is a leap year.\n\n"
        "## Examples\n\n- 1997 -> False\n- 2000 -> True\n\n## Exception messages\n\nRaise ValueError.\n\n"
        "## Credit\n\nSomeone.\n"
    )

    def test_prose_without_ids_is_one_requirement(self) -> None:
        """An exercise description stays one requirement named by the file, titled by its first heading."""
        requirement = one(self.EXERCISE)
        assert requirement.whole_file
        assert (requirement.id, requirement.title, requirement.line) == ("SPEC.md", "Leap", 1)
        assert "## Credit" in requirement.text and "## Exception messages" in requirement.text
        assert requirement.context == ""

    def test_several_sections_get_a_note(self) -> None:
        """spec check says a multi-section file without IDs is one requirement and how to split it."""
        _, diagnostics = parse_spec_text(self.EXERCISE, "SPEC.md")
        assert [d.message for d in diagnostics] == ["treated as one requirement; add IDs to split it"]

    def test_single_section_gets_no_note(self) -> None:
        """A short spec with one heading is not worth a note."""
        assert parse_spec_text("# Leap\n\nA leap year.\n", "SPEC.md")[1] == []

    def test_criteria_and_examples_are_found_in_prose(self) -> None:
        """The whole file is still read for examples and fields."""
        requirement = one(self.EXERCISE + "\nFiles: leap.py\n")
        assert requirement.examples == ("1997 -> False", "2000 -> True")
        assert requirement.files == ("leap.py",)

    def test_title_falls_back_to_the_first_line(self) -> None:
        """Without a heading the first line is the title, capped like a commit subject."""
        assert one("Write a function.\nMore.\n").title == "Write a function."
        assert len(one("x" * 200).title) == 72

    def test_context_document_without_ids_gives_nothing(self) -> None:
        """A non-default document (README) without IDs is context, not a requirement."""
        assert parse_spec_text("# Readme\n\nAbout.\n", "README.md", default_spec=False) == ([], [])

    def test_context_document_with_ids_gives_requirements(self) -> None:
        """A non-default document with requirement headings is read for them."""
        requirements = parse("# Readme\n\n## REQ-1: Install\n\nSteps.\n", "README.md", default_spec=False)
        assert [r.id for r in requirements] == ["REQ-1"]


class TestCriteria:
    def test_list_after_an_acceptance_line(self) -> None:
        """Items of the list right after an "Acceptance criteria:" line are criteria (checkboxes removed)."""
        text = "## REQ-1: A\n\nAcceptance criteria:\n- [ ] parses `1`\n- rejects `x`\n  over two lines\n\n- other\n"
        requirement = one(text)
        assert requirement.criteria == ("parses `1`", "rejects `x` over two lines", "other")

    def test_lists_under_an_acceptance_heading(self) -> None:
        """Under an "Acceptance" heading every list item is a criterion, nested ones too."""
        text = "## REQ-1: A\n\n### Acceptance\n\n1. first\n   - nested\n\nProse.\n\n- second\n"
        assert one(text).criteria == ("first", "nested", "second")

    def test_lists_elsewhere_are_description(self) -> None:
        """A list not announced as acceptance criteria stays description."""
        text = "## REQ-1: A\n\nNotes:\n- one\n\nAcceptance criteria:\n\nSome prose first.\n\n- two\n"
        assert one(text).criteria == ()

    def test_ears_lines(self) -> None:
        """``WHEN ... THE SYSTEM SHALL ...`` lines are criteria, one each."""
        text = "## REQ-1: A\n\nIntro.\nWHEN the input is empty THE SYSTEM SHALL raise ValueError\n"
        text += "\nThe parser shall keep the order.\n"
        assert one(text).criteria == (
            "WHEN the input is empty THE SYSTEM SHALL raise ValueError",
            "The parser shall keep the order.",
        )

    def test_given_when_then_lines(self) -> None:
        """Consecutive Given/When/Then lines are one criterion; a lone "When ..." sentence is not."""
        text = (
            "## REQ-1: A\n\nGiven a list\nAnd it is empty\nWhen it is summed\nThen the result is 0\n\n"
            "When in doubt, ask.\n\nGiven x, when y, then z.\n"
        )
        assert one(text).criteria == (
            "Given a list\nAnd it is empty\nWhen it is summed\nThen the result is 0",
            "Given x, when y, then z.",
        )

    def test_gherkin_fence(self) -> None:
        """A ``gherkin`` code block's scenario is a criterion."""
        text = "## REQ-1: A\n\n```gherkin\nScenario: empty\n  Given nothing\n  When summed\n  Then 0\n```\n"
        assert one(text).criteria == ("Given nothing\nWhen summed\nThen 0",)


class TestExamples:
    def test_doctest_fence(self) -> None:
        """A code block with ``>>>`` lines is one example."""
        text = "## REQ-1: A\n\n```python\n>>> add(1, 2)\n3\n```\n\n```python\nplain = 1\n```\n"
        assert one(text).examples == (">>> add(1, 2)\n3",)

    def test_arrow_lines_and_rows(self) -> None:
        """``input -> output`` lines in prose, lists and all-arrow code blocks are examples; field lines are not."""
        text = "## REQ-1: A\n\n`f(1)` -> `2`\n\n- f(2) => 4\n\n```\nf(3) -> 6\nf(4) → 8\n```\n\nDepends: A -> B\n"
        assert one(text).examples == ("`f(1)` -> `2`", "f(2) => 4", "f(3) -> 6", "f(4) → 8")

    def test_examples_table(self) -> None:
        """Rows of a table under an Examples heading are examples, each naming its columns."""
        text = "## REQ-1: A\n\n### Examples\n\n| year | leap |\n|---|---|\n| 1996 | yes |\n| 1997 | no |\n"
        assert one(text).examples == ("year: 1996 | leap: yes", "year: 1997 | leap: no")

    def test_table_with_an_expected_column(self) -> None:
        """A table with an output/expected column is an examples table wherever it is."""
        text = (
            "## REQ-1: A\n\n| input | expected |\n|---|---|\n| `1` | `2` |\n\n| name | role |\n|---|---|\n| a | b |\n"
        )
        assert one(text).examples == ("input: `1` | expected: `2`",)

    def test_code_after_an_examples_line(self) -> None:
        """Any code block announced by an "Examples:" line is an example."""
        text = "## REQ-1: A\n\nExamples:\n\n```\nrun it\n```\n"
        assert one(text).examples == ("run it",)


class TestFields:
    def test_files_depends_priority(self) -> None:
        """``Files:``, ``Depends:`` and ``Priority:`` lines are read, in list items or paragraphs."""
        text = "## REQ-1: A\n\nFiles: `a.py`, b/c.py\n- Depends on: REQ-2, `REQ-3` REQ-2 and none\n- **Priority:** P0\n"
        requirement = one(text)
        assert requirement.files == ("a.py", "b/c.py")
        assert requirement.depends == ("REQ-2", "REQ-3")
        assert requirement.priority == 0

    @pytest.mark.parametrize(
        ("value", "expected"),
        [("critical", 0), ("High", 1), ("medium", 2), ("low", 3), ("P1", 1), ("p3", 3), ("7", 7), ("`high`", 1)],
    )
    def test_priority_values(self, value: str, expected: int) -> None:
        """Words, P0-P3 and small integers are priorities."""
        assert one(f"## REQ-1: A\n\nPriority: {value}\n").priority == expected

    def test_unknown_priority_is_an_error_and_the_default_applies(self) -> None:
        """An unreadable priority is reported at its line and does not change the order."""
        requirements, diagnostics = parse_spec_text("## REQ-1: A\n\nPriority: urgent\n", "SPEC.md")
        assert requirements[0].priority == 2
        assert [(d.line, d.level) for d in diagnostics] == [(3, "error")]
        assert "urgent" in diagnostics[0].message

    def test_fields_in_code_blocks_are_ignored(self) -> None:
        """A ``Depends:`` line inside a code sample is not a dependency."""
        assert one("## REQ-1: A\n\n```\nDepends: REQ-9\nFiles: x.py\n```\n").depends == ()

    def test_fields_belong_to_their_own_requirement(self) -> None:
        """A sub-requirement's Files and Depends are not its parent's."""
        parent, child = parse("## REQ-1: A\n\nFiles: a.py\n\n### REQ-2: B\n\nFiles: b.py\nDepends: REQ-1\n")
        assert (parent.files, parent.depends) == (("a.py",), ())
        assert (child.files, child.depends) == (("b.py",), ("REQ-1",))


class TestContentHash:
    def test_crlf_does_not_change_anything(self) -> None:
        """Windows line endings give the same requirements, hashes and lines as Unix ones."""
        assert parse(SPEC.replace("\n", "\r\n")) == parse(SPEC)

    def test_hash_follows_own_text_files_and_depends_only(self) -> None:
        """Editing one requirement, or the shared context, changes only what it should."""
        base = {r.id: r.content_hash for r in parse(SPEC)}
        edited = {r.id: r.content_hash for r in parse(SPEC.replace("Format them back.", "Format them."))}
        assert base["REQ-12"] == edited["REQ-12"] and base["FR-003"] != edited["FR-003"]
        moved = {r.id: r.content_hash for r in parse(SPEC.replace("Shared intro", "\n\nAnother intro"))}
        assert moved == base
        with_files = one("## REQ-1: A\n\nFiles: a.py\n").content_hash
        assert with_files != one("## REQ-1: A\n\nFiles: b.py\n").content_hash


class TestBadInput:
    def test_empty_text_is_skipped_with_a_note(self) -> None:
        """A blank spec file gives no requirement and a note, not an error."""
        requirements, diagnostics = parse_spec_text(" \r\n\n", "specs/empty.md")
        assert requirements == []
        assert [str(d) for d in diagnostics] == ["specs/empty.md:1: warning: empty spec file; skipped"]

    def test_punctuation_only_headings(self) -> None:
        """Headings made of punctuation are ordinary headings; empty ID titles fall back to the ID."""
        assert one("## !!!\n\n### ---\n\nText.\n").title == "!!!"
        assert one("## REQ-1: ...\n").title == "REQ-1"
        assert one("#\n\n##\n\ntext\n").title == "text"

    def test_oversized_text_is_a_spec_error(self) -> None:
        """Text over the limit is refused with the file name and the limit."""
        with pytest.raises(SpecError, match=rf"big\.md: .* at most {MAX_SPEC_FILE_BYTES}"):
            parse_spec_text("a" * (MAX_SPEC_FILE_BYTES + 1), "big.md")

    def test_deep_nesting_is_a_spec_error_with_a_line(self) -> None:
        """Lists nested past the parser's limit are refused at their line rather than half read."""
        text = "## REQ-1: A\n\n" + "".join("  " * depth + "- item\n" for depth in range(80))
        with pytest.raises(SpecError, match=r"^SPEC\.md:\d+: lists or quotes nested more than 50 levels"):
            parse_spec_text(text, "SPEC.md")

    def test_moderate_nesting_parses(self) -> None:
        """Twenty levels of lists and quotes are ordinary input."""
        text = "## REQ-1: A\n\n" + "".join("  " * depth + "- item\n" for depth in range(20)) + ">" * 20 + " q\n"
        text += "\n## REQ-2: B\n"
        assert [r.id for r in parse(text)] == ["REQ-1", "REQ-2"]

    def test_nul_and_byte_order_mark(self) -> None:
        """A leading BOM is dropped and NUL characters cannot break the parser."""
        requirement = one("\ufeff## REQ-1: A\x00b\n")
        assert (requirement.id, requirement.line) == ("REQ-1", 1)

    def test_lone_surrogates_are_replaced(self) -> None:
        """A str built in memory may hold lone surrogates; they become U+FFFD instead of breaking the hash."""
        assert one("## REQ-1: A\ud800\n").title == "A\ufffd"


def write(root: Path, relative: str, content: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


class TestLoadSpecs:
    def test_default_paths_sorted(self, tmp_path: Path) -> None:
        """SPEC.md, requirements.md and specs/**/*.md are read, files sorted by path."""
        write(tmp_path, "specs/b/deep.md", "## REQ-3: C\n")
        write(tmp_path, "specs/a.md", "## REQ-2: B\n")
        write(tmp_path, "SPEC.md", "## REQ-1: A\n")
        write(tmp_path, "requirements.md", "## REQ-4: D\n")
        write(tmp_path, "README.md", "## REQ-5: not read by default\n")
        specs = load_specs(tmp_path)
        assert [(r.source, r.id) for r in specs.requirements] == [
            ("SPEC.md", "REQ-1"),
            ("requirements.md", "REQ-4"),
            ("specs/a.md", "REQ-2"),
            ("specs/b/deep.md", "REQ-3"),
        ]
        assert specs.context_files == []

    def test_configured_paths_and_context_documents(self, tmp_path: Path) -> None:
        """Other documents named in paths are context unless they hold requirement headings; overlaps count once."""
        write(tmp_path, "SPEC.md", "# Leap\n\nProse.\n")
        write(tmp_path, "README.md", "# About\n\nJust context.\n")
        write(tmp_path, "docs/api.md", "## API-1: Endpoint\n")
        write(tmp_path, "docs/empty.md", "")
        specs = load_specs(tmp_path, ["SPEC.md", "README.md", "docs/*.md", "*.md"])
        assert [r.id for r in specs.requirements] == ["SPEC.md", "API-1"]
        assert specs.context_files == ["README.md"]

    def test_git_and_autodev_directories_are_ignored(self, tmp_path: Path) -> None:
        """Spec-looking files under .git or .autodev are never read."""
        write(tmp_path, "SPEC.md", "## REQ-1: A\n")
        write(tmp_path, ".autodev/specs/x.md", "## REQ-1: copy\n")
        write(tmp_path, ".git/specs/y.md", "## REQ-1: copy\n")
        specs = load_specs(tmp_path, [*DEFAULT_SPEC_PATHS, "**/*.md"])
        assert [r.source for r in specs.requirements] == ["SPEC.md"]

    def test_duplicate_ids_name_both_places(self, tmp_path: Path) -> None:
        """An ID used in two files is a SpecError naming both file:line places."""
        write(tmp_path, "SPEC.md", "# T\n\n## REQ-1: A\n")
        write(tmp_path, "specs/more.md", "## REQ-2: B\n\n## REQ-1: again\n")
        with pytest.raises(
            SpecError, match=r"specs/more\.md:3: error: duplicate requirement ID REQ-1 \(first defined at SPEC\.md:3\)"
        ):
            load_specs(tmp_path)

    def test_not_utf8_names_file_and_line(self, tmp_path: Path) -> None:
        """A spec in another encoding is refused at its line."""
        write(tmp_path, "SPEC.md", b"## REQ-1: A\n\ncaf\xe9\n")
        with pytest.raises(SpecError, match=r"^SPEC\.md:3: not UTF-8"):
            load_specs(tmp_path)

    def test_binary_file_named_md(self, tmp_path: Path) -> None:
        """A binary file with a .md name is refused, not parsed into garbage."""
        write(tmp_path, "specs/image.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
        with pytest.raises(SpecError, match=r"^specs/image\.md:\d+: binary data"):
            load_specs(tmp_path)

    def test_oversized_file_names_file_and_limit(self, tmp_path: Path) -> None:
        """A 50 MB spec is refused before it is read, naming the file and the 5 MB limit."""
        with (tmp_path / "SPEC.md").open("wb") as handle:
            handle.truncate(50_000_000)
        with pytest.raises(SpecError, match=r"^SPEC\.md: 50000000 bytes; .* at most 5000000 \(5 MB\)"):
            load_specs(tmp_path)

    def test_unreadable_file(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A file that cannot be opened (permissions, I/O error) is a SpecError, not a traceback."""
        write(tmp_path, "SPEC.md", "## REQ-1: A\n")

        def refuse(self: Path) -> bytes:
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(Path, "read_bytes", refuse)
        with pytest.raises(SpecError, match=r"^SPEC\.md: cannot be read \(Permission denied\)"):
            load_specs(tmp_path)

    def test_empty_file_is_skipped_with_a_note(self, tmp_path: Path) -> None:
        """An empty spec file next to real ones is skipped and noted."""
        write(tmp_path, "SPEC.md", "")
        write(tmp_path, "specs/a.md", "## REQ-1: A\n")
        specs = load_specs(tmp_path)
        assert [r.id for r in specs.requirements] == ["REQ-1"]
        assert [str(d) for d in specs.diagnostics] == ["SPEC.md:1: warning: empty spec file; skipped"]

    @pytest.mark.parametrize("files", [{}, {"SPEC.md": "\n\n"}, {"README.md": "# Only context\n"}])
    def test_no_requirement_at_all(self, tmp_path: Path, files: dict[str, str]) -> None:
        """Without any requirement the error tells the user to write SPEC.md."""
        for relative, content in files.items():
            write(tmp_path, relative, content)
        with pytest.raises(SpecError, match=r"write what you want in SPEC\.md"):
            load_specs(tmp_path, [*DEFAULT_SPEC_PATHS, "README.md"])

    def test_absolute_pattern_is_a_spec_error(self, tmp_path: Path) -> None:
        """A path outside the project cannot be configured."""
        with pytest.raises(SpecError, match="relative to the project"):
            load_specs(tmp_path, ["/etc/*.md"])


class TestIsDefaultSpec:
    @pytest.mark.parametrize(
        ("path", "expected"),
        [
            ("SPEC.md", True),
            ("requirements.md", True),
            ("specs/a.md", True),
            ("specs/x/y/z.md", True),
            ("README.md", False),
            ("docs/SPEC.md", False),
            ("specs/a.txt", False),
        ],
    )
    def test_default_spec_paths(self, path: str, expected: bool) -> None:
        """Only the default spec paths make a file without IDs a whole-file requirement."""
        assert is_default_spec(path) is expected


_ID_HEADING = st.builds(
    lambda level, prefix, number, title: f"{'#' * level} {prefix}-{number}: {title}",
    st.integers(1, 6),
    st.sampled_from(["REQ", "FR", "A"]),
    st.integers(0, 5),
    st.text(max_size=10),
)
_LINE = st.one_of(
    _ID_HEADING,
    st.builds(lambda level, title: f"{'#' * level} {title}", st.integers(1, 7), st.text(max_size=12)),
    st.builds(lambda level, mark: f"{'#' * level} {mark}", st.integers(1, 3), st.text("!?.-*_#{}", max_size=6)),
    st.builds(lambda title, tag: f"## {title} {{#{tag}}}", st.text(max_size=8), st.text("ab-_1", max_size=4)),
    st.builds(lambda depth, text: "  " * depth + f"- {text}", st.integers(0, 60), st.text(max_size=12)),
    st.builds(lambda depth: ">" * depth + " quoted", st.integers(1, 120)),
    st.sampled_from(
        [
            "```",
            "```python",
            ">>> f(1)",
            "| input | expected |",
            "|---|---|",
            "| 1 | 2 |",
            "Acceptance criteria:",
            "### Examples",
            "WHEN x THE SYSTEM SHALL y",
            "Given a",
            "When b",
            "Then c",
            "f(1) -> 2",
            "Files: a.py",
            "Depends: REQ-1, REQ-2",
            "Priority: high",
            "Priority: ???",
            "",
            "---",
            "===",
            "    indented code",
            "<div>",
        ]
    ),
    st.text(max_size=30),
)


class TestParserProperty:
    @settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(lines=st.lists(_LINE, max_size=25), crlf=st.booleans(), default_spec=st.booleans())
    def test_generated_specs(self, lines: list[str], crlf: bool, default_spec: bool) -> None:
        """On 1,000 generated specs the parser raises nothing but SpecError and gives the same answer twice."""
        text = ("\r\n" if crlf else "\n").join(lines)
        try:
            first = parse_spec_text(text, "SPEC.md", default_spec=default_spec)
        except SpecError:
            with pytest.raises(SpecError):
                parse_spec_text(text, "SPEC.md", default_spec=default_spec)
            return
        assert parse_spec_text(text, "SPEC.md", default_spec=default_spec) == first
        requirements, diagnostics = first
        line_count = text.count("\n") + text.count("\r") - text.count("\r\n") + 1
        seen: set[str] = set()
        for requirement in requirements:
            assert 1 <= requirement.line <= line_count
            assert requirement.parent is None or requirement.parent in seen
            seen.add(requirement.id)
        if default_spec and text.strip(" \r\n\t\f\v"):
            assert requirements or diagnostics
        assert all(d.level in ("error", "warning") for d in diagnostics)
