"""Run the user's test command on model-written code: own process group, hard timeout, no provider keys.

The code under test came from a language model, so the run is treated as hostile: it gets a scrubbed
environment, its output goes to a file (a grandchild holding a pipe open could otherwise hang us), and every
process it left behind is killed with its process group whether it finished, timed out or we were interrupted.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

from autodev.errors import TestRunError
from autodev.verify.adapters.base import RecordsSession, RunnerAdapter, RunPlace, is_load_failure
from autodev.verify.adapters.choose import RunnerName, adapter_for
from autodev.verify.adapters.pytest_runner import PYTEST_NO_TESTS_COLLECTED, is_pytest_command
from autodev.verify.confine import UNCONFINED, Confinement, confined_argv, is_confined, launch_failure
from autodev.verify.environment import environment_for_tests, with_scratch_home
from autodev.verify.junit import TestOutcome
from autodev.verify.leftovers import mark_environment, reap
from autodev.verify.session import SessionRecord

__all__ = [
    "PYTEST_NO_TESTS_COLLECTED",
    "TestOutcome",
    "TestRun",
    "is_pytest_command",
    "run_tests",
    "scrubbed_environment",
    "strip_ansi",
]

OUTPUT_CAP_BYTES = 64 * 1024
"""Only the end of the output is kept: that is where pytest puts failures and its summary."""
WHOLE_OUTPUT_CAP_BYTES = 16 * 1024 * 1024
"""What an adapter that reads the output (cargo) gets at most: per-test lines start at the top."""
KILL_GRACE_S = 2.0
"""How long a timed-out process group gets between SIGTERM and SIGKILL."""
REAP_TIMEOUT_S = 5.0
"""How long to wait for the exit status after SIGKILL (only a process stuck in the kernel needs more)."""

_ANSI_ESCAPE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor movement
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC: titles, hyperlinks
    r"|\x1b[@-Z\\-_]"  # other two-character escapes
)


class TestRun(BaseModel):
    """One run of the test command, with per-test outcomes when the runner's report could be read.

    ``used_junit`` says that per-test outcomes were read (pytest's junit report, or another runner's report through
    its adapter); ``runner`` names the adapter that read them (``None``: a run made by other means, a test double).
    """

    __test__: ClassVar[bool] = False  # not a pytest test class
    model_config = ConfigDict(extra="forbid", frozen=True)

    command: list[str]
    exit_code: int | None
    timed_out: bool
    duration_s: float
    output: str
    outcomes: dict[str, TestOutcome]
    used_junit: bool
    timeout_s: float | None = None
    running: str | None = None
    """The test in progress when the run was killed at its timeout, when the runner could tell."""
    runner: str | None = None
    session: SessionRecord | None = None
    """The runner's own record of the run (pytest's, through autodev's plugin); None: the runner keeps none."""

    @property
    def passed_ids(self) -> frozenset[str]:
        return self._ids_with(("passed",))

    @property
    def failing_ids(self) -> frozenset[str]:
        """Failed and errored tests: both mean the code is not done."""
        return self._ids_with(("failed", "error"))

    @property
    def skipped_ids(self) -> frozenset[str]:
        return self._ids_with(("skipped",))

    @property
    def no_tests_collected(self) -> bool:
        """A suite that ran nothing proves nothing, so it is never green (a timed-out run is not one)."""
        if self.timed_out:
            return False
        if self.exit_code == PYTEST_NO_TESTS_COLLECTED and self.ran_pytest:
            return True
        return self.used_junit and not self.outcomes

    @property
    def ran_pytest(self) -> bool:
        """Read through the pytest adapter (or, for a run that names no runner, a pytest command)."""
        return self.runner == "pytest" if self.runner is not None else is_pytest_command(self.command)

    @property
    def load_failures(self) -> list[TestOutcome]:
        """Files that could not be compiled or collected (a syntax error, a missing module, rustc's errors)."""
        return [outcome for outcome in self.outcomes.values() if is_load_failure(outcome)]

    def _ids_with(self, kinds: tuple[str, ...]) -> frozenset[str]:
        return frozenset(test_id for test_id, outcome in self.outcomes.items() if outcome.outcome in kinds)


def scrubbed_environment(env: Mapping[str, str], pass_env: Sequence[str] = ()) -> dict[str, str]:
    """The environment for model-written code: the allowlist (verify/environment.py) and ``pass_env``, and no
    bytecode in the user's tree."""
    scrubbed = environment_for_tests(env, pass_env)
    scrubbed["PYTHONDONTWRITEBYTECODE"] = "1"
    return scrubbed


def pytest_argv(command: str | Sequence[str]) -> list[str] | None:
    """The test command as argv when it runs pytest (so tests can be collected the same way), else None."""
    argv = _command_argv(command)
    return argv if is_pytest_command(argv) else None


def strip_ansi(text: str) -> str:
    """Colour codes cost prompt tokens and confuse models (FORCE_COLOR or PY_COLORS can turn them on)."""
    return _ANSI_ESCAPE.sub("", text)


class TestRunner(Protocol):
    """What a pass needs to run the tests: :func:`run_tests`'s shape, so that a test double can stand in.

    ``runner`` is the adapter the project's configuration chose, ``confine`` how the run is confined (a double may
    ignore both)."""

    def __call__(
        self,
        root: Path,
        command: str | Sequence[str],
        *,
        timeout_s: float,
        scratch_dir: Path,
        runner: RunnerName | RunnerAdapter = "auto",
        pass_env: Sequence[str] = (),
        confine: Confinement = UNCONFINED,
    ) -> TestRun: ...


def run_tests(
    root: Path,
    command: str | Sequence[str],
    *,
    timeout_s: float,
    scratch_dir: Path,
    env: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (),
    runner: RunnerName | RunnerAdapter = "auto",
    pass_env: Sequence[str] = (),
    confine: Confinement = UNCONFINED,
) -> TestRun:
    """Run the test command in ``root`` and collect what happened; never leaves a process or a file behind.

    ``runner`` is an adapter (``verify/adapters/``) or its name; ``auto`` picks it from the command. The adapter adds
    its reporter options and reads the per-test outcomes; ``extra_args`` come last. ``confine`` says whether the run
    is confined (``verify/confine.py``: the project read-only but for ``root`` and ``scratch_dir``, no network) and
    whether HOME is a scratch directory of the run's own; the default, :data:`UNCONFINED`, is neither.

    Raises TestRunError when the command cannot be started at all; a command that starts and fails is a red
    TestRun, not an error.
    """
    if timeout_s <= 0:
        raise ValueError(f"timeout_s must be positive, got {timeout_s}")
    base_argv = _command_argv(command)
    if not root.is_dir():
        raise TestRunError(f"cannot run the tests: project directory {root} does not exist")
    scratch = scratch_dir.resolve()
    scratch.mkdir(parents=True, exist_ok=True)
    adapter = adapter_for(runner, base_argv, root) if isinstance(runner, str) else runner
    child_env = scrubbed_environment(os.environ if env is None else env, pass_env)
    token = mark_environment(child_env, root)
    launch = _Launch(confine, is_confined(confine))
    try:
        return _run(root, base_argv, adapter, child_env, scratch, timeout_s, extra_args, launch)
    finally:
        reap(token=token)  # what left the process group (a setsid double fork) goes too


def _run(
    root: Path,
    base_argv: list[str],
    adapter: RunnerAdapter,
    child_env: dict[str, str],
    scratch: Path,
    timeout_s: float,
    extra_args: Sequence[str],
    launch: _Launch,
) -> TestRun:
    with tempfile.TemporaryDirectory(dir=scratch, prefix="run-") as work_dir:
        work = Path(work_dir)
        if launch.confinement.home == "scratch":
            child_env = with_scratch_home(child_env, work / "home")
        place = RunPlace(root=root, work=work, env=child_env)
        argv = [*adapter.argv(base_argv, place), *extra_args]
        with tempfile.TemporaryFile(dir=place.work, prefix="output-") as output_file, launch.reporting() as report:
            started = time.monotonic()
            started_argv = launch.argv(argv, root, scratch, child_env)
            process = _start(started_argv, root, child_env, output_file, launch.pass_fds)
            launch.started()
            exit_code, timed_out = _wait_and_kill_group(process, timeout_s)
            duration_s = time.monotonic() - started
            launch.check(report)
            output = _read_output_tail(output_file)
            whole = _read_whole_output(output_file) if adapter.reads_output else output
        outcomes = adapter.outcomes(place, whole)
        running = adapter.running(place) if timed_out else None
        session = adapter.session(place) if isinstance(adapter, RecordsSession) else None
    return TestRun(
        command=argv,
        exit_code=exit_code,
        timed_out=timed_out,
        duration_s=duration_s,
        output=output,
        outcomes=outcomes or {},
        used_junit=outcomes is not None,
        timeout_s=timeout_s,
        running=running,
        runner=adapter.name,
        session=session,
    )


class _Launch:
    """How one run is started: the command itself, or through the confinement launcher with a pipe on which the
    launcher tells its own failures (closed on exec, so nothing the code under test writes can pass for one)."""

    def __init__(self, confinement: Confinement, confined: bool) -> None:
        self.confinement = confinement
        self.confined = confined
        self._write_end: int | None = None

    @property
    def pass_fds(self) -> tuple[int, ...]:
        return (self._write_end,) if self._write_end is not None else ()

    @contextlib.contextmanager
    def reporting(self) -> Iterator[int | None]:
        """The read end of the report pipe while the run lasts (None unconfined); both ends closed after."""
        if not self.confined:
            yield None
            return
        read_end, self._write_end = os.pipe()
        try:
            yield read_end
        finally:
            os.close(read_end)
            self.started()

    def argv(self, argv: list[str], root: Path, scratch: Path, env: Mapping[str, str]) -> list[str]:
        if not self.confined or self._write_end is None:
            return argv
        if _program(argv[0], root, env) is None:  # the error an unconfined start gives, not a red run
            raise _cannot_run(argv[0], "No such file or directory")
        return confined_argv(argv, self.confinement, root=root, writable=[scratch], report_fd=self._write_end)

    def started(self) -> None:
        """The launcher has its own copy of the write end now: ours goes, so the read end sees the end."""
        if self._write_end is not None:
            os.close(self._write_end)
            self._write_end = None

    def check(self, read_end: int | None) -> None:
        """Raise the launcher's own failure, when it told one (every writer has exited: the read cannot block)."""
        if read_end is None:
            return
        os.set_blocking(read_end, False)
        try:
            said = os.read(read_end, 4096).decode("utf-8", errors="replace")
        except BlockingIOError:
            said = ""
        failure = launch_failure(said)
        if failure is not None:
            raise failure


def _program(name: str, root: Path, env: Mapping[str, str]) -> str | None:
    if "/" in name:
        path = Path(name) if Path(name).is_absolute() else root / name
        return str(path) if os.access(path, os.X_OK) and path.is_file() else None
    return shutil.which(name, path=env.get("PATH", os.defpath))


def _cannot_run(program: str, reason: str) -> TestRunError:
    return TestRunError(
        f"cannot run the test command {program!r}: {reason}; set `[project] test_command` in "
        "autodev.toml to a command that runs your tests (for example `python -m pytest`)"
    )


def _command_argv(command: str | Sequence[str]) -> list[str]:
    try:
        argv = shlex.split(command) if isinstance(command, str) else list(command)
    except ValueError as exc:
        raise TestRunError(
            f"cannot parse the test command {command!r} ({exc}); fix `[project] test_command` in autodev.toml"
        ) from exc
    if not argv:
        raise TestRunError("the test command is empty; set `[project] test_command` in autodev.toml")
    return argv


def _start(
    argv: list[str], root: Path, env: dict[str, str], output: IO[bytes], pass_fds: tuple[int, ...] = ()
) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            argv,
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=pass_fds,
        )
    except OSError as exc:
        raise _cannot_run(argv[0], exc.strerror or str(exc)) from exc


def _wait_and_kill_group(process: subprocess.Popen[bytes], timeout_s: float) -> tuple[int | None, bool]:
    """Wait for the command, then kill its process group: stragglers after an exit, everything on timeout.

    The group leader is left unreaped (a zombie) until the group has been signalled, so its pid, which is also
    the group id, cannot be reused by an unrelated process in between.
    """
    group = process.pid
    try:
        exited = _wait_without_reaping(process, timeout_s)
        if not exited:
            _signal_group(group, signal.SIGTERM)
            _wait_without_reaping(process, KILL_GRACE_S)
        _signal_group(group, signal.SIGKILL)
    except BaseException:
        _signal_group(group, signal.SIGKILL)
        _reap(process)
        raise
    exit_code = _reap(process)
    return (None if not exited else exit_code), not exited


def _wait_without_reaping(process: subprocess.Popen[bytes], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    pause = 0.002
    while not _has_exited(process):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(pause, remaining))
        pause = min(pause * 2, 0.05)
    return True


def _has_exited(process: subprocess.Popen[bytes]) -> bool:
    if process.returncode is not None:
        return True
    if not hasattr(os, "waitid"):  # pragma: no cover - not on Linux; reaping at once is the fallback
        return process.poll() is not None
    try:
        state = os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return process.poll() is not None
    return state is not None


def _signal_group(group: int, signal_number: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is already gone
        os.killpg(group, signal_number)


def _reap(process: subprocess.Popen[bytes]) -> int | None:
    try:
        return process.wait(timeout=REAP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None


def _read_output_tail(output: IO[bytes]) -> str:
    """The last OUTPUT_CAP_BYTES of the output, decoded leniently; a marker says how much was cut."""
    size = os.fstat(output.fileno()).st_size
    if size <= OUTPUT_CAP_BYTES:
        output.seek(0)
        return _clean(output.read(OUTPUT_CAP_BYTES).decode("utf-8", errors="replace"))
    keep = OUTPUT_CAP_BYTES - 128  # room for the marker
    output.seek(size - keep)
    text = output.read(keep).decode("utf-8", errors="replace")
    first_newline = text.find("\n")
    if 0 <= first_newline < 1024:
        text = text[first_newline + 1 :]  # drop the partial first line
    cut = size - len(text.encode("utf-8", errors="replace"))
    return f"[... output truncated: the first {cut} bytes are not shown ...]\n" + _clean(text)


def _read_whole_output(output: IO[bytes]) -> str:
    """All of the output for an adapter that reads it (cargo's test lines), up to WHOLE_OUTPUT_CAP_BYTES."""
    output.seek(0)
    return _clean(output.read(WHOLE_OUTPUT_CAP_BYTES).decode("utf-8", errors="replace"))


def _clean(text: str) -> str:
    return strip_ansi(text.replace("\r\n", "\n"))
