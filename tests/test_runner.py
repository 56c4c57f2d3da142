"""Tests for autodev.verify.runner: real test commands in real subprocesses, in temporary projects."""

from __future__ import annotations

import json
import os
import shlex
import stat
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import empty_pytest_project, pytest_child_env

from autodev.errors import TestRunError
from autodev.verify.runner import (
    KILL_GRACE_S,
    OUTPUT_CAP_BYTES,
    TestOutcome,
    TestRun,
    is_pytest_command,
    run_tests,
    scrubbed_environment,
)

pytestmark = pytest.mark.req("CORE-4")

PYTEST = [sys.executable, "-m", "pytest"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with its own empty pytest.ini, so this repository's pytest configuration cannot leak in."""
    return empty_pytest_project(tmp_path)


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    return tmp_path / "scratch" / "verify"


def write(root: Path, relative: str, source: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))


def files_in(root: Path) -> set[str]:
    return {path.relative_to(root).as_posix() for path in root.rglob("*")}


def process_gone(pid: int, within_s: float = 3.0) -> bool:
    """True once ``pid`` no longer runs (a zombie waiting for init to reap it counts as gone)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            stat_line = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return True
        except OSError:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
        else:
            if stat_line.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                return True
        time.sleep(0.05)
    return False


class TestScrubbedEnvironment:
    def test_drops_credentials_by_suffix_case_insensitively(self) -> None:
        """Any *_API_KEY, *_TOKEN, *_SECRET, *_PASSWORD variable is removed, whatever its case."""
        env = {
            "MY_API_KEY": "a",
            "some_token": "b",
            "App_Secret": "c",
            "DB_PASSWORD": "d",
            "PATH": "/bin",
            "TOKENIZERS_PARALLELISM": "false",
        }
        assert scrubbed_environment(env) == {"PATH": "/bin", "PYTHONDONTWRITEBYTECODE": "1"}

    def test_drops_known_provider_credentials(self) -> None:
        """Provider keys with other name shapes (AWS_ACCESS_KEY_ID, GOOGLE_APPLICATION_CREDENTIALS) go too."""
        names = [
            "OPENAI_API_KEY",
            "ANTHROPIC_API_KEY",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "GITHUB_TOKEN",
            "HF_TOKEN",
            "GOOGLE_APPLICATION_CREDENTIALS",
        ]
        scrubbed = scrubbed_environment({name: "x" for name in names} | {"HOME": "/home/u"})
        assert scrubbed == {"HOME": "/home/u", "PYTHONDONTWRITEBYTECODE": "1"}

    def test_does_not_change_the_given_mapping(self) -> None:
        """The caller's environment (often os.environ) is read, never modified."""
        env = {"OPENAI_API_KEY": "sk", "PYTHONDONTWRITEBYTECODE": "0"}
        scrubbed_environment(env)
        assert env == {"OPENAI_API_KEY": "sk", "PYTHONDONTWRITEBYTECODE": "0"}


class TestIsPytestCommand:
    @pytest.mark.parametrize(
        "argv",
        [
            ["pytest"],
            ["py.test", "-x"],
            ["/venv/bin/pytest", "tests"],
            ["python", "-m", "pytest"],
            ["python3", "-m", "pytest", "-k", "x"],
            ["/usr/bin/python3.11", "-X", "dev", "-m", "pytest"],
            ["python", "-mpytest"],
            ["uv", "run", "pytest"],
        ],
    )
    def test_recognises_pytest(self, argv: list[str]) -> None:
        """Every usual way of starting pytest gets the junit report added."""
        assert is_pytest_command(argv)

    @pytest.mark.parametrize(
        "argv",
        [
            [],
            ["make", "test"],
            ["python", "run_tests.py"],
            ["python", "-c", "import pytest"],
            ["python", "-m", "unittest"],
            ["pytest-watch"],
            ["tox"],
        ],
    )
    def test_rejects_other_commands(self, argv: list[str]) -> None:
        """Other commands are run as they are and judged by their exit status."""
        assert not is_pytest_command(argv)


class TestTestRun:
    def test_ids_are_grouped_by_outcome(self) -> None:
        """passed_ids and failing_ids (failed plus error) are what the verdict compares."""
        outcomes = {
            test_id: TestOutcome(test_id=test_id, outcome=kind)
            for test_id, kind in [("a", "passed"), ("b", "failed"), ("c", "error"), ("d", "skipped")]
        }
        run = TestRun(
            command=["pytest"],
            exit_code=1,
            timed_out=False,
            duration_s=1.0,
            output="",
            outcomes=outcomes,
            used_junit=True,
        )
        assert run.passed_ids == {"a"}
        assert run.failing_ids == {"b", "c"}
        assert not run.no_tests_collected

    def test_no_tests_collected_needs_pytest_exit_five_or_an_empty_report(self) -> None:
        """Exit 5 means 'no tests' only for pytest; an empty junit report means it for any pytest run."""

        def run(command: list[str], exit_code: int, used_junit: bool) -> TestRun:
            return TestRun(
                command=command,
                exit_code=exit_code,
                timed_out=False,
                duration_s=0.1,
                output="",
                outcomes={},
                used_junit=used_junit,
            )

        assert run(["pytest"], 5, used_junit=False).no_tests_collected
        assert run(["pytest"], 0, used_junit=True).no_tests_collected
        assert not run(["make", "test"], 5, used_junit=False).no_tests_collected


class TestRunTests:
    def test_passing_suite_has_outcomes_and_leaves_the_tree_clean(self, project: Path, scratch: Path) -> None:
        """Outcomes come from junit; no __pycache__, .pytest_cache or report is left behind."""
        write(project, "temps.py", "def to_f(c):\n    return c * 9 / 5 + 32\n")
        write(
            project,
            "tests/test_temps.py",
            """\
            from temps import to_f

            def test_freezing():
                assert to_f(0) == 32

            def test_boiling():
                assert to_f(100) == 212
            """,
        )
        before = files_in(project)
        run = run_tests(project, shlex.join(PYTEST), timeout_s=60, scratch_dir=scratch, env=pytest_child_env())
        assert run.exit_code == 0, run.output
        assert run.used_junit and not run.timed_out
        assert run.passed_ids == {"tests/test_temps.py::test_freezing", "tests/test_temps.py::test_boiling"}
        assert "2 passed" in run.output
        assert files_in(project) == before
        assert list(scratch.iterdir()) == []

    def test_failing_suite_reports_messages(self, project: Path, scratch: Path) -> None:
        """A failing assertion is a 'failed' outcome with pytest's message and traceback."""
        write(
            project,
            "tests/test_math.py",
            """\
            def test_ok():
                assert 1 + 1 == 2

            def test_wrong():
                assert 1 + 1 == 3, "arithmetic is broken"
            """,
        )
        run = run_tests(project, PYTEST, timeout_s=60, scratch_dir=scratch, env=pytest_child_env())
        assert run.exit_code == 1
        assert run.failing_ids == {"tests/test_math.py::test_wrong"}
        failure = run.outcomes["tests/test_math.py::test_wrong"]
        assert failure.message == "AssertionError: arithmetic is broken"
        assert "assert 1 + 1 == 3" in failure.details

    def test_collection_error_names_the_broken_file(self, project: Path, scratch: Path) -> None:
        """A test module with a syntax error becomes an error outcome named after it; the other tests still run."""
        write(project, "tests/test_broken.py", "def test_x(:\n    pass\n")
        write(project, "tests/test_fine.py", "def test_fine():\n    pass\n")
        run = run_tests(project, PYTEST, timeout_s=60, scratch_dir=scratch, env=pytest_child_env())
        assert run.exit_code == 1
        assert set(run.outcomes) == {"tests/test_broken.py", "tests/test_fine.py::test_fine"}
        assert run.outcomes["tests/test_fine.py::test_fine"].outcome == "passed"
        assert run.outcomes["tests/test_broken.py"].outcome == "error"
        assert "SyntaxError" in run.outcomes["tests/test_broken.py"].message

    def test_test_class_ids_include_the_class(self, project: Path, scratch: Path) -> None:
        """Methods of a test class get ids like tests/test_x.py::TestCls::test_a."""
        write(
            project,
            "tests/test_cls.py",
            """\
            class TestThing:
                def test_a(self):
                    pass

                def test_b(self):
                    raise ValueError("boom")
            """,
        )
        run = run_tests(project, PYTEST, timeout_s=60, scratch_dir=scratch, env=pytest_child_env())
        assert run.passed_ids == {"tests/test_cls.py::TestThing::test_a"}
        assert run.failing_ids == {"tests/test_cls.py::TestThing::test_b"}
        assert run.outcomes["tests/test_cls.py::TestThing::test_b"].message == "ValueError: boom"

    def test_extra_args_are_passed_to_the_command(self, project: Path, scratch: Path) -> None:
        """extra_args reach pytest, e.g. to select tests."""
        write(project, "tests/test_two.py", "def test_one():\n    pass\n\ndef test_two():\n    pass\n")
        run = run_tests(
            project, PYTEST, timeout_s=60, scratch_dir=scratch, env=pytest_child_env(), extra_args=["-k", "test_one"]
        )
        assert set(run.outcomes) == {"tests/test_two.py::test_one"}
        assert run.command[-2:] == ["-k", "test_one"]

    def test_timeout_kills_the_whole_process_group(self, project: Path, scratch: Path) -> None:
        """A hanging test and the background child it spawned are both killed, right after the timeout."""
        write(
            project,
            "tests/test_hang.py",
            """\
            import pathlib, subprocess, time

            def test_hangs():
                child = subprocess.Popen(["sleep", "60"])
                pathlib.Path("sleeper.pid").write_text(str(child.pid))
                time.sleep(60)
            """,
        )
        started = time.monotonic()
        run = run_tests(project, PYTEST, timeout_s=3, scratch_dir=scratch, env=pytest_child_env())
        elapsed = time.monotonic() - started
        assert run.timed_out
        assert run.exit_code is None
        assert elapsed < 3 + KILL_GRACE_S - 0.5  # SIGTERM ended it, no need to wait for SIGKILL
        pid_file = project / "sleeper.pid"
        assert pid_file.exists(), "the test did not start its background child before the timeout"
        assert process_gone(int(pid_file.read_text()))
        assert list(scratch.iterdir()) == []
        assert run.running == "tests/test_hang.py::test_hangs"  # the plugin said which test was in progress

    def test_strict_markers_accept_req_in_another_interpreter(
        self, project: Path, scratch: Path, tmp_path: Path
    ) -> None:
        """pytest in an interpreter that is not autodev's (the project's virtualenv) loads a copy of autodev's
        plugin, so a test marked @pytest.mark.req runs under --strict-markers without the marker registered."""
        wrapper = tmp_path / "venv" / "bin" / "python"
        wrapper.parent.mkdir(parents=True)
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n', encoding="utf-8")
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
        write(project, "pytest.ini", "[pytest]\naddopts = --strict-markers\n")
        write(project, "tests/test_m.py", 'import pytest\n\n@pytest.mark.req("R-1")\ndef test_m():\n    pass\n')
        run = run_tests(
            project, [str(wrapper), "-m", "pytest"], timeout_s=60, scratch_dir=scratch, env=pytest_child_env()
        )
        assert run.passed_ids == {"tests/test_m.py::test_m"}, run.output
        assert list(scratch.iterdir()) == []

    def test_process_ignoring_sigterm_is_killed_after_the_grace_period(self, project: Path, scratch: Path) -> None:
        """SIGTERM is followed by SIGKILL after the grace period, so a stubborn process cannot hold us."""
        script = (
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(60)"
        )
        started = time.monotonic()
        run = run_tests(project, [sys.executable, "-c", script], timeout_s=0.5, scratch_dir=scratch)
        elapsed = time.monotonic() - started
        assert run.timed_out
        assert KILL_GRACE_S <= elapsed < 0.5 + KILL_GRACE_S + 1.5

    def test_background_child_left_after_a_normal_exit_is_killed(self, project: Path, scratch: Path) -> None:
        """A straggler holding the output file open neither delays us nor survives the run."""
        command = ["sh", "-c", "sleep 30 & echo $! > bg.pid; echo started"]
        started = time.monotonic()
        run = run_tests(project, command, timeout_s=20, scratch_dir=scratch)
        assert time.monotonic() - started < 5
        assert run.exit_code == 0 and not run.timed_out
        assert run.output == "started\n"
        assert process_gone(int((project / "bg.pid").read_text()))

    def test_child_environment_is_scrubbed(self, project: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Provider keys in os.environ never reach the tests; ordinary variables do."""
        monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
        monkeypatch.setenv("GITHUB_TOKEN", "ghp-secret")
        monkeypatch.setenv("AUTODEV_TEST_KEEP_ME", "kept")
        monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
        write(
            project,
            "tests/test_env.py",
            """\
            import json, os, pathlib

            def test_dump():
                pathlib.Path("env.json").write_text(json.dumps(dict(os.environ)))
            """,
        )
        run = run_tests(project, PYTEST, timeout_s=60, scratch_dir=scratch)
        assert run.exit_code == 0, run.output
        seen = json.loads((project / "env.json").read_text())
        assert "OPENAI_API_KEY" not in seen
        assert "GITHUB_TOKEN" not in seen
        assert seen["AUTODEV_TEST_KEEP_ME"] == "kept"
        assert seen["PYTHONDONTWRITEBYTECODE"] == "1"

    def test_missing_command_tells_the_user_what_to_configure(self, project: Path, scratch: Path) -> None:
        """A command that does not exist is a TestRunError pointing at [project] test_command."""
        with pytest.raises(TestRunError, match=r"\[project\] test_command"):
            run_tests(project, "no-such-test-runner-autodev", timeout_s=10, scratch_dir=scratch)

    def test_non_executable_command_is_a_test_run_error(self, project: Path, scratch: Path) -> None:
        """A script without the execute bit cannot start: TestRunError, not a red run."""
        script = project / "run.sh"
        script.write_text("#!/bin/sh\nexit 0\n")
        script.chmod(stat.S_IRUSR | stat.S_IWUSR)
        with pytest.raises(TestRunError, match="test_command"):
            run_tests(project, "./run.sh", timeout_s=10, scratch_dir=scratch)

    def test_non_pytest_command_is_judged_by_exit_status(self, project: Path, scratch: Path) -> None:
        """Other commands run unchanged (no pytest options) and have no per-test outcomes."""
        command = [sys.executable, "-c", "import sys; print('hi'); sys.exit(3)"]
        run = run_tests(project, command, timeout_s=30, scratch_dir=scratch)
        assert run.command == command
        assert run.exit_code == 3
        assert not run.used_junit and run.outcomes == {}
        assert run.output == "hi\n"

    def test_no_tests_collected(self, project: Path, scratch: Path) -> None:
        """An empty suite ends with pytest's exit status 5 and counts as 'no tests collected'."""
        run = run_tests(project, PYTEST, timeout_s=60, scratch_dir=scratch, env=pytest_child_env())
        assert run.exit_code == 5
        assert run.used_junit and run.outcomes == {}
        assert run.no_tests_collected

    def test_output_keeps_the_last_64_kib_without_colour_codes(self, project: Path, scratch: Path) -> None:
        """Long output is cut at the front with a marker; ANSI escapes are removed."""
        script = "print('x' * 200); print(('y' * 99 + '\\n') * 1000); print('\\x1b[31mEND\\x1b[0m')"
        run = run_tests(project, [sys.executable, "-c", script], timeout_s=30, scratch_dir=scratch)
        assert run.output.startswith("[... output truncated")
        assert run.output.endswith("\nEND\n")
        assert "\x1b" not in run.output
        assert len(run.output.encode()) <= OUTPUT_CAP_BYTES

    def test_unparsable_command_string_is_a_test_run_error(self, project: Path, scratch: Path) -> None:
        """An unbalanced quote in the configured command is reported, not run."""
        with pytest.raises(TestRunError, match="test_command"):
            run_tests(project, "pytest 'unclosed", timeout_s=10, scratch_dir=scratch)


@pytest.mark.req("CORE-4")
class TestCredentialShapes:
    def test_keys_tokens_and_urls_with_passwords_are_dropped_by_name_or_value(self) -> None:
        """Findings of the adversarial run: these reached the tests before."""
        env = {
            "DEEPSEEK_KEY": "a",
            "GITHUB_PAT": "b",
            "DATABASE_URL": "postgres://app:hunter2@db:5432/app",
            "CACHE_URL": "redis://cache:6379/0",
            "PGPASSWORD": "c",
            "PATH": "/bin",
        }
        assert scrubbed_environment(env) == {"PATH": "/bin", "PYTHONDONTWRITEBYTECODE": "1"}

    def test_only_the_allowlist_passes_unless_pass_env_names_more(self) -> None:
        """An allowlist, not a pattern: a variable nobody foresaw (CACHE_URL, DJANGO_SETTINGS_MODULE) stays out."""
        env = {
            "PATH": "/bin",
            "LC_ALL": "C",
            "VIRTUAL_ENV": "/v",
            "CACHE_URL": "redis://c/0",
            "DJANGO_SETTINGS_MODULE": "s",
        }
        assert set(scrubbed_environment(env)) == {"PATH", "LC_ALL", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE"}
        passed = scrubbed_environment(env, ["DJANGO_*", "CACHE_URL"])
        assert passed["DJANGO_SETTINGS_MODULE"] == "s" and passed["CACHE_URL"] == "redis://c/0"

    def test_pass_env_lets_a_credential_through_when_the_user_says_so(self) -> None:
        env = {"DATABASE_URL": "postgres://app:pw@db/app"}
        assert "DATABASE_URL" not in scrubbed_environment(env)
        assert scrubbed_environment(env, ["DATABASE_URL"])["DATABASE_URL"] == "postgres://app:pw@db/app"
