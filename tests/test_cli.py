"""The command line as a user meets it: a real `python -m autodev` process, init, version, help, -C."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import RIGHT, WRONG, git, setup_example

from autodev import __version__
from autodev.cli.main import run_cli
from autodev.testing import ScriptedServer

pytestmark = pytest.mark.req("CORE-1")

FORBIDDEN_GIT = ("reset", "stash", "clean", "checkout", "restore")


def autodev_process(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autodev", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
    )


class TestRealProcess:
    def test_done_when_example_project_gets_committed(self, repo: Path, tmp_path: Path) -> None:
        """`autodev -C DIR run --once` in a fresh process commits a passing temps.py, using no forbidden git command."""
        with ScriptedServer([WRONG, RIGHT]) as server:
            setup_example(repo, server.url)
            trace = tmp_path / "git-trace.log"
            env = {**os.environ, "GIT_TRACE": str(trace)}
            done = autodev_process("-C", str(repo), "run", "--once", env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "ok: SPEC.md" in done.stdout
        assert "attempt 1 (tier1 scripted): red" in done.stdout
        assert "rolled back" in done.stderr
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=repo, capture_output=True
        )
        assert run.returncode == 0
        commands = [
            line.split("trace: built-in: ", 1)[1] for line in trace.read_text().splitlines() if "built-in: " in line
        ]
        assert commands, "GIT_TRACE recorded no git command"
        for command in commands:
            words = command.split()
            assert not (len(words) > 1 and words[1] in FORBIDDEN_GIT), command

    def test_version(self) -> None:
        """--version prints the package version."""
        done = autodev_process("--version")
        assert done.returncode == 0
        assert __version__ in done.stdout

    def test_missing_directory_is_a_usage_error(self, tmp_path: Path) -> None:
        """-C with a directory that does not exist exits 2 and names it."""
        done = autodev_process("-C", str(tmp_path / "nope"), "run", "--once")
        assert done.returncode == 2
        assert "nope" in done.stderr

    def test_help_names_the_first_steps(self) -> None:
        """The top-level help shows init and run --once."""
        done = autodev_process("--help")
        assert "autodev init" in done.stdout
        assert "run --once" in done.stdout


class TestInit:
    def test_init_in_a_plain_directory(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """init creates a repository, autodev.toml, SPEC.md and ignores .autodev/ in .gitignore."""
        root = tmp_path / "fresh"
        root.mkdir()
        assert run_cli(["-C", str(root), "init"]) == 0
        assert (root / ".git").is_dir()
        assert (root / "autodev.toml").is_file()
        assert (root / "SPEC.md").is_file()
        assert (root / ".gitignore").read_text(
            encoding="utf-8"
        ) == ".autodev/*\n!.autodev/workflows/\n!.autodev/commands/\n"
        out = capsys.readouterr().out
        assert "created autodev.toml" in out
        assert "initialised a git repository" in out

    def test_init_keeps_existing_files(self, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Existing SPEC.md and .gitignore content are kept; the entry is appended once."""
        (repo / "SPEC.md").write_text("# Mine\n", encoding="utf-8")
        (repo / ".gitignore").write_text("*.log", encoding="utf-8")
        assert run_cli(["-C", str(repo), "init"]) == 0
        assert run_cli(["-C", str(repo), "init"]) == 0
        assert (repo / "SPEC.md").read_text(encoding="utf-8") == "# Mine\n"
        assert (repo / ".gitignore").read_text(encoding="utf-8") == (
            "*.log\n.autodev/*\n!.autodev/workflows/\n!.autodev/commands/\n"
        )
        assert "kept existing SPEC.md" in capsys.readouterr().out


class TestSigterm:
    def test_sigterm_during_tests_rolls_back_at_once(self, repo: Path) -> None:
        """A service manager's SIGTERM mid-attempt exits at once: the attempt lived in the copy, no journal, the
        user's tree as it was."""
        import signal
        import time

        (repo / "tests").mkdir()
        (repo / "tests" / "test_slow.py").write_text(
            # slow only once the attempt has written temps.py: the baseline run stays quick
            "import os, time\n\ndef test_slow():\n    if os.path.exists('temps.py'):\n        time.sleep(30)\n"
        )
        with ScriptedServer([RIGHT]) as server:
            setup_example(repo, server.url)
            process = subprocess.Popen(
                [sys.executable, "-m", "autodev", "-C", str(repo), "run", "--once"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            journal = repo / ".autodev" / "journal.json"
            in_copy = repo / ".autodev" / "scratch" / "copy" / "temps.py"  # the attempt's change, tested there
            deadline = time.monotonic() + 90
            while not in_copy.exists() and time.monotonic() < deadline and process.poll() is None:
                time.sleep(0.05)
            assert in_copy.exists(), "the attempt never started"
            time.sleep(0.3)
            process.send_signal(signal.SIGTERM)
            _, err = process.communicate(timeout=30)
        assert process.returncode == 130, err
        assert not (repo / "temps.py").exists()
        assert not journal.exists()
        assert git(repo, "status", "--porcelain").strip() == ""


class TestLogging:
    def test_log_json_prints_json_lines_on_stderr(self, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """--log-json turns the console log into JSON lines (for log shippers); stdout keeps the summary."""
        import json

        with ScriptedServer([RIGHT]) as server:
            setup_example(repo, server.url)
            assert run_cli(["-C", str(repo), "--log-json", "run", "--once"]) == 0
        captured = capsys.readouterr()
        events = [json.loads(line) for line in captured.err.splitlines() if line.strip()]
        assert {"requirement", "committed"} <= {event["event"] for event in events}
        assert all("timestamp" in event and "level" in event for event in events)
        assert captured.out.startswith("ok: SPEC.md")

    def test_quiet_hides_progress(self, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """-q shows only warnings and errors on the console; the log file still gets everything."""
        with ScriptedServer([RIGHT]) as server:
            setup_example(repo, server.url)
            assert run_cli(["-C", str(repo), "-q", "run", "--once"]) == 0
        assert "baseline tests" not in capsys.readouterr().err
        assert "baseline tests" in (repo / ".autodev" / "logs" / "autodev.jsonl").read_text(encoding="utf-8")
