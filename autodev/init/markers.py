"""Register the ``req`` marker for the user's own pytest, so `@pytest.mark.req("ID")` warns of nothing.

Without it a plain ``pytest`` prints PytestUnknownMarkWarning for every marked test, and a project with
``--strict-markers`` fails to collect. The marker goes into the pytest configuration the project already has
(the file pytest itself would read), and only by inserting a line whose effect is checked by parsing the file
again: everything else must parse exactly as before, or the file is left alone and the user is told the line.
A project with no pytest configuration gets a ``pytest.ini`` of three settings, or, when it has a
pyproject.toml, a ``[tool.pytest.ini_options]`` table in it (a new pytest.ini there would silently win over
pytest settings added to pyproject.toml later). Not a conftest.py: pytest started inside tests/ (an editor
running one file, say) finds a configuration file upward, but never loads the root's conftest.py.
"""

from __future__ import annotations

import configparser
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict

from autodev.fileio import atomic_write

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

MARKER: Final = "req(id): the requirement of SPEC.md that a test proves (autodev)"
NEW_PYTEST_INI: Final = (
    '# pytest settings. autodev\'s tests mark the requirement they prove: @pytest.mark.req("ID").\n'
    "# pytest reads this file before pyproject.toml: keep further pytest settings here.\n"
    "[pytest]\n"
    "testpaths = tests\n"
    "pythonpath = .\n"
    "markers =\n"
    f"    {MARKER}\n"
)
_REQ: Final = re.compile(r"^\s*req\b")

MarkerAction = Literal["present", "created", "added", "manual"]


class MarkerOutcome(BaseModel):
    """Where the marker is registered now, or the exact line the user has to add (``action`` "manual")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: MarkerAction
    file: str
    instruction: str = ""

    def line(self) -> str:
        if self.action == "present":
            return f"the req marker is already registered in {self.file}"
        if self.action == "created":
            return f"created {self.file} (registers the req pytest marker)"
        if self.action == "added":
            return f"registered the req pytest marker in {self.file}"
        return f"register the req pytest marker yourself: {self.instruction}"


class _IniConfig(BaseModel):
    name: str
    section: str


class _TomlConfig(BaseModel):
    name: str
    table: tuple[str, ...]


# pytest's own order of precedence among the files of one directory (pytest.toml is pytest 9's).
_CANDIDATES: Final[tuple[_IniConfig | _TomlConfig, ...]] = (
    _TomlConfig(name="pytest.toml", table=("pytest",)),
    _TomlConfig(name=".pytest.toml", table=("pytest",)),
    _IniConfig(name="pytest.ini", section="pytest"),
    _IniConfig(name=".pytest.ini", section="pytest"),
    _TomlConfig(name="pyproject.toml", table=("tool", "pytest", "ini_options")),
    _TomlConfig(name="pyproject.toml", table=("tool", "pytest")),
    _IniConfig(name="tox.ini", section="pytest"),
    _IniConfig(name="setup.cfg", section="tool:pytest"),
)


def register_req_marker(root: Path) -> MarkerOutcome:
    """Make the project's pytest know the req marker, touching the file pytest reads, or say how to."""
    for candidate in _CANDIDATES:
        path = root / candidate.name
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if isinstance(candidate, _IniConfig):
            outcome = _ini(path, text, candidate.section, always=candidate.name.endswith("pytest.ini"))
        else:
            outcome = _toml(path, text, candidate.table, always=candidate.name.endswith("pytest.toml"))
        if outcome is not None:
            return outcome
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        return _append_toml_table(pyproject)
    atomic_write(root / "pytest.ini", NEW_PYTEST_INI.encode("utf-8"))
    return MarkerOutcome(action="created", file="pytest.ini")


# ----------------------------------------------------------------------------------------------- ini


def _read_ini(text: str) -> configparser.RawConfigParser | None:
    parser = configparser.RawConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return None
    return parser


def _ini(path: Path, text: str, section: str, *, always: bool) -> MarkerOutcome | None:
    """None when this file is no pytest configuration (tox.ini without [pytest]); pytest.ini always is one."""
    manual = MarkerOutcome(
        action="manual", file=path.name, instruction=f"in [{section}] of {path.name}, add to `markers =`:  {MARKER}"
    )
    parser = _read_ini(text)
    if parser is None:
        return manual
    if not parser.has_section(section):
        return manual if always else None
    markers = parser.get(section, "markers", fallback="")
    if any(_REQ.match(line) for line in markers.splitlines()):
        return MarkerOutcome(action="present", file=path.name)
    lines = text.splitlines(keepends=True)
    new_text = _ini_with_marker(lines, section, parser.has_option(section, "markers"))
    expected = _ini_section(text, section) or {}
    expected["markers"] = (*expected.get("markers", ()), MARKER)
    return _checked_write(path, text, new_text, lambda candidate: _ini_section(candidate, section) == expected, manual)


def _ini_with_marker(lines: list[str], section: str, has_markers: bool) -> str | None:
    header = next((i for i, line in enumerate(lines) if line.strip() == f"[{section}]"), None)
    if header is None:
        return None
    end = next((i for i in range(header + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
    if not has_markers:
        return "".join([*lines[: header + 1], "markers =\n", f"    {MARKER}\n", *lines[header + 1 :]])
    start = next((i for i in range(header + 1, end) if re.match(r"markers\s*[=:]", lines[i])), None)
    if start is None:
        return None
    last = start
    for i in range(start + 1, end):
        if lines[i].strip() and lines[i][0] in " \t":
            last = i
        elif lines[i].strip():
            break
    before = lines[: last + 1]
    if not before[-1].endswith("\n"):
        before[-1] += "\n"
    return "".join([*before, f"    {MARKER}\n", *lines[last + 1 :]])


def _ini_section(text: str, section: str) -> dict[str, tuple[str, ...]] | None:
    """The section's settings, each as its non-empty lines: what pytest makes of a line-list setting."""
    parser = _read_ini(text)
    if parser is None or not parser.has_section(section):
        return None
    return {
        key: tuple(line.strip() for line in value.splitlines() if line.strip()) for key, value in parser.items(section)
    }


# ---------------------------------------------------------------------------------------------- toml


def _toml(path: Path, text: str, table: tuple[str, ...], *, always: bool) -> MarkerOutcome | None:
    header = f"[{'.'.join(table)}]"
    manual = MarkerOutcome(
        action="manual", file=path.name, instruction=f'in {header} of {path.name}, add to markers:  "{MARKER}"'
    )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return manual if always else None
    found = _lookup(data, table)
    if found is None:
        return manual if always else None
    markers = found.get("markers", [])
    if isinstance(markers, list) and any(isinstance(m, str) and _REQ.match(m) for m in markers):
        return MarkerOutcome(action="present", file=path.name)
    if "markers" in found:
        return manual  # a list of any shape, perhaps over several lines: not edited
    lines = text.splitlines(keepends=True)
    index = next((i for i, line in enumerate(lines) if line.strip() == header), None)
    if index is None:
        return manual  # defined with dotted keys or inline: not edited
    new_text = "".join([*lines[: index + 1], f'markers = ["{MARKER}"]\n', *lines[index + 1 :]])
    expected = _with_markers(data, table)
    return _checked_write(path, text, new_text, lambda candidate: _parse_toml(candidate) == expected, manual)


def _append_toml_table(path: Path) -> MarkerOutcome:
    """A pyproject.toml without pytest settings gets a new table at its end, if that parses as intended."""
    text = path.read_text(encoding="utf-8", errors="replace")
    table = ("tool", "pytest", "ini_options")
    manual = MarkerOutcome(
        action="manual",
        file=path.name,
        instruction=f'add to {path.name}:  [tool.pytest.ini_options] markers = ["{MARKER}"]',
    )
    data = _parse_toml(text)
    if data is None:
        return manual
    separator = "" if not text or text.endswith("\n") else "\n"
    new_text = f'{text}{separator}\n[tool.pytest.ini_options]\nmarkers = ["{MARKER}"]\n'
    expected = _with_markers(data, table)
    return _checked_write(path, text, new_text, lambda candidate: _parse_toml(candidate) == expected, manual)


def _parse_toml(text: str) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None
    return data


def _lookup(data: dict[str, Any], table: tuple[str, ...]) -> dict[str, Any] | None:
    node: Any = data
    for key in table:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, dict) else None


def _with_markers(data: dict[str, Any], table: tuple[str, ...]) -> dict[str, Any]:
    """``data`` with ``markers = [MARKER]`` set in ``table`` (made as needed), the rest deep-copied."""
    copy: dict[str, Any] = {key: _deep(value) for key, value in data.items()}
    node = copy
    for key in table:
        node = node.setdefault(key, {})
    node["markers"] = [MARKER]
    return copy


def _deep(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _deep(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_deep(item) for item in value]
    return value


# ------------------------------------------------------------------------------------------- writing


def _checked_write(
    path: Path, old: str, new: str | None, parses_as_intended: Callable[[str], bool], manual: MarkerOutcome
) -> MarkerOutcome:
    """Write ``new`` only when parsing it gives exactly the old settings plus the marker."""
    if new is None or new == old or not parses_as_intended(new):
        return manual
    atomic_write(path, new.encode("utf-8"))
    return MarkerOutcome(action="added", file=path.name)
