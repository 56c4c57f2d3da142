"""Exercism exercises as autodev projects: the docs become SPEC.md, the tests go under tests/, the stub stays.

An exercise directory that cannot be used (no .meta/config.json, a listed file missing) raises ExerciseError with
the reason, so the harness reports it and goes on with the others.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from autodev.errors import AutodevError
from autodev.vcs import commit_all, init_repository

DOC_ORDER = ("introduction.md", "instructions.md", "instructions.append.md")


class ExerciseError(AutodevError):
    """An exercise directory the harness cannot use."""


class _Files(BaseModel):
    model_config = ConfigDict(extra="ignore")

    solution: list[str]
    test: list[str]
    example: list[str]
    editor: list[str] = []


class Exercise(BaseModel):
    """One exercise, checked: every file its config names exists."""

    model_config = ConfigDict(frozen=True)

    name: str
    directory: Path
    solution: list[str]
    tests: list[str]
    example: str
    editor: list[str]
    docs: list[str]

    @property
    def reference(self) -> str:
        """The reference solution's text (.meta/example.py)."""
        return (self.directory / self.example).read_text(encoding="utf-8")

    @property
    def stub(self) -> str:
        return (self.directory / self.solution[0]).read_text(encoding="utf-8")

    def reference_reply(self, content: str | None = None) -> str:
        """A whole-file reply in autodev's edit format carrying ``content`` (default: the reference solution)."""
        text = self.reference if content is None else content
        text = text if text.endswith("\n") else text + "\n"
        fence = "````" if "```" in text else "```"
        return f"{self.solution[0]}\n{fence}python\n{text}{fence}\n"


def load_exercise(directory: Path) -> Exercise:
    """Read and check one exercise directory."""
    config_path = directory / ".meta" / "config.json"
    try:
        files = _Files.model_validate(json.loads(config_path.read_text(encoding="utf-8"))["files"])
    except FileNotFoundError as exc:
        raise ExerciseError(f"{directory.name}: no .meta/config.json") from exc
    except (OSError, ValueError, KeyError, TypeError, ValidationError) as exc:
        raise ExerciseError(f"{directory.name}: .meta/config.json is not usable: {_first_line(exc)}") from exc
    if not files.solution or not files.test or not files.example:
        raise ExerciseError(f"{directory.name}: .meta/config.json names no solution, test or example file")
    for name in [*files.solution, *files.test, *files.example, *files.editor]:
        if not (directory / name).is_file():
            raise ExerciseError(f"{directory.name}: {name} is listed in .meta/config.json but missing")
    docs = [f".docs/{name}" for name in DOC_ORDER if (directory / ".docs" / name).is_file()]
    if not docs:
        raise ExerciseError(f"{directory.name}: no .docs/instructions.md")
    return Exercise(
        name=directory.name,
        directory=directory,
        solution=files.solution,
        tests=files.test,
        example=files.example[0],
        editor=files.editor,
        docs=docs,
    )


def find_exercises(root: Path, only: set[str] | None = None) -> tuple[list[Exercise], list[tuple[str, str]]]:
    """The usable exercises under ``root`` (sorted by name) and (name, reason) for the unusable ones."""
    if not root.is_dir():
        raise ExerciseError(f"{root} is not a directory of exercises")
    exercises: list[Exercise] = []
    skipped: list[tuple[str, str]] = []
    for directory in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if only is not None and directory.name not in only:
            continue
        try:
            exercises.append(load_exercise(directory))
        except ExerciseError as error:
            skipped.append((directory.name, str(error)))
    return exercises, skipped


def build_project(exercise: Exercise, root: Path) -> None:
    """Lay the exercise out as a user's project in ``root`` (created), committed in a new git repository."""
    root.mkdir(parents=True, exist_ok=True)
    spec = "\n\n".join((exercise.directory / doc).read_text(encoding="utf-8").strip() for doc in exercise.docs)
    (root / "SPEC.md").write_text(spec + "\n", encoding="utf-8")
    (root / "tests").mkdir(exist_ok=True)
    for test in exercise.tests:
        shutil.copyfile(exercise.directory / test, root / "tests" / Path(test).name)
    for name in [*exercise.solution, *exercise.editor]:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(exercise.directory / name, target)
    init_repository(root)
    commit_all(root, "exercise", name="autodev bench", email="bench@autodev.invalid")


def restore_tests(exercise: Exercise, root: Path) -> None:
    """Put the original test files back, so that the harness's verdict cannot depend on what the pass did."""
    for test in exercise.tests:
        shutil.copyfile(exercise.directory / test, root / "tests" / Path(test).name)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
