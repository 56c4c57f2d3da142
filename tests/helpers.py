"""Plain helpers shared by the tests: git, the temperature example with its scripted replies, and a pass in process.

Fixtures live in conftest.py; everything here is a function or a constant, imported as ``from helpers import ...``
so that no test module imports another.
"""

from __future__ import annotations

import json
import math
import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from autodev.config import load_config
from autodev.core.one_pass import run_once
from autodev.llm.client import ChatClient
from autodev.logs import configure_logging
from autodev.project import ProjectPaths
from autodev.results import PassResult
from autodev.testing import FunctionTestRunner
from autodev.verify.junit import OutcomeKind, TestOutcome
from autodev.verify.runner import TestRun, TestRunner, run_tests

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "temperature"
REPLIES = EXAMPLE.parent / "replies"
RIGHT = (REPLIES / "temperature-2.md").read_text(encoding="utf-8")
WRONG = (REPLIES / "temperature-1.md").read_text(encoding="utf-8")
# Every function wrong and no error a one-line fix would cure: 0 of 6 tests pass, not worth a repair round.
HOPELESS = (
    "temps.py\n```python\n"
    + "".join(f"def {name}(degrees):\n    return 0\n\n\n" for name in ("to_kelvin", "to_fahrenheit", "to_celsius"))
    + "```\n"
)
# A syntax error: cheap to fix, so the same tier gets one repair round.
BROKEN = "temps.py\n```python\ndef to_kelvin(celsius)\n    return celsius + 273.15\n```\n"
STUB = b"# temperature conversions\r\n\r\ndef to_kelvin(celsius):\r\n    raise NotImplementedError\r\n"
NO_SERVER = "http://127.0.0.1:9/v1"
"""An api_base for passes whose client is in process: nothing listens there, and nothing is sent."""


def git(cwd: Path, *args: str) -> str:
    """Run real git in ``cwd`` and return its stdout; tests use it to set up and inspect repositories."""
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout


def head(project: Path) -> str:
    return git(project, "rev-parse", "HEAD").strip()


def snapshot(project: Path) -> dict[str, bytes]:
    """Every file outside .git and .autodev, byte for byte."""
    files: dict[str, bytes] = {}
    for path in sorted(project.rglob("*")):
        rel = path.relative_to(project)
        if rel.parts[0] in {".git", ".autodev"} or not path.is_file() or "__pycache__" in rel.parts:
            continue
        files[rel.as_posix()] = path.read_bytes()
    return files


def outcome(test_id: str, kind: OutcomeKind, message: str = "", details: str = "") -> TestOutcome:
    return TestOutcome(test_id=test_id, outcome=kind, message=message, details=details)


def pytest_run(
    outcomes: dict[str, OutcomeKind] | list[TestOutcome] | None = None,
    *,
    exit_code: int | None = None,
    timed_out: bool = False,
    output: str = "",
    used_junit: bool = True,
) -> TestRun:
    """A pytest TestRun with the given outcomes; the exit code follows from them unless given."""
    if isinstance(outcomes, list):
        by_id = {item.test_id: item for item in outcomes}
    else:
        by_id = {test_id: outcome(test_id, kind) for test_id, kind in (outcomes or {}).items()}
    if exit_code is None and not timed_out:
        failing = any(item.outcome in ("failed", "error") for item in by_id.values())
        exit_code = 1 if failing else (0 if by_id or not used_junit else 5)
    return TestRun(
        command=["python", "-m", "pytest"],
        exit_code=exit_code,
        timed_out=timed_out,
        duration_s=300.4 if timed_out else 1.0,
        output=output,
        outcomes=by_id,
        used_junit=used_junit,
        timeout_s=300 if timed_out else 60,
    )


# ------------------------------------------------------------------------------------------ the temperature example


def config_text(server_url: str, **overrides: str) -> str:
    """autodev.toml for the example: one tier of one model, ``scripted``, at ``server_url``."""
    lines = [
        "[project]",
        f"test_command = {json.dumps(overrides.get('test_command', f'{sys.executable} -m pytest'))}",
        "[tests]",
        f"timeout_s = {overrides.get('timeout_s', '60')}",
        "[synthesis]",
        f"max_attempts = {overrides.get('max_attempts', '3')}",
        "[llm.tiers]",
        'tier1 = ["scripted"]',
        "[llm.models.scripted]",
        'model = "openai/scripted"',
        f'api_base = "{server_url}"',
        "timeout_s = 20",
    ]
    return "\n".join(lines) + "\n"


def two_tiers(server_url: str, *, extra: str = "", big_extra: str = "") -> str:
    """tier1 = scripted, tier2 = big, both at ``server_url``; retries back off for milliseconds only."""
    text = config_text(server_url).replace('tier1 = ["scripted"]', 'tier1 = ["scripted"]\ntier2 = ["big"]')
    text = text.replace("[llm.tiers]", "[llm]\nretry_backoff_s = 0.01\n" + extra + "[llm.tiers]")
    return text + f'[llm.models.big]\nmodel = "openai/big"\napi_base = "{server_url}"\ntimeout_s = 20\n' + big_extra


def two_models(server_url: str, *, extra: str = "", model_extra: str = "", **overrides: str) -> str:
    """One tier of two models, ``scripted`` then ``big``, both at ``server_url`` (the server tells them apart by the
    request's model); ``extra`` goes into [llm], ``model_extra`` into both models' sections."""
    text = config_text(server_url, **overrides).replace('tier1 = ["scripted"]', 'tier1 = ["scripted", "big"]')
    text = text.replace("[llm.tiers]", "[llm]\nretry_backoff_s = 0.01\n" + extra + "[llm.tiers]")
    text = text.replace("timeout_s = 20\n", "timeout_s = 20\n" + model_extra)
    return text + f'[llm.models.big]\nmodel = "openai/big"\napi_base = "{server_url}"\ntimeout_s = 20\n' + model_extra


def set_synthesis(project: Path, line: str) -> None:
    """Add ``line`` (``key = value``) to the project's [synthesis] section and commit the configuration."""
    config = (project / "autodev.toml").read_text(encoding="utf-8")
    (project / "autodev.toml").write_text(config.replace("[synthesis]\n", f"[synthesis]\n{line}\n"), encoding="utf-8")
    git(project, "commit", "-qam", line)


def setup_example(root: Path, server_url: str, *, config: str | None = None, stub: bool = False) -> None:
    """examples/temperature in ``root`` (an empty repository), all committed.

    ``config`` replaces the default autodev.toml (one tier at ``server_url``); ``stub`` adds the temps.py the user
    started with (CRLF line ends, so that a restore that is not byte for byte shows).
    """
    shutil.copytree(EXAMPLE, root, dirs_exist_ok=True)
    (root / "autodev.toml").write_text(config or config_text(server_url), encoding="utf-8")
    if stub:
        (root / "temps.py").write_bytes(STUB)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "spec and tests")


TEMPERATURE_TESTS = "tests/test_temps.py"
_IMPORTED = ("to_celsius", "to_fahrenheit", "to_kelvin")  # the order of the test module's import line
_BELOW_ZERO = (("to_kelvin", -274), ("to_fahrenheit", -300), ("to_celsius", -500))
_EXACT: tuple[tuple[str, str, Callable[[dict[str, object]], object], float], ...] = (
    ("test_freezing_point_in_kelvin", "to_kelvin(0)", lambda ns: _call(ns, "to_kelvin", 0), 273.15),
    ("test_boiling_point_in_fahrenheit", "to_fahrenheit(100)", lambda ns: _call(ns, "to_fahrenheit", 100), 212),
    (
        "test_body_temperature_round_trip",
        "to_celsius(to_fahrenheit(37))",
        lambda ns: _call(ns, "to_celsius", _call(ns, "to_fahrenheit", 37)),
        37,
    ),
)


def temperature_outcomes(root: Path) -> dict[str, TestOutcome]:
    """What pytest reports for examples/temperature's tests on the temps.py under ``root``, without pytest.

    It runs temps.py in this process, so it is only for the replies the tests script themselves (no endless loop,
    no os._exit); test_helpers.py checks it against real pytest on every reply above. Failures carry pytest's
    messages and the located lines its long format gives, which is what the failure summary shows the model.
    """
    namespace = _load_temps(root)
    if isinstance(namespace, TestOutcome):
        return {TEMPERATURE_TESTS: namespace}
    lines = (root / TEMPERATURE_TESTS).read_text(encoding="utf-8").splitlines()
    outcomes = {f"{TEMPERATURE_TESTS}::{name}": _exact(namespace, lines, name, *rest) for name, *rest in _EXACT}
    for function, value in _BELOW_ZERO:
        test_id = f"{TEMPERATURE_TESTS}::test_below_absolute_zero_is_rejected[{function}-{value}]"
        outcomes[test_id] = _below_zero(namespace, lines, test_id, function, value)
    return outcomes


def temperature_runner() -> FunctionTestRunner:
    """A TestRunner for the example that starts no pytest process (see temperature_outcomes)."""
    return FunctionTestRunner(temperature_outcomes)


def _load_temps(root: Path) -> dict[str, object] | TestOutcome:
    path = root / "temps.py"
    if not path.is_file():
        return _collection_error("ModuleNotFoundError: No module named 'temps'", root)
    namespace: dict[str, object] = {"__name__": "temps"}
    try:
        exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)  # noqa: S102 - the suite's own replies
    except SyntaxError as error:
        return _collection_error(f"SyntaxError: {error.msg}", root)
    except Exception as error:
        return _collection_error(f"{type(error).__name__}: {error}", root)
    missing = next((name for name in _IMPORTED if name not in namespace), None)
    if missing is not None:
        return _collection_error(f"ImportError: cannot import name '{missing}' from 'temps' ({path})", root)
    return namespace


def _collection_error(message: str, root: Path) -> TestOutcome:
    """pytest's short format for a test module that cannot be imported, with its first line for import errors."""
    details = (
        f"{TEMPERATURE_TESTS}:3: in <module>\n    from temps import to_celsius, to_fahrenheit, to_kelvin\nE   {message}"
    )
    if "ImportError" in message or "ModuleNotFoundError" in message:
        details = f"ImportError while importing test module '{root / TEMPERATURE_TESTS}'.\n{details}"
    return TestOutcome(test_id=TEMPERATURE_TESTS, outcome="error", message=message, details=details)


def _call(namespace: Mapping[str, object], name: str, *args: object) -> object:
    function = namespace[name]
    assert callable(function)
    return function(*args)


def _exact(
    namespace: dict[str, object],
    lines: list[str],
    name: str,
    expression: str,
    compute: Callable[[dict[str, object]], object],
    want: float,
) -> TestOutcome:
    test_id = f"{TEMPERATURE_TESTS}::{name}"
    source = f"assert {expression} == pytest.approx({want})"
    try:
        got = compute(namespace)
    except Exception as error:
        return _failed(test_id, f"{type(error).__name__}: {error}".rstrip(": "), source, lines)
    tolerance = max(abs(want) * 1e-6, 1e-12)
    if isinstance(got, (int, float)) and math.isclose(got, want, rel_tol=0, abs_tol=tolerance):
        return TestOutcome(test_id=test_id, outcome="passed")
    return _failed(test_id, f"assert {got!r} == {want} ± {tolerance:.1e}", source, lines)


def _below_zero(namespace: dict[str, object], lines: list[str], test_id: str, function: str, value: int) -> TestOutcome:
    source = 'with pytest.raises(ValueError, match="below absolute zero"):'
    try:
        _call(namespace, function, value)
    except ValueError as error:
        if "below absolute zero" in str(error):
            return TestOutcome(test_id=test_id, outcome="passed")
        return _failed(test_id, f"AssertionError: Regex pattern did not match.\n Input: {str(error)!r}", source, lines)
    except Exception as error:
        return _failed(test_id, f"{type(error).__name__}: {error}".rstrip(": "), source, lines)
    return _failed(test_id, "Failed: DID NOT RAISE ValueError", source, lines)


def _failed(test_id: str, message: str, source: str, lines: list[str]) -> TestOutcome:
    """pytest's long format: the failing line marked with ">", the exception, then the line's location."""
    number = next((index for index, line in enumerate(lines, start=1) if source in line), 0)
    details = f">       {source}\nE       {message}\n\n{TEMPERATURE_TESTS}:{number}: Failed"
    return TestOutcome(test_id=test_id, outcome="failed", message=message, details=details)


# ------------------------------------------------------------------------------------------ passes


def autodev(project: Path, *args: str) -> int:
    """The CLI in process (LiteLLM is imported once per session): ``autodev -C project ARGS``."""
    from autodev.cli.main import run_cli

    return run_cli(["-C", str(project), *args])


def run_json(project: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    """``autodev run --once --json ARGS`` in process: its exit code and the one JSON object it printed."""
    capsys.readouterr()
    code = autodev(project, "run", "--once", "--json", *args)
    return code, json.loads(capsys.readouterr().out)


def log_events(project: Path) -> list[dict[str, Any]]:
    """Every event of the project's JSON log (.autodev/logs/autodev.jsonl), in order."""
    lines = (project / ".autodev" / "logs" / "autodev.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def run_pass(
    project: Path,
    client: ChatClient,
    *,
    test_runner: TestRunner = run_tests,
    max_attempts: int | None = None,
    model_name: str | None = None,
) -> PassResult:
    """One pass in process, set up as `autodev run --once` sets it up (config, state directories, the log file)."""
    paths = ProjectPaths(root=project)
    config = load_config(paths.config_file)
    paths.ensure_state_dirs()
    configure_logging(log_file=paths.log_file)
    return run_once(
        paths, config, client=client, model_name=model_name, max_attempts=max_attempts, test_runner=test_runner
    )


REPO_ROOT = Path(__file__).resolve().parent.parent
# Prints the autodev modules that importing one module loads, itself included.
_LOADED = "import sys, {module}; print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] == 'autodev')))"


def fresh_python(code: str, *args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    """``python -c code args`` in a new interpreter importing this checkout's autodev: nothing imported before."""
    return _this_checkout(["-c", code, *args], cwd)


def autodev_process(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m autodev ARGS`` in ``cwd``, a new process of this checkout: start-up and the directory count."""
    return _this_checkout(["-m", "autodev", *args], cwd)


def _this_checkout(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *argv],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def modules_loaded_by(module: str) -> set[str]:
    """The autodev modules that importing ``module`` alone loads, itself included."""
    done = fresh_python(_LOADED.format(module=module))
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: float = 100.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def write_files(root: Path, files: Mapping[str, str]) -> None:
    """Each relative path under ``root`` with its text, directories made as needed."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


# ------------------------------------------------------------------------------------------ the CLI in a subprocess


# Runs autodev's __main__ with Python's own SIGINT handler, even when this suite was started with SIGINT ignored
# (a background job in a script): tests of Ctrl-C need it delivered.
_MAIN_WITH_SIGINT = (
    "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv[0] = 'autodev'; runpy.run_module('autodev', run_name='__main__', alter_sys=True)"
)


def cli_process(
    project: Path, *args: str, env: Mapping[str, str] | None = None, terminal: int | None = None
) -> subprocess.Popen[bytes]:
    """``autodev -C project ARGS`` in a new interpreter importing this checkout's autodev.

    ``terminal``: a pseudo-terminal's slave fd to use as stdin, stdout and stderr (closed here once passed on);
    without it stdout and stderr are pipes.
    """
    command = [sys.executable, "-c", _MAIN_WITH_SIGINT, "-C", str(project), *args]
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})}
    if terminal is None:
        return subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process = subprocess.Popen(command, env=environment, stdin=terminal, stdout=terminal, stderr=terminal)
    os.close(terminal)
    return process


class PtyTranscript:
    """What a process wrote to a pseudo-terminal, with the time each piece arrived (``time.monotonic``)."""

    def __init__(self) -> None:
        self.pieces: list[tuple[float, str]] = []

    @property
    def text(self) -> str:
        return "".join(piece for _, piece in self.pieces)

    def first_seen(self, needle: str) -> float | None:
        """When ``needle`` was first complete in the output, or None if it never was."""
        seen = ""
        for at, piece in self.pieces:
            seen += piece
            if needle in seen:
                return at
        return None


def read_pty(
    master: int, process: subprocess.Popen[bytes], *, timeout_s: float, on_read: Callable[[], None] = lambda: None
) -> PtyTranscript:
    """Read ``master`` until the process exits and its output is drained, or ``timeout_s`` (then it is killed).

    ``on_read`` runs after every read and every idle 50 ms, e.g. to note when the scripted server got a request.
    """
    transcript = PtyTranscript()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.05)
        on_read()
        if not ready:
            if process.poll() is not None:
                break
            continue
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: every writer closed the terminal
            break
        if not data:
            break
        transcript.pieces.append((time.monotonic(), data.decode("utf-8", errors="replace")))
    else:
        process.kill()
    process.wait(timeout=10)
    os.close(master)
    return transcript


# ------------------------------------------------------------------------------------------ ask --apply and undo


def commit_files(root: Path, files: Mapping[str, str], message: str, *trailers: str) -> str:
    """``files`` written and committed (with ``Key: value`` trailers) as the user or autodev would; the sha."""
    write_files(root, files)
    git(root, "add", "--", *files)
    body = message + ("\n\n" + "\n".join(trailers) if trailers else "")
    git(root, "commit", "-q", "-m", body)
    return head(root)


def status_lines(root: Path) -> list[str]:
    """``git status --porcelain`` as lines, to see what is staged, modified or untracked."""
    return git(root, "status", "--porcelain=v1", "-uall").splitlines()


def processes_working_in(directory: Path) -> list[int]:
    """The processes (but this one) whose working directory lies under ``directory``, found through /proc: a
    confined test run has pids of its own namespace, so its pid says nothing here, but its place does."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:
            continue
        if cwd.is_relative_to(directory):
            found.append(int(entry.name))
    return found


def pytest_child_env() -> dict[str, str]:
    """This environment without pytest's variables or autoloaded plugins: a child pytest run is configured by its
    own project alone."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PYTEST_")}
    return env | {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def empty_pytest_project(tmp_path: Path) -> Path:
    """A project with its own empty pytest.ini and a tests/ directory, so this repository's configuration cannot
    leak into a child pytest run."""
    root = tmp_path / "project"
    (root / "tests").mkdir(parents=True)
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    return root
