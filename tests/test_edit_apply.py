"""File edits applied to the files' current text: SEARCH/REPLACE found exactly or loosely, or a usable reason."""

from __future__ import annotations

import pytest

from autodev.errors import EditRejectedError
from autodev.synth.apply import apply_edits
from autodev.synth.edit import MAX_FILE_CHARS, FileEdit

pytestmark = pytest.mark.req("CORE-3")

TEMPS = """\
def celsius_to_fahrenheit(celsius):
    return celsius * 9 / 5 + 32


def fahrenheit_to_celsius(fahrenheit):
    return (fahrenheit - 32) * 5 / 9
"""


def whole(path: str, content: str) -> FileEdit:
    return FileEdit(path=path, kind="whole", content=content)


def replace(path: str, search: str, new: str) -> FileEdit:
    return FileEdit(path=path, kind="replace", search=search, replace=new)


class TestApplyEdits:
    """apply_edits(edits, read_current): the new full text of every edited file."""

    def test_writes_whole_files_new_and_existing(self) -> None:
        """A whole-file edit gives its content, whether or not the file exists."""
        current = {"old.py": "X = 1\n"}
        result = apply_edits([whole("new.py", "A = 1\n"), whole("old.py", "X = 2\n")], current.get)
        assert result == {"new.py": "A = 1\n", "old.py": "X = 2\n"}

    def test_replaces_an_exact_match(self) -> None:
        """The SEARCH lines are replaced where they are, and nothing else changes."""
        result = apply_edits(
            [replace("temps.py", "    return celsius * 9 / 5 + 32\n", "    return celsius * 1.8 + 32\n")],
            {"temps.py": TEMPS}.get,
        )
        assert result == {"temps.py": TEMPS.replace("celsius * 9 / 5", "celsius * 1.8")}

    def test_ignores_trailing_whitespace(self) -> None:
        """Trailing spaces the model dropped (or added) do not stop the match."""
        current = "def f():   \n    return 1  \n"
        result = apply_edits(
            [replace("m.py", "def f():\n    return 1\n", "def f():\n    return 2\n")], {"m.py": current}.get
        )
        assert result == {"m.py": "def f():\n    return 2\n"}

    def test_reindents_when_the_search_lost_its_indentation(self) -> None:
        """A method quoted at column 0 matches the indented method, and the replacement is indented alike."""
        current = "class T:\n    def f(self):\n        return 1\n\n    def g(self):\n        return 3\n"
        edit = replace("m.py", "def f(self):\n    return 1\n", "def f(self):\n    x = 2\n    return x\n")
        result = apply_edits([edit], {"m.py": current}.get)
        expected = (
            "class T:\n    def f(self):\n        x = 2\n        return x\n" + current[current.index("\n\n") + 1 :]
        )
        assert result == {"m.py": expected}

    def test_dedents_when_the_search_has_extra_indentation(self) -> None:
        """SEARCH lines indented more than the file still match, and the replacement loses the same amount."""
        current = "def f():\n    return 1\n"
        edit = replace("m.py", "    def f():\n        return 1\n", "    def f():\n        return 2\n")
        assert apply_edits([edit], {"m.py": current}.get) == {"m.py": "def f():\n    return 2\n"}

    def test_ignores_blank_lines_around_the_search(self) -> None:
        """Blank lines the model put around its SEARCH text do not stop the match."""
        current = "A = 1\nB = 2\nC = 3\n"
        edit = replace("m.py", "\nB = 2\n\n", "\nB = 20\n\n")
        assert apply_edits([edit], {"m.py": current}.get) == {"m.py": "A = 1\nB = 20\nC = 3\n"}

    def test_prefers_an_exact_match_to_a_loose_one(self) -> None:
        """An exact match wins even where ignoring whitespace would match twice."""
        current = "x = 1   \nx = 1\n"
        assert apply_edits([replace("m.py", "x = 1\n", "x = 2\n")], {"m.py": current}.get) == {
            "m.py": "x = 1   \nx = 2\n"
        }

    def test_rejects_search_text_that_is_not_there(self) -> None:
        """A SEARCH that matches nowhere names the file, quotes the text and says how to fix it."""
        edit = replace("temps.py", "def kelvin(k):\n    return k - 273.15\n" + "pass\n" * 5, "")
        with pytest.raises(EditRejectedError) as caught:
            apply_edits([edit], {"temps.py": TEMPS}.get)
        message = str(caught.value)
        assert "The SEARCH text for temps.py was not found" in message
        assert "'def kelvin(k):'" in message
        assert "(and 4 more lines)" in message
        assert "Copy the lines exactly" in message
        assert "send the whole file" in message

    def test_rejects_search_text_found_twice(self) -> None:
        """An ambiguous SEARCH asks for more context instead of guessing."""
        current = "def f():\n    return 1\n\n\ndef g():\n    return 1\n"
        with pytest.raises(EditRejectedError, match=r"matches 2 places \(lines 2, 6\).*more of the surrounding lines"):
            apply_edits([replace("m.py", "    return 1\n", "    return 2\n")], {"m.py": current}.get)

    def test_rejects_search_in_a_missing_file(self) -> None:
        """A SEARCH on a file that does not exist asks for the whole file instead."""
        with pytest.raises(EditRejectedError, match=r"new\.py does not exist.*complete content"):
            apply_edits([replace("new.py", "X = 1\n", "X = 2\n")], {}.get)

    def test_empty_search_creates_or_appends(self) -> None:
        """An empty SEARCH creates a missing file and appends to an existing one, as Aider does."""
        current = {"old.py": "A = 1"}
        edits = [replace("new.py", "", "B = 1\n"), replace("old.py", "", "C = 1\n")]
        assert apply_edits(edits, current.get) == {"new.py": "B = 1\n", "old.py": "A = 1\nC = 1\n"}

    def test_applies_edits_to_one_path_in_order(self) -> None:
        """Several edits to one file build on each other; the result lists files in first-seen order."""
        calls: list[str] = []

        def read(path: str) -> str | None:
            calls.append(path)
            return {"b.py": "B = 1\n"}.get(path)

        edits = [
            whole("a.py", "A = 1\nZ = 0\n"),
            replace("b.py", "B = 1\n", "B = 2\n"),
            replace("a.py", "A = 1\n", "A = 3\n"),
            replace("a.py", "Z = 0\n", "Z = 9\n"),
        ]
        result = apply_edits(edits, read)
        assert list(result) == ["a.py", "b.py"]
        assert result == {"a.py": "A = 3\nZ = 9\n", "b.py": "B = 2\n"}
        assert calls == ["a.py", "b.py"]

    def test_keeps_the_files_trailing_newline_or_its_absence(self) -> None:
        """A file without a final newline keeps lacking one; one with it keeps it."""
        edits = [replace("a.py", "A = 1\n", "A = 2\n"), replace("b.py", "B = 1\n", "B = 2\n")]
        result = apply_edits(edits, {"a.py": "X = 0\nA = 1", "b.py": "B = 1\n"}.get)
        assert result == {"a.py": "X = 0\nA = 2", "b.py": "B = 2\n"}

    def test_keeps_crlf_line_endings(self) -> None:
        """A CRLF file matches LF SEARCH text and is written back with CRLF."""
        result = apply_edits([replace("w.py", "A = 1\n", "A = 2\n")], {"w.py": "A = 1\r\nB = 1\r\n"}.get)
        assert result == {"w.py": "A = 2\r\nB = 1\r\n"}

    def test_rejects_a_result_over_the_size_limit(self) -> None:
        """Edits cannot grow a file past MAX_FILE_CHARS."""
        big = "x" * (MAX_FILE_CHARS - 5) + "\n"
        with pytest.raises(EditRejectedError, match="over the limit of 150,000"):
            apply_edits([replace("m.py", "", "y = 1234567\n")], {"m.py": big}.get)
