"""The command line as a new user meets it: the project found from a subdirectory, fast start-up, one exit-code
rule with --json, bare `autodev`, `run` without --once, and `status` telling about an interrupted attempt.

Where the working directory or the interpreter's start matters, a real `python -m autodev` process runs.
"""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from helpers import REPO_ROOT, autodev_process, fresh_python, git, setup_example, write_files

from autodev.cli.lazy import load_command
from autodev.cli.main import COMMANDS, run_cli
from autodev.ledger import Ledger, LedgerEntry, save_ledger
from autodev.testing import ScriptedServer

pytestmark = pytest.mark.req("CORE-1")

CONFIG = '[llm.tiers]\ntier1 = ["local/smollm2-135m"]\ntier4 = ["gpt-4"]\n'
SPEC = "# Temperatures\n\n## TEMP-1: Kelvin\n\n`to_kelvin(celsius)` adds 273.15.\n"
METRICS_LINE = {"schema": 1, "kind": "call", "at": 1.0, "requirement": "TEMP-1", "tier": "tier1", "model": "m"}
# Modules that only a command calling a model (or running a pass) may load.
HEAVY = (
    "litellm",
    "git",
    "watchdog",
    "structlog",
    "rich",
    "autodev.core",
    "autodev.route.router",
    "autodev.local.server",
)
# Runs the CLI in a fresh interpreter, then prints the modules it loaded on the last line.
PROBE = (
    "import sys\nfrom autodev.cli.main import run_cli\ncode = run_cli(sys.argv[1:])\n"
    "print('\\nMODULES', ' '.join(sorted(sys.modules)))\nsys.exit(code)\n"
)


@pytest.fixture
def project(repo: Path) -> Path:
    """A project after a pass: autodev.toml with a hosted top tier, SPEC.md, tests/, one metrics line."""
    write_files(
        repo,
        {
            "autodev.toml": CONFIG,
            "SPEC.md": SPEC,
            "tests/test_temps.py": "def test_kelvin():\n    assert True\n",
            ".autodev/metrics.jsonl": json.dumps(METRICS_LINE | {"input_tokens": 1000, "output_tokens": 100}) + "\n",
        },
    )
    return repo


def loaded_modules(output: str) -> set[str]:
    return set(output.rsplit("MODULES", 1)[1].split())


class TestProjectRoot:
    @pytest.mark.parametrize("words", [["status"], ["metrics"], ["spec", "show"]], ids=" ".join)
    def test_a_subdirectory_works_like_the_root(self, project: Path, words: list[str]) -> None:
        """Run from tests/, the command finds autodev.toml one level up and reports on the project (as git does)."""
        done = autodev_process(*words, cwd=project / "tests")
        assert done.returncode == 0, done.stderr
        assert "TEMP-1" in done.stdout or "tier1" in done.stdout

    def test_no_project_in_any_parent_is_a_usage_error_that_says_where_it_looked(self, repo: Path) -> None:
        """Exit 2 naming the start directory and autodev.toml, and pointing to init in the project's root."""
        (repo / "src").mkdir()
        done = autodev_process("status", cwd=repo / "src")
        assert done.returncode == 2
        assert f"no autodev project in {repo / 'src'} or any parent (looked for autodev.toml)" in done.stderr
        assert "run `autodev init` in the project's root" in done.stderr

    def test_a_project_outside_the_repository_is_not_used(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The search stops at the repository's root: an autodev.toml above it belongs to someone else."""
        write_files(tmp_path, {"autodev.toml": CONFIG, "SPEC.md": SPEC})
        inner = tmp_path / "checkout"
        inner.mkdir()
        git(inner, "init", "-q")
        assert run_cli(["-C", str(inner), "status"]) == 2
        assert f"no autodev project in {inner} or any parent" in capsys.readouterr().err

    def test_init_inside_a_project_warns_that_a_parent_is_one(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """init in a subdirectory of a project says so on stderr (a nested project is rarely what one wants)."""
        (project / "sub").mkdir()
        assert run_cli(["-C", str(project / "sub"), "init"]) == 0
        err = capsys.readouterr().err
        assert f"warning: {project} is already an autodev project" in err


class TestStartup:
    @pytest.mark.parametrize(
        "words", [["--help"], ["status"], ["metrics"], ["spec", "show"], []], ids=lambda w: " ".join(w) or "bare"
    )
    def test_commands_that_call_no_model_load_neither_litellm_git_nor_the_engine(
        self, project: Path, words: list[str]
    ) -> None:
        """--help, status, metrics, spec show and bare autodev import no LiteLLM, GitPython, watchdog, structlog (nor
        the rich it loads) or pass modules: each costs tens of milliseconds to seconds at every start."""
        done = fresh_python(PROBE, *words, cwd=project)
        assert done.returncode == 0, done.stderr
        heavy = {m for m in loaded_modules(done.stdout) if any(m == h or m.startswith(h + ".") for h in HEAVY)}
        assert heavy == set()

    def test_help_loads_no_command_module(self, project: Path) -> None:
        """The top-level help lists every command from the table, importing none of their modules."""
        done = fresh_python(PROBE, "--help", cwd=project)
        modules = loaded_modules(done.stdout)
        assert {entry.module for entry in COMMANDS.values()} & modules == set()
        assert all(name in done.stdout for name in COMMANDS)

    def test_metrics_prices_a_hosted_top_tier_from_litellms_file_without_importing_it(self, project: Path) -> None:
        """gpt-4 ($30/$60 per million tokens in LiteLLM's list): 1000 in + 100 out = $0.0360, LiteLLM not loaded."""
        done = fresh_python(PROBE, "metrics", cwd=project)
        assert "at top-tier prices (estimate, tier4 gpt-4): $0.0360 for the same tokens" in done.stdout
        assert "litellm" not in loaded_modules(done.stdout)

    @pytest.mark.parametrize("name", sorted(COMMANDS))
    def test_the_table_short_help_is_the_commands_own(self, name: str) -> None:
        """What `--help` shows without importing a command is what the command itself says."""
        command = load_command(COMMANDS[name])
        assert COMMANDS[name].short_help == command.get_short_help_str(limit=1000)
        assert isinstance(command, click.Command)


class TestJsonAndExitCodes:
    @pytest.mark.parametrize("words", [["status"], ["metrics"], ["spec", "show"]], ids=" ".join)
    def test_a_configuration_error_with_json_is_one_json_object_on_stdout(
        self, project: Path, words: list[str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A bad autodev.toml exits 2 with and without --json; with it, stdout is exactly one error object."""
        (project / "autodev.toml").write_text("[llm\n", encoding="utf-8")
        assert run_cli(["-C", str(project), *words]) == 2
        capsys.readouterr()
        assert run_cli(["-C", str(project), *words, "--json"]) == 2
        captured = capsys.readouterr()
        payload = json.loads(captured.out)
        assert payload["exit_code"] == 2
        assert "autodev.toml" in payload["error"] and "not valid TOML" in payload["error"]
        assert "error: " in captured.err

    def test_no_project_with_json_is_a_json_error(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Outside any project, `status --json` still prints one JSON object (exit 2) for a script to read."""
        git(tmp_path, "init", "-q")
        assert run_cli(["-C", str(tmp_path), "status", "--json"]) == 2
        payload = json.loads(capsys.readouterr().out)
        assert (payload["exit_code"], payload["kind"]) == (2, "UsageError")
        assert "no autodev project" in payload["error"]

    def test_a_bad_flag_with_json_is_a_json_usage_error(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """click's own usage errors follow the same rule: exit 2, one JSON object on stdout."""
        assert run_cli(["-C", str(project), "status", "--json", "--nope"]) == 2
        payload = json.loads(capsys.readouterr().out)
        assert (payload["exit_code"], payload["kind"]) == (2, "usage")

    def test_bare_autodev_prints_the_help_on_stdout_and_exits_0(self, tmp_path: Path) -> None:
        """`autodev` alone is a request for help, not a mistake: stdout, exit 0, nothing on stderr."""
        done = autodev_process(cwd=tmp_path)
        assert done.returncode == 0
        assert "autodev run --once" in done.stdout and "Commands:" in done.stdout
        assert done.stderr == ""

    def test_run_options_of_one_pass_without_once_are_a_usage_error(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--model belongs to one pass; without --once (the watch loop) it is refused with exit 2."""
        assert run_cli(["-C", str(project), "run", "--model", "x"]) == 2
        assert "--json, --model and --max-attempts apply to one pass: add --once" in capsys.readouterr().err


class TestRunWithoutOnce:
    def test_run_alone_is_the_watch_loop_in_the_foreground(self, repo: Path) -> None:
        """`autodev run` says it is watching on its first line, runs the loop's first pass, and stops on SIGTERM."""
        with ScriptedServer([]) as server:
            setup_example(repo, server.url)
            (repo / "SPEC.md").write_text("# Not yet\n", encoding="utf-8")  # a first pass with nothing to do
            (repo / "tests" / "test_temps.py").unlink()
            git(repo, "add", "-A")
            git(repo, "commit", "-q", "-m", "no tests yet")
            process = subprocess.Popen(
                [sys.executable, "-m", "autodev", "-C", str(repo), "run"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            )
            try:
                state = repo / ".autodev" / "loop.json"
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline and '"passes": 1' not in _text(state):
                    time.sleep(0.05)
                assert '"passes": 1' in _text(state), "the loop never finished its first pass"
            finally:
                process.send_signal(signal.SIGTERM)
                out, err = process.communicate(timeout=20)
        assert process.returncode == 0, err
        assert out.splitlines()[0].startswith(f"autodev run: watching {repo} in the foreground")
        assert server.requests == []


class TestStatus:
    def test_an_attempt_killed_mid_way_is_reported_as_awaiting_recovery(self, project: Path) -> None:
        """After a process dies holding a journal (kill -9), status names its requirement and files and says the next
        run rolls back."""
        killed = fresh_python(
            "import os, sys\nfrom pathlib import Path\nfrom autodev.journal import EditTransaction\n"
            "root = Path(sys.argv[1])\n"
            "journal = root / '.autodev' / 'journal.json'\n"
            "EditTransaction(root, journal, requirement='TEMP-1').apply({'temps.py': b'half done'})\n"
            "os._exit(9)\n",
            str(project),
        )
        assert killed.returncode == 9, killed.stderr
        text = autodev_process("status", cwd=project)
        assert text.returncode == 0, text.stderr
        assert "an interrupted attempt at TEMP-1 (pid" in text.stdout
        assert "left temps.py awaiting recovery: the next `autodev run` (or loop pass) rolls it back" in text.stdout
        recovery = json.loads(autodev_process("status", "--json", cwd=project).stdout)["recovery"]
        assert (recovery["files"], recovery["readable"], recovery["running"]) == (["temps.py"], True, False)
        assert recovery["requirement"] == "TEMP-1"

    def test_a_long_reason_is_printed_whole_when_stdout_is_not_a_terminal(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Piped or captured, status prints the full reason (a terminal gets it cut to its width)."""
        entry = long_failing_entry()
        save_ledger(project / ".autodev" / "ledger.json", Ledger(entries={"OLD-1": entry}))
        assert run_cli(["-C", str(project), "status"]) == 0
        assert entry.reason in capsys.readouterr().out

    def test_on_a_terminal_a_long_reason_is_cut_to_its_width(self, project: Path) -> None:
        """On a terminal 100 columns wide the row fits in 99 (no wrap), its reason cut and marked with "..."."""
        save_ledger(project / ".autodev" / "ledger.json", Ledger(entries={"OLD-1": long_failing_entry()}))
        main, terminal = pty.openpty()
        process = subprocess.Popen(
            [sys.executable, "-m", "autodev", "status"],
            cwd=project,
            stdout=terminal,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "COLUMNS": "100"},
        )
        os.close(terminal)
        output = _read_all(main)
        _, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        row = next(line for line in output.splitlines() if line.startswith("OLD-1"))
        assert len(row) == 99
        assert row.endswith("...") and "the tests still fail: test_case_0" in row


def long_failing_entry() -> LedgerEntry:
    """A requirement gone from the specs whose last pass failed with a reason far wider than any terminal."""
    reason = "the tests still fail: " + " ".join(f"test_case_{n} expected {n} got {n + 1}" for n in range(12))
    return LedgerEntry(id="OLD-1", title="gone", status="failing", reason=reason)


def _read_all(fd: int) -> str:
    """Everything written to a pty until its other end closes (Linux then reports EIO)."""
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks).decode()


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""
