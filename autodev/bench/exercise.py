"""Exercism exercises as autodev projects: the docs become SPEC.md, the tests and the stub are laid out per track.

Python: the tests go under tests/, the stub stays. JavaScript and Rust keep the exercise's own layout (the tests
import the stub by a relative path; Cargo finds tests/ itself), get an autodev.toml naming the runner (``jest``,
``cargo`` with ``include_ignored``) and the test command, and a ``Files:`` line naming the stub; a JavaScript copy
links ``node_modules`` to the run's shared install (see :mod:`autodev.bench.tracks`).

An exercise directory that cannot be used (no .meta/config.json, a listed file missing) raises ExerciseError with
the reason, so the harness reports it and goes on with the others.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from autodev.bench.tracks import TRACK_SETTINGS, Track, detect_track, test_command
from autodev.errors import AutodevError
from autodev.vcs import commit_all, init_repository

DOC_ORDER = ("introduction.md", "instructions.md", "instructions.append.md")
_SKIPPED_JS_TEST = re.compile(r"\bx(test|it|describe)(?=\s*\()")


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
    track: Track = "python"
    examples: list[str] = []  # every example file (Rust's alphametics also has .meta/Cargo-example.toml)

    @property
    def reference(self) -> str:
        """The reference solution's text (.meta/example.py, .meta/proof.ci.js, .meta/example.rs)."""
        return (self.directory / self.example).read_text(encoding="utf-8")

    def reference_files(self) -> dict[str, str]:
        """Each solution file the example files replace, with the example's text: an example goes to the solution
        file with the same extension (``.meta/Cargo-example.toml`` -> ``Cargo.toml``), else to the first one."""
        files: dict[str, str] = {}
        for example in self.examples or [self.example]:
            suffix = Path(example).suffix
            target = next((name for name in self.solution if Path(name).suffix == suffix), self.solution[0])
            files.setdefault(target, (self.directory / example).read_text(encoding="utf-8"))
        return files

    def tests_reply(self) -> str:
        """The exercise's own Python tests as a tester's reply: what an oracle tester would write."""
        code = "\n\n".join((self.directory / test).read_text(encoding="utf-8") for test in self.tests)
        return f"```python\n{code}\n```\n"

    @property
    def stub(self) -> str:
        return (self.directory / self.solution[0]).read_text(encoding="utf-8")

    def reference_reply(self, content: str | None = None) -> str:
        """A whole-file reply in autodev's edit format carrying ``content`` (default: the reference solution)."""
        files = self.reference_files() if content is None else {self.solution[0]: content}
        language = TRACK_SETTINGS[self.track].fence
        blocks = []
        for name, text in files.items():
            text = text if text.endswith("\n") else text + "\n"
            fence = "````" if "```" in text else "```"
            info = "toml" if name.endswith(".toml") else language
            blocks.append(f"{name}\n{fence}{info}\n{text}{fence}\n")
        return "\n".join(blocks)


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
        track=detect_track(directory),
        examples=files.example,
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


def build_project(exercise: Exercise, root: Path, *, js_runner: Path | None = None) -> None:
    """Lay the exercise out as a user's project in ``root`` (created), committed in a new git repository.

    ``js_runner`` is the shared JavaScript install (:func:`autodev.bench.tracks.ensure_js_runner`): a JavaScript
    copy's ``node_modules`` links to its ``node_modules``.
    """
    root.mkdir(parents=True, exist_ok=True)
    spec = "\n\n".join((exercise.directory / doc).read_text(encoding="utf-8").strip() for doc in exercise.docs)
    if exercise.track == "python":
        (root / "SPEC.md").write_text(spec + "\n", encoding="utf-8")
        (root / "tests").mkdir(exist_ok=True)
        for test in exercise.tests:
            shutil.copyfile(exercise.directory / test, root / "tests" / Path(test).name)
        for name in [*exercise.solution, *exercise.editor]:
            _copy(exercise.directory / name, root / name)
    else:
        files = ", ".join(f"`{name}`" for name in exercise.solution)
        (root / "SPEC.md").write_text(f"{spec}\n\nFiles: {files}\n", encoding="utf-8")
        for source in _exercise_files(exercise.directory):
            _copy(source, root / source.relative_to(exercise.directory))
        restore_tests(exercise, root)
        (root / "autodev.toml").write_text(project_config(exercise.track, js_runner), encoding="utf-8")
        (root / ".gitignore").write_text("node_modules\n/target\n", encoding="utf-8")
        if exercise.track == "javascript":
            link_js_runner(root, js_runner)
    init_repository(root)
    commit_all(root, "exercise", name="autodev bench", email="bench@autodev.invalid")


def project_config(track: Track, js_runner: Path | None = None) -> str:
    """The autodev.toml of a JavaScript or Rust exercise copy: its runner and test command."""
    settings = TRACK_SETTINGS[track]
    command = json.dumps(test_command(track, js_runner))  # a TOML basic string
    lines = ["[project]", f"test_command = {command}", "", "[tests]", f'runner = "{settings.runner}"']
    if settings.include_ignored:
        lines.append("include_ignored = true")
    return "\n".join(lines) + "\n"


def link_js_runner(root: Path, js_runner: Path | None) -> None:
    """``root/node_modules`` -> the shared install's node_modules (babel.config.js and package.json stay here)."""
    if js_runner is None:
        raise ExerciseError(f"{root.name}: a JavaScript exercise needs the shared runner install (none was made)")
    link = root / "node_modules"
    if link.is_symlink() or link.exists():
        return
    link.symlink_to(js_runner / "node_modules", target_is_directory=True)


def restore_tests(exercise: Exercise, root: Path) -> None:
    """Put the original test files back, so that the harness's verdict cannot depend on what the pass did.

    Exercism's JavaScript tests skip all but the first test (``xtest``); like Exercism's own runner, every one of
    them runs here (``xtest(`` -> ``test(``, ``xit``, ``xdescribe``). Rust's ``#[ignore]`` is lifted by the runner
    (``include_ignored``) instead.
    """
    for test in exercise.tests:
        if exercise.track == "python":
            _copy(exercise.directory / test, root / "tests" / Path(test).name)
        elif exercise.track == "javascript":
            text = (exercise.directory / test).read_text(encoding="utf-8")
            (root / test).parent.mkdir(parents=True, exist_ok=True)
            (root / test).write_text(_SKIPPED_JS_TEST.sub(r"\1", text), encoding="utf-8")
        else:
            _copy(exercise.directory / test, root / test)


def _exercise_files(directory: Path) -> list[Path]:
    """Every file of a JavaScript or Rust exercise but its docs, its .meta/ and build output."""
    skipped = {".docs", ".meta", "node_modules", "target", ".git"}
    return sorted(
        path
        for path in directory.rglob("*")
        if path.is_file() and not skipped.intersection(path.relative_to(directory).parts)
    )


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
