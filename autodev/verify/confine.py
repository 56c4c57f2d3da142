"""Confine a test run where the platform allows it (Linux namespaces): the user's project read-only outside the
run's own places, no network unless asked, its own pid namespace.

The copy (``verify/copy.py``) keeps the code under test away from the user's files only as long as it stays in the
copy: an absolute path, ``../../README.md``, the copy's ``.git`` deleted so that git finds the user's repository
above it, a write through the ``node_modules`` link all reach the user's tree. A confined run sees the project
read-only, except the places it must write (the copy or wherever it runs, its scratch directory). The launcher
(``verify/confine_exec.py``) is a small script of the standard library that the runner starts in place of the
command; it sets up the namespaces and executes the command, so the runner's process group, timeout and reaping
work unchanged. Whether it works here is probed once per process (``python -c pass`` through it): a kernel or a
container that forbids user namespaces makes the run unconfined (``[tests] confine = "auto"``, with one warning)
or an error (``"on"``).

What it does not stop: anything the code under test does inside its own process (patching pytest, rewriting its
report); writes outside the project (the user's home, /tmp); other paths to the same files (a second mount of
the project's filesystem). docs/confinement.md says so.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from autodev.config import TestsConfig
from autodev.errors import TestRunError
from autodev.fileio import atomic_write

__all__ = [
    "UNCONFINED",
    "Confinement",
    "ConfinementState",
    "Probe",
    "confined_argv",
    "describe",
    "is_confined",
    "launch_failure",
    "probe",
    "protected_trees",
    "remembered_probe",
    "state",
]

ConfineMode = Literal["auto", "on", "off"]
HomeMode = Literal["scratch", "user"]
HELPER = Path(__file__).with_name("confine_exec.py")
MARK = "autodev-confine:"
PROBE_TIMEOUT_S = 20.0
PROBE_RECORD = "confine-probe.json"
PROBE_RECORD_TTL_S = 24 * 3600.0


class Confinement(BaseModel):
    """How one test run is confined: ``[tests] confine``, ``network`` and ``home``, and the tree to protect."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: ConfineMode = "auto"
    network: bool = False
    home: HomeMode = "scratch"
    project: Path | None = None
    """The user's tree: read-only in a confined run, but for the places the run writes. None: nothing is."""

    @classmethod
    def from_config(cls, tests: TestsConfig, project: Path | None) -> Confinement:
        return cls(mode=tests.confine, network=tests.network, home=tests.home, project=project)


UNCONFINED = Confinement(mode="off", home="user")
"""A run made by other means than a pass (a caller that knows no project): as before confinement."""


class Probe(BaseModel):
    """Whether the launcher works on this machine, and if not, why."""

    model_config = ConfigDict(frozen=True)

    available: bool
    reason: str = ""


@functools.cache
def probe() -> Probe:
    """Run the launcher once on ``python -c pass`` with a read-only bind and a writable one inside it."""
    if not sys.platform.startswith("linux"):
        return Probe(available=False, reason="not available on this platform")
    with tempfile.TemporaryDirectory(prefix="autodev-confine-probe-") as place:
        inside = Path(place) / "writable"
        inside.mkdir()
        spec = {"writable": [str(inside)], "readonly": [place], "cwd": str(inside), "network": False}
        try:
            done = subprocess.run(
                _launcher(spec, [sys.executable, "-c", "pass"]),
                capture_output=True,
                text=True,
                timeout=PROBE_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return Probe(available=False, reason=f"the launcher did not run ({exc})")
    if done.returncode != 0:
        said = done.stderr.strip().splitlines()
        reason = said[-1].removeprefix(MARK).strip() if said else f"exit status {done.returncode}"
        return Probe(available=False, reason=reason)
    return Probe(available=True)


class ConfinementState(BaseModel):
    """What `models doctor --json` and `status --json` say: whether a run is confined, and the line they print."""

    model_config = ConfigDict(frozen=True)

    confined: bool
    mode: ConfineMode
    network: bool
    description: str


def remembered_probe(project: Path | None) -> Probe:
    """:func:`probe`'s answer as the project last had it, for `status`, which should not start a process to say
    it: kept in ``.autodev/confine-probe.json`` for a day, for this kernel, user, interpreter and launcher."""
    record = None if project is None else project / ".autodev" / PROBE_RECORD
    key = _probe_key()
    if record is not None:
        try:
            data = json.loads(record.read_text(encoding="utf-8"))
            if data.get("key") == key and time.time() - float(data.get("at", 0)) < PROBE_RECORD_TTL_S:
                return Probe(available=bool(data["available"]), reason=str(data.get("reason", "")))
        except (OSError, ValueError, KeyError, TypeError):
            pass
    found = probe()
    if record is not None and record.parent.is_dir():
        with contextlib.suppress(OSError):
            atomic_write(record, json.dumps({"key": key, "at": time.time(), **found.model_dump()}).encode("utf-8"))
    return found


def _probe_key() -> str:
    try:
        launcher = HELPER.stat().st_mtime_ns
    except OSError:
        launcher = 0
    return f"{platform.release()}|{os.getuid()}|{sys.executable}|{launcher}"


def state(confinement: Confinement) -> ConfinementState:
    found = remembered_probe(confinement.project) if confinement.mode != "off" else Probe(available=False)
    confined = confinement.mode != "off" and found.available
    return ConfinementState(confined=confined, mode=confinement.mode, network=confinement.network,
                            description=describe(confinement, found))  # fmt: skip


def describe(confinement: Confinement, found: Probe | None = None) -> str:
    """One line for `models doctor` and `status`: whether tests run confined, how, or why not."""
    if confinement.mode == "off":
        return 'no ([tests] confine = "off")'
    found = probe() if found is None else found
    if not found.available:
        if confinement.mode == "on":
            return f'no: every test run fails ({found.reason}; [tests] confine = "on")'
        return f'no ({found.reason}; set [tests] confine = "off" to silence)'
    kind = "mount and pid namespaces as root" if os.getuid() == 0 else "user namespace"
    network = "network allowed" if confinement.network else "no network"
    return f"yes ({kind}: project read-only outside the copy, {network})"


def is_confined(confinement: Confinement) -> bool:
    """Whether a run with these settings goes through the launcher (``on`` and unavailable: an error)."""
    if confinement.mode == "off":
        return False
    found = probe()
    if found.available:
        return True
    if confinement.mode == "on":
        raise TestRunError(
            f"cannot confine the test run: {found.reason}; allow unprivileged user namespaces "
            '(sysctl kernel.unprivileged_userns_clone=1) or set `[tests] confine = "auto"` or "off" in autodev.toml'
        )
    _warn_unconfined(found.reason)
    return False


def confined_argv(
    argv: Sequence[str], confinement: Confinement, *, root: Path, writable: Sequence[Path], report_fd: int
) -> list[str]:
    """``argv`` through the launcher: ``root`` (where the run works) and ``writable`` stay writable, the project's
    trees are read-only around them; a failure of the launcher's own is written to ``report_fd``."""
    root = root.resolve()
    trees = [tree for tree in protected_trees(confinement.project) if not tree.is_relative_to(root)]
    places = sorted({root, *(path.resolve() for path in writable)}, key=lambda p: len(p.parts))
    needed = [place for place in places if any(place.is_relative_to(tree) for tree in trees)]
    spec = {
        "writable": [str(place) for place in needed],
        "readonly": [str(tree) for tree in trees],
        "cwd": str(root),
        "network": confinement.network,
        "report_fd": report_fd,
        "parent": os.getpid(),
    }
    return _launcher(spec, argv)


def protected_trees(project: Path | None) -> list[Path]:
    """The project and the git repository its ``.git`` leads to (a worktree's common directory, a repository
    above a project in a subdirectory): what code under test must not write."""
    if project is None:
        return []
    project = project.resolve()
    trees = [project]
    for directory in (project, *project.parents):
        dot_git = directory / ".git"
        if dot_git.is_dir():
            trees.append(directory)
            break
        if dot_git.is_file():
            trees.append(directory)
            trees.extend(_worktree_git_dirs(dot_git))
            break
    unique: list[Path] = []
    for tree in sorted(set(trees), key=lambda p: len(p.parts)):
        if not any(tree.is_relative_to(kept) for kept in unique):
            unique.append(tree)
    return unique


def launch_failure(report: str) -> TestRunError | None:
    """The launcher's own complaint, read from its report pipe: the command could not be executed, or a setup
    step failed (a path that vanished, a mount refused after the probe passed)."""
    line = next((text for text in report.splitlines() if text.startswith(MARK)), None)
    if line is None:
        return None
    said = line.removeprefix(MARK).strip()
    if said.startswith("exec: "):
        return TestRunError(f"cannot run the test command: {said.removeprefix('exec: ')}")
    return TestRunError(
        f'cannot confine the test run: {said}; set `[tests] confine = "off"` in autodev.toml to run unconfined'
    )


def _worktree_git_dirs(dot_git: Path) -> list[Path]:
    """A worktree's ``.git`` file names its git directory; that directory's ``commondir`` the repository's."""
    try:
        text = dot_git.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return []
    if not text.startswith("gitdir:"):
        return []
    git_dir = (dot_git.parent / text.removeprefix("gitdir:").strip()).resolve()
    found = [git_dir] if git_dir.is_dir() else []
    common = git_dir / "commondir"
    if common.is_file():
        found.append((git_dir / common.read_text(encoding="utf-8").strip()).resolve())
    return [path for path in found if path.is_dir()]


def _launcher(spec: dict[str, object], argv: Sequence[str]) -> list[str]:
    return [sys.executable, "-I", "-S", str(HELPER), json.dumps(spec), "--", *argv]


_warned: set[str] = set()


def _warn_unconfined(reason: str) -> None:
    if reason in _warned:
        return
    _warned.add(reason)
    from autodev.logs import get_logger  # here: `autodev status` reads the state without importing structlog

    get_logger().warning(
        'tests run unconfined: confinement is not available here ([tests] confine = "off" silences this)',
        reason=reason,
    )
