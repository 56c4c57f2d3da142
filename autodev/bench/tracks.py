"""The exercise tracks the harness runs (Python, JavaScript, Rust) and the test runners they share.

A track is read from the exercise's files: ``package.json`` means JavaScript (Jest + Babel), ``Cargo.toml`` Rust
(``cargo test``), anything else Python (pytest). Every JavaScript exercise of a run uses ONE installation of its
runner: the union of the exercises' devDependencies, installed with npm once into the user's cache
(``$XDG_CACHE_HOME/autodev/bench/js-runner``, else ``~/.cache/...``) and linked into each exercise copy as its
``node_modules``; later runs reuse it without npm (offline). Rust exercises share one ``CARGO_TARGET_DIR`` under the
same cache, set only for the harness's test runs, so the standard library's test harness is built once.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from autodev.errors import AutodevError

Track = Literal["python", "javascript", "rust"]
TRACKS: tuple[Track, ...] = ("python", "javascript", "rust")

JEST_BIN = "node_modules/.bin/jest"
JEST_SCRIPT = "node_modules/jest/bin/jest.js"
"""jest in the shared install. The test command names it by its absolute path (``node .../jest.js``) and the test
runs get NODE_PATH, so a copy of the project without its ``node_modules`` link (the pass's scratch copies leave
``node_modules`` out) still runs the tests and still finds the Babel preset."""
RUNNER_STAMP = ".autodev-bench-deps.json"
NPM_INSTALL = ("npm", "install", "--no-audit", "--no-fund", "--prefer-offline")
NPM_TIMEOUT_S = 900.0


class BenchSetupError(AutodevError):
    """A track's test runner cannot be made ready (npm missing, an install that failed)."""


class TrackSettings(BaseModel):
    """How one track's exercises are laid out and tested."""

    model_config = ConfigDict(frozen=True)

    track: Track
    runner: Literal["pytest", "jest", "cargo"]
    test_command: str  # "" for Python: the harness's own interpreter runs pytest
    include_ignored: bool = False
    fence: str  # the info string of a whole-file reply


TRACK_SETTINGS: dict[Track, TrackSettings] = {
    "python": TrackSettings(track="python", runner="pytest", test_command="", fence="python"),
    "javascript": TrackSettings(track="javascript", runner="jest", test_command=JEST_BIN, fence="javascript"),
    "rust": TrackSettings(track="rust", runner="cargo", test_command="cargo test", include_ignored=True, fence="rust"),
}


def test_command(track: Track, js_runner: Path | None = None) -> str:
    """The test command of a track's exercise copy ("" for Python: the harness's interpreter runs pytest)."""
    if track == "javascript" and js_runner is not None:
        return shlex.join(["node", str(js_runner / JEST_SCRIPT)])
    return TRACK_SETTINGS[track].test_command


def detect_track(directory: Path) -> Track:
    """``package.json`` -> javascript, ``Cargo.toml`` -> rust, else python."""
    if (directory / "package.json").is_file():
        return "javascript"
    if (directory / "Cargo.toml").is_file():
        return "rust"
    return "python"


def cache_root(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/autodev/bench``, else ``~/.cache/autodev/bench``."""
    env = os.environ if env is None else env
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "autodev" / "bench"


def js_runner_dir(env: Mapping[str, str] | None = None) -> Path:
    return cache_root(env) / "js-runner"


def cargo_target_dir(env: Mapping[str, str] | None = None) -> Path:
    return cache_root(env) / "cargo-target"


class RunnerSetup(BaseModel):
    """What the tracks of one run need: the shared JavaScript install and the shared Cargo target directory."""

    model_config = ConfigDict(frozen=True)

    js_runner: Path | None = None
    cargo_target: Path | None = None
    installed: bool = False  # npm ran in this call (the first install, or new devDependencies)
    install_seconds: float = 0.0

    def test_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment of the harness's test runs: the caller's, plus the shared Cargo target directory and the
        shared JavaScript install on NODE_PATH."""
        env = dict(os.environ if base is None else base)
        if self.cargo_target is not None:
            env["CARGO_TARGET_DIR"] = str(self.cargo_target)
        if self.js_runner is not None:
            modules = str(self.js_runner / "node_modules")
            env["NODE_PATH"] = os.pathsep.join(filter(None, [modules, env.get("NODE_PATH")]))
        return env


def union_dev_dependencies(package_files: Iterable[Path]) -> dict[str, str]:
    """The devDependencies every package.json names, with the version they name (the most common one on a clash)."""
    seen: dict[str, Counter[str]] = {}
    for path in package_files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise BenchSetupError(f"{path}: not a readable package.json ({error})") from error
        dependencies = data.get("devDependencies") if isinstance(data, dict) else None
        for name, version in (dependencies or {}).items():
            if isinstance(name, str) and isinstance(version, str):
                seen.setdefault(name, Counter())[version] += 1
    return {name: max(counts, key=lambda v: (counts[v], v)) for name, counts in sorted(seen.items())}


def js_runner_ready(directory: Path, dependencies: Mapping[str, str]) -> bool:
    """Installed with exactly these devDependencies, and jest is there."""
    try:
        stamp = json.loads((directory / RUNNER_STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return stamp == dict(dependencies) and (directory / JEST_BIN).exists()


def ensure_js_runner(
    package_files: Iterable[Path], directory: Path | None = None, *, npm: str | None = None
) -> tuple[Path, bool, float]:
    """The shared install (created or updated with npm when needed), whether npm ran, and how long it took."""
    directory = directory or js_runner_dir()
    dependencies = union_dev_dependencies(package_files)
    if not dependencies:
        raise BenchSetupError("the JavaScript exercises name no devDependencies: nothing can run their tests")
    if js_runner_ready(directory, dependencies):
        return directory, False, 0.0
    program = npm or shutil.which("npm")
    how = f"`cd {directory} && npm install`"
    if program is None:
        raise BenchSetupError(
            "the JavaScript exercises need Node.js and npm, and npm is not on PATH: install Node.js 18 or newer "
            f"(with npm), then run the bench again; the runner (jest, babel) is installed once into {directory}"
        )
    directory.mkdir(parents=True, exist_ok=True)
    manifest = {"name": "autodev-bench-js-runner", "private": True, "devDependencies": dependencies}
    (directory / "package.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    (directory / RUNNER_STAMP).unlink(missing_ok=True)
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [program, *NPM_INSTALL[1:]],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise BenchSetupError(f"npm install in {directory} did not finish ({error}); run {how} by hand") from error
    seconds = time.perf_counter() - started
    if done.returncode != 0 or not (directory / JEST_BIN).exists():
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise BenchSetupError(
            f"npm install in {directory} failed (exit {done.returncode}): {tail or 'no output'}. The first install "
            f"needs the network (later runs are offline): run {how} once with access to the npm registry, "
            "then run the bench again"
        )
    (directory / RUNNER_STAMP).write_text(json.dumps(dependencies, indent=2) + "\n", encoding="utf-8")
    return directory, True, seconds


def prepare_runners(tracks: Iterable[tuple[Track, Path]], env: Mapping[str, str] | None = None) -> RunnerSetup:
    """Ready the shared runners the exercises need: ``tracks`` holds (track, exercise directory) pairs."""
    pairs = list(tracks)
    packages = [directory / "package.json" for track, directory in pairs if track == "javascript"]
    js_runner: Path | None = None
    installed, seconds = False, 0.0
    if packages:
        js_runner, installed, seconds = ensure_js_runner(packages, js_runner_dir(env))
    cargo_target = cargo_target_dir(env) if any(track == "rust" for track, _ in pairs) else None
    if cargo_target is not None:
        if shutil.which("cargo") is None:
            raise BenchSetupError("the Rust exercises need cargo, which is not on PATH: install Rust (rustup.rs)")
        cargo_target.mkdir(parents=True, exist_ok=True)
    return RunnerSetup(js_runner=js_runner, cargo_target=cargo_target, installed=installed, install_seconds=seconds)
