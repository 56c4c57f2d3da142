"""The console of `autodev run --once`, as a person sees it: in a pseudo-terminal, in a pipe, with -v, -q, --log-json.

The terminal tests run the real CLI in a subprocess whose stdout and stderr are a pty, against the scripted server
with a slow reply, and read what appeared while the server was still holding its answer back. The plain-output
tests run the CLI in process (its stderr is then no terminal). Ctrl-C is a real SIGINT to a real process.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import (
    NO_SERVER,
    RIGHT,
    STUB,
    autodev,
    cli_process,
    config_text,
    git,
    head,
    read_pty,
    setup_example,
    snapshot,
    write_files,
)

from autodev.cli.console import ProgressConsole
from autodev.cli.terminal import Terminal
from autodev.progress import (
    Committed,
    EditsApplied,
    ModelAnswered,
    ModelAsked,
    ModelStreaming,
    RequirementStarted,
    RolledBack,
)
from autodev.testing import ScriptedReply, ScriptedServer

pytestmark = pytest.mark.req("CORE-1")

COLOUR = re.compile(r"\x1b\[[0-9;]*m")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
STATUS = re.compile(r"\r[^\n]*scripted \(tier1\): (\d+) s, \d+ tokens")


@pytest.fixture
def project(repo: Path, server: ScriptedServer) -> Path:
    """examples/temperature with a committed stub, pointed at the scripted server, all committed."""
    setup_example(repo, server.url, stub=True)
    return repo


def wait_for(condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


class TestTerminal:
    def test_steps_and_a_live_status_appear_while_the_model_is_still_working(
        self, project: Path, server: ScriptedServer
    ) -> None:
        """Requirement, model and tier are on the terminal before the reply; the status line counts seconds."""
        delay = 2.5
        server.push(ScriptedReply(content=RIGHT, delay_s=delay))
        asked: list[float] = []

        def note_request() -> None:
            if not asked and server.requests:
                asked.append(time.monotonic())

        master, slave = os.openpty()
        process = cli_process(project, "run", "--once", terminal=slave)
        transcript = read_pty(master, process, timeout_s=60, on_read=note_request)
        assert process.returncode == 0, transcript.text
        assert asked, transcript.text
        answered = asked[0] + delay - 0.3  # the server holds its reply back `delay` s; 0.3 s of polling slack
        for text in ("SPEC.md (Temperature converter): the test suite fails; writing temps.py",
                     "asking scripted (tier1)"):  # fmt: skip
            seen = transcript.first_seen(text)
            assert seen is not None and seen < answered, transcript.text
        seconds = {int(match.group(1)) for at, piece in transcript.pieces if asked[0] <= at < answered
                   for match in STATUS.finditer(piece)}  # fmt: skip
        assert len(seconds) >= 2, transcript.pieces  # rewritten in place as the seconds go by
        assert f"committed {head(project)[:7]}: temps.py" in transcript.text
        assert COLOUR.search(transcript.text)

    def test_no_color_means_no_colour_codes_in_steps_or_log_lines(self, project: Path, server: ScriptedServer) -> None:
        """NO_COLOR=1 on a terminal: the steps and -v's structured lines come without ANSI colour codes."""
        server.push(RIGHT)
        master, slave = os.openpty()
        process = cli_process(project, "-v", "run", "--once", env={"NO_COLOR": "1"}, terminal=slave)
        transcript = read_pty(master, process, timeout_s=60)
        assert process.returncode == 0, transcript.text
        assert "asking scripted (tier1)" in transcript.text
        assert "[info" in transcript.text
        assert COLOUR.findall(transcript.text) == []


class TestPlainOutput:
    def test_a_pipe_gets_human_lines_without_status_colour_or_timestamps(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Not a terminal: one whole line per step, no carriage returns, no escapes, no structlog lines."""
        server.push(RIGHT)
        assert autodev(project, "run", "--once") == 0
        captured = capsys.readouterr()
        err = captured.err
        assert "tests before any change: 0 passed, 1 failing" in err
        assert "SPEC.md (Temperature converter): the test suite fails; writing temps.py" in err
        assert "  asking scripted (tier1)\n" in err
        assert "  tests (attempt 1): 6 passed, 0 failing" in err
        assert f"  committed {head(project)[:7]}: temps.py\n" in err
        assert "\r" not in err and "\x1b" not in err
        assert not TIMESTAMP.search(err)
        assert captured.out.startswith("ok: SPEC.md (Temperature converter): tests pass; committed")

    def test_a_failed_call_is_one_plain_line_and_an_error_line(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A dead model server: 'scripted failed: cannot connect' and 'error: ...', without reprs or timestamps."""
        config = config_text(NO_SERVER, max_attempts="1").replace("[llm.tiers]", "[llm]\nretries = 0\n[llm.tiers]")
        (project / "autodev.toml").write_text(config, encoding="utf-8")
        git(project, "commit", "-qam", "dead server")
        assert autodev(project, "run", "--once") == 1
        err = capsys.readouterr().err
        assert "  scripted failed: cannot connect: " in err
        assert "\nerror: no model of the tier answered (tier: tier1; error: " in err
        assert not TIMESTAMP.search(err)

    def test_verbose_adds_structured_events(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """-v: the structured debug events as well as the steps."""
        server.push(RIGHT)
        assert autodev(project, "-v", "run", "--once") == 0
        err = capsys.readouterr().err
        assert TIMESTAMP.search(err)
        assert re.search(r"\[debug\s*\] model reply", err)
        assert "  asking scripted (tier1)" in err

    def test_the_log_file_keeps_every_event_whatever_the_console_shows(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The console shows steps (or, with --log-json, JSON lines only); autodev.jsonl gets every event."""
        server.push(RIGHT, RIGHT)
        assert autodev(project, "run", "--once") == 0
        err = capsys.readouterr().err
        assert "edits applied" not in err and "route" not in err
        log = project / ".autodev" / "logs" / "autodev.jsonl"
        events = [json.loads(line)["event"] for line in log.read_text(encoding="utf-8").splitlines()]
        assert {"route", "edits applied", "committed", "attempt 1 tests"} <= set(events)
        git(project, "revert", "--no-edit", "HEAD")
        assert autodev(project, "--log-json", "run", "--once") == 0
        lines = capsys.readouterr().err.splitlines()
        assert [json.loads(line)["event"] for line in lines if "route" in line][:1] == ["route"]
        assert all(isinstance(json.loads(line), dict) for line in lines)

    def test_quiet_shows_only_the_summary_even_when_tests_import_unwritten_code(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """-q on a test-first project (the tests import a module not written yet): no notice, no steps, the summary."""
        setup_example(repo, server.url)
        (repo / "SPEC.md").write_text("# Temps\n\n## TEMP-1: Kelvin\nFiles: temps.py\n\n`to_kelvin(c)`.\n")
        write_files(repo, {"tests/test_temps.py": (
            'import pytest\nfrom temps import to_kelvin\n\n\n@pytest.mark.req("TEMP-1")\n'
            "def test_kelvin():\n    assert to_kelvin(0) == 273.15\n"
        )})  # fmt: skip
        git(repo, "commit", "-qam", "one requirement with an ID")
        server.push(RIGHT)
        assert autodev(repo, "-q", "run", "--once") == 0
        captured = capsys.readouterr()
        assert captured.err == ""
        assert captured.out.startswith("ok: TEMP-1 (Kelvin): tests pass; committed")


SLOW_WHEN_CHANGED = """\
import time
from pathlib import Path


def test_slow_once_temps_is_written():
    if b"NotImplementedError" not in (Path(__file__).parent.parent / "temps.py").read_bytes():
        time.sleep(20)
"""


class TestCtrlC:
    def test_during_the_model_call_nothing_was_applied(self, project: Path, server: ScriptedServer) -> None:
        """SIGINT while the model thinks: exit 130, 'nothing had been applied', and every byte as it was."""
        server.push(ScriptedReply(content=RIGHT, delay_s=10))
        before, files = head(project), snapshot(project)
        process = cli_process(project, "run", "--once")
        wait_for(lambda: bool(server.requests))
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
        assert process.returncode == 130, err
        message = err.decode()
        assert "interrupted on SPEC.md (Temperature converter) while waiting for scripted (tier1)" in message
        assert "nothing had been applied to your files" in message
        assert (head(project), snapshot(project)) == (before, files)

    def test_twice_while_the_tests_run_leaves_every_byte_without_a_traceback(
        self, project: Path, server: ScriptedServer
    ) -> None:
        """Two SIGINTs while an attempt's tests run (in the copy): exit 130, nothing was applied, the tree byte for
        byte as before."""
        write_files(project, {"tests/test_slow.py": SLOW_WHEN_CHANGED})
        git(project, "add", "-A")
        git(project, "commit", "-qm", "a test that is slow once temps.py changes")
        server.push(RIGHT)
        before, files, status = head(project), snapshot(project), git(project, "status", "--porcelain")
        process = cli_process(project, "run", "--once")
        journal = project / ".autodev" / "journal.json"
        in_copy = project / ".autodev" / "scratch" / "copy" / "temps.py"
        wait_for(lambda: in_copy.exists() and b"NotImplementedError" not in in_copy.read_bytes())  # the attempt
        time.sleep(0.5)  # the attempt's tests are running
        for _ in range(3):
            process.send_signal(signal.SIGINT)
            time.sleep(0.05)
        try:
            _, err = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        message = err.decode()
        assert process.returncode == 130, message
        assert "Traceback" not in message
        assert "while running the tests (attempt 1): nothing had been applied to your files" in message, message
        assert (project / "temps.py").read_bytes() == STUB
        assert (head(project), snapshot(project)) == (before, files)
        assert git(project, "status", "--porcelain") == status
        assert not journal.exists()


def console(*, live: bool, still_waiting_s: float = 10.0) -> tuple[ProgressConsole, io.StringIO]:
    stream = io.StringIO()
    return ProgressConsole(Terminal(stream, live=live, colors=False), still_waiting_s=still_waiting_s), stream


STARTED = RequirementStarted(requirement="REQ-1", title="Kelvin", targets=("temps.py",), failing=("t::a",))


class TestProgressConsole:
    def test_a_terminal_status_shows_seconds_and_tokens_and_goes_when_the_model_answers(self) -> None:
        """While a model streams the status line (after \\r) has its tokens; its answer replaces it with a line."""
        shown, stream = console(live=True)
        shown(STARTED)
        shown(ModelAsked(model="m", tier="tier1"))
        shown(ModelStreaming(model="m", tokens=7))
        shown.tick()
        assert stream.getvalue().endswith("\r  m (tier1): 0 s, 7 tokens")
        shown(ModelAnswered(model="m", tier="tier1", output_tokens=7, seconds=1.25))
        assert stream.getvalue().endswith("\r  m answered: 7 tokens in 1.2 s\n")

    def test_plain_output_says_still_waiting_and_never_rewrites(self) -> None:
        """Without a terminal a long call gets a 'still waiting' line now and then, and no \\r at all."""
        shown, stream = console(live=False, still_waiting_s=0.0)
        shown(ModelAsked(model="m", tier="tier2"))
        shown(ModelStreaming(model="m", tokens=3))
        shown.tick()
        assert stream.getvalue() == "  asking m (tier2)\n  still waiting: m (tier2): 0 s, 0 tokens\n" \
            "  still waiting: m (tier2): 0 s, 3 tokens\n"  # fmt: skip
        assert "\r" not in stream.getvalue()

    def test_an_interruption_names_what_was_rolled_back_and_what_is_kept(self) -> None:
        """After Ctrl-C the console says which requirement's files came back, and which commits stay."""
        shown, _ = console(live=False)
        shown(STARTED)
        shown(Committed(requirement="REQ-0", sha="abcdef1234", files=("a.py",)))
        shown(EditsApplied(requirement="REQ-1", files=("temps.py",)))
        assert "while temps.py held an attempt's changes" in shown.interruption()
        shown(RolledBack(requirement="REQ-1", files=("temps.py",), reason="KeyboardInterrupt", interrupted=True))
        assert shown.interruption() == (
            "interrupted on REQ-1 (Kelvin): the attempt was rolled back; restored byte for byte: temps.py; "
            "committed abcdef1 (REQ-0) is kept"
        )
