"""SPEC.md without IDs as one requirement: free prose works, Files: hints are found, bad files get clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from autodev.errors import SpecError
from autodev.spec.model import Requirement
from autodev.spec.parser import load_specs, parse_spec_text
from autodev.spec.reader import files_hints

pytestmark = pytest.mark.req("SPEC-1")


def read_requirement(root: Path, spec: Path) -> Requirement:
    """The one requirement of a spec file without IDs, read the way a pass reads it."""
    (requirement,) = load_specs(root, [spec.relative_to(root).as_posix()]).requirements
    return requirement


def spec_title(text: str, fallback: str) -> str:
    (requirement,) = parse_spec_text(text, fallback)[0]
    return requirement.title


class TestReadRequirement:
    def test_free_prose_is_one_requirement(self, tmp_path: Path) -> None:
        """An exercise description with several sections is read whole, its first heading as title."""
        spec = tmp_path / "SPEC.md"
        spec.write_text("# Leap\n\n## Instructions\n\nA leap year...\n\n## Credit\n\nSomeone.\n", encoding="utf-8")
        requirement = read_requirement(tmp_path, spec)
        assert requirement.id == "SPEC.md"
        assert requirement.title == "Leap"
        assert "## Credit" in requirement.text
        assert requirement.files == ()
        assert len(requirement.content_hash) == 64

    def test_missing_spec_says_how_to_start(self, tmp_path: Path) -> None:
        """Without SPEC.md the error points at `autodev init`."""
        with pytest.raises(SpecError, match="autodev init"):
            read_requirement(tmp_path, tmp_path / "SPEC.md")

    def test_empty_spec_is_an_error(self, tmp_path: Path) -> None:
        """A blank spec cannot ask for anything."""
        (tmp_path / "SPEC.md").write_text("  \n\n", encoding="utf-8")
        with pytest.raises(SpecError, match="empty"):
            read_requirement(tmp_path, tmp_path / "SPEC.md")

    def test_binary_spec_is_an_error(self, tmp_path: Path) -> None:
        """A spec that is not UTF-8 is refused with the offset, not decoded into garbage."""
        (tmp_path / "SPEC.md").write_bytes(b"# Title\n\xff\xfe")
        with pytest.raises(SpecError, match="not UTF-8"):
            read_requirement(tmp_path, tmp_path / "SPEC.md")

    def test_crlf_is_normalised(self, tmp_path: Path) -> None:
        """Windows line endings do not leak into prompts."""
        (tmp_path / "SPEC.md").write_bytes(b"# T\r\n\r\nFiles: a.py\r\n")
        requirement = read_requirement(tmp_path, tmp_path / "SPEC.md")
        assert "\r" not in requirement.text
        assert requirement.files == ("a.py",)


class TestFilesHints:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("Files: temps.py", ["temps.py"]),
            ("Files: `temps.py`, `util/conv.py`", ["temps.py", "util/conv.py"]),
            ("- **Files:** a.py b.py.", ["a.py", "b.py"]),
            ("files: ./src/app.py", ["src/app.py"]),
            ("Files: a.py\n\nFiles: a.py, c.py", ["a.py", "c.py"]),
            ("These files: are fine", []),
            ("No hints here.", []),
        ],
    )
    def test_hint_forms(self, text: str, expected: list[str]) -> None:
        """Files: lines in the common Markdown forms give clean relative paths, in order, once each."""
        assert files_hints(text) == expected


class TestSpecTitle:
    def test_first_line_when_no_heading(self) -> None:
        """Prose without headings is titled by its first line."""
        assert spec_title("Convert temperatures.\nMore.", fallback="SPEC.md") == "Convert temperatures."

    def test_long_title_is_cut(self) -> None:
        """Commit subjects stay short."""
        assert len(spec_title("# " + "x" * 200, fallback="SPEC.md")) == 72
