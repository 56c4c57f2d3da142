"""`autodev run --once` end to end, one test per path a user takes: real git, pytest, and LiteLLM over HTTP.

Each test builds a copy of examples/temperature in its own git repository, scripts the model's replies on the
scripted server, runs the CLI in process (LiteLLM is imported once per session) and checks the exit code, what
the CLI printed, git and the requests the model received. The decisions behind these paths are tested in
process, without HTTP or pytest subprocesses, in test_run_once.py, test_routing.py and test_requirements.py.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import (
    BROKEN,
    EXAMPLE,
    HOPELESS,
    RIGHT,
    STUB,
    WRONG,
    autodev,
    config_text,
    git,
    head,
    run_json,
    setup_example,
    snapshot,
    two_tiers,
    write_files,
)

from autodev.testing import ScriptedReply, ScriptedServer

pytestmark = pytest.mark.req("CORE-1")


@pytest.fixture
def project(repo: Path, server: ScriptedServer) -> Path:
    """examples/temperature with a committed stub, pointed at the scripted server, all committed."""
    setup_example(repo, server.url, stub=True)
    return repo


def trailer(project: Path) -> str:
    return git(project, "log", "-1", "--format=%(trailers:key=Autodev-Model,valueonly)").strip()


class TestGreenPath:
    def test_commits_only_the_target_with_trailers(self, project: Path, server: ScriptedServer) -> None:
        """A right reply gives one commit holding only temps.py, with the requirement and model trailers."""
        server.push(RIGHT)
        before = head(project)
        assert autodev(project, "run", "--once") == 0
        assert git(project, "rev-list", "--count", f"{before}..HEAD").strip() == "1"
        assert git(project, "show", "--name-only", "--format=", "HEAD").split() == ["temps.py"]
        trailers = git(project, "log", "-1", "--format=%(trailers:only,unfold)")
        assert "Autodev-Requirement: SPEC.md" in trailers
        assert "Autodev-Model: openai/scripted" in trailers
        assert git(project, "log", "-1", "--format=%s").strip() == "autodev: Temperature converter"
        assert git(project, "status", "--porcelain").strip() == ""
        assert ".autodev/" in (project / ".git" / "info" / "exclude").read_text(encoding="utf-8")
        assert not (project / ".gitignore").exists()

    def test_json_output_for_scripts(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--json prints one JSON object with the status, commit, attempts and tokens."""
        server.push(RIGHT)
        assert autodev(project, "run", "--once", "--json") == 0
        result = json.loads(capsys.readouterr().out)
        assert result["status"] == "satisfied"
        assert result["commit"] == head(project)
        assert result["exit_code"] == 0
        assert result["attempts"][0]["input_tokens"] > 0
        assert result["requirements"][0]["targets"] == ["temps.py"]


class TestRedPath:
    def test_wrong_replies_leave_everything_as_it_was(self, project: Path, server: ScriptedServer) -> None:
        """After only wrong replies: exit 1, HEAD, git status and every byte unchanged."""
        server.push(WRONG, BROKEN, WRONG)
        before, status, files = head(project), git(project, "status", "--porcelain"), snapshot(project)
        assert autodev(project, "run", "--once") == 1
        assert head(project) == before
        assert git(project, "status", "--porcelain") == status
        assert snapshot(project) == files
        assert (project / "temps.py").read_bytes() == STUB
        assert len(server.requests) == 3

    def test_max_attempts_bounds_the_calls(self, project: Path, server: ScriptedServer) -> None:
        """--max-attempts caps the model calls of the pass."""
        server.push(WRONG, WRONG, WRONG)
        assert autodev(project, "run", "--once", "--max-attempts", "1") == 1
        assert len(server.requests) == 1


class TestFailingDisk:
    def test_full_disk_ends_the_pass_with_nothing_changed(
        self, project: Path, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """ENOSPC while writing ends the pass with a clear error (exit 1), every byte and HEAD as before."""
        from autodev import fileio

        def full(fd: int) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(fileio.os, "fsync", full)
        server.push(RIGHT)
        before, files = head(project), snapshot(project)
        assert autodev(project, "run", "--once") == 1
        assert "No space left on device" in capsys.readouterr().err
        assert head(project) == before
        assert snapshot(project) == files
        assert not (project / ".autodev" / "journal.json").exists()


class TestEscalation:
    def test_next_tier_commits_after_a_failure_without_seeing_the_failed_reply(
        self, project: Path, server: ScriptedServer
    ) -> None:
        """A hopeless tier1 reply escalates at once; tier2 gets the clean first prompt (not the reply, not its
        failure: ``escalation_shows_failure`` is off by default) and its commit names it."""
        ladder = (
            config_text(server.url).replace('tier1 = ["scripted"]', 'tier1 = ["scripted"]\ntier2 = ["big"]')
            + f'[llm.models.big]\nmodel = "openai/big"\napi_base = "{server.url}"\n'
        )
        (project / "autodev.toml").write_text(ladder, encoding="utf-8")
        git(project, "commit", "-q", "-am", "two tiers")
        server.push(HOPELESS, RIGHT)
        assert autodev(project, "run", "--once") == 0
        first, second = server.requests
        assert (first.model, second.model) == ("scripted", "big")
        assert "return 0" not in second.prompt_text
        assert second.messages == first.messages
        assert "Autodev-Model: openai/big" in git(project, "log", "-1", "--format=%(trailers:only,unfold)")


class TestBudget:
    def test_the_requirement_cap_stops_work_before_a_call_that_could_exceed_it(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Each call may cost up to $1.00 (100 tokens at $0.01); after $0.60 spent, a $1.50 cap allows no second."""
        priced = "output_cost_per_token = 0.01\ninput_cost_per_token = 0.0\nmax_tokens = 100\n"
        config = two_tiers(server.url, big_extra=priced).replace(
            'api_base = "' + server.url + '"\ntimeout_s = 20\n[llm.models.big]',
            'api_base = "' + server.url + '"\ntimeout_s = 20\n' + priced + "[llm.models.big]",
        )
        setup_example(repo, server.url, config=config + "[budget]\nper_requirement_usd = 1.5\n")
        server.push(ScriptedReply(content=HOPELESS, completion_tokens=60), RIGHT)
        code, result = run_json(repo, capsys)
        assert code == 1
        assert result["status"] == "blocked"
        reason = str(result["reason"])
        assert "requirement cap of $1.5000" in reason
        assert "spent $0.6000" in reason
        assert "up to $1.0000" in reason
        assert len(server.requests) == 1
        assert server.remaining == 1


class TestReplay:
    def test_a_verified_result_is_replayed_without_a_model_call(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Back in a state once made green (autodev's commit reverted), tier0 replays the change: no request."""
        setup_example(repo, server.url, config=two_tiers(server.url))
        server.push(RIGHT)
        assert autodev(repo, "run", "--once") == 0
        solved = (repo / "temps.py").read_bytes()
        git(repo, "revert", "--no-edit", "HEAD")
        code, result = run_json(repo, capsys)
        assert code == 0
        assert result["tier"] == "tier0"
        assert len(server.requests) == 1
        assert trailer(repo) == "tier0/replay"
        assert (repo / "temps.py").read_bytes() == solved


class TestReliability:
    def test_two_server_errors_then_success_are_retried_transparently(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """500, 500, then a right answer: one attempt, committed, three requests on the wire."""
        setup_example(repo, server.url, config=two_tiers(server.url))
        server.push(ScriptedReply(status=500), ScriptedReply(status=500), RIGHT)
        code, result = run_json(repo, capsys)
        assert code == 0
        assert len(server.requests) == 3
        attempts = result["attempts"]
        assert isinstance(attempts, list) and len(attempts) == 1
        capsys.readouterr()
        assert autodev(repo, "metrics", "--json") == 0
        assert json.loads(capsys.readouterr().out)["totals"]["errors"] == 2


class TestErrors:
    def test_config_error_exits_2_naming_the_key(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A bad autodev.toml exits 2 with the file and key named, before any model call."""
        (project / "autodev.toml").write_text("[synthesis]\nmax_atempts = 2\n", encoding="utf-8")
        assert autodev(project, "run", "--once") == 2
        err = capsys.readouterr().err
        assert "autodev.toml: synthesis.max_atempts: unknown key" in err
        assert server.requests == []

    def test_not_a_git_repository_exits_2(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Outside git, autodev refuses (it could not roll back) and says how to fix it."""
        shutil.copytree(EXAMPLE, tmp_path / "plain")
        env_ceiling = os.environ.get("GIT_CEILING_DIRECTORIES")
        os.environ["GIT_CEILING_DIRECTORIES"] = str(tmp_path)
        try:
            assert autodev(tmp_path / "plain", "run", "--once") == 2
        finally:
            if env_ceiling is None:
                del os.environ["GIT_CEILING_DIRECTORIES"]
            else:
                os.environ["GIT_CEILING_DIRECTORIES"] = env_ceiling
        assert "git init" in capsys.readouterr().err

    def test_unreachable_model_is_a_clear_error(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A model server that is down fails the pass with 'cannot connect', exit 1, nothing changed."""
        (project / "autodev.toml").write_text(config_text("http://127.0.0.1:9/v1"), encoding="utf-8")
        git(project, "commit", "-q", "-am", "dead server")
        assert autodev(project, "run", "--once") == 1
        assert "cannot connect" in capsys.readouterr().out
        assert (project / "temps.py").read_bytes() == STUB

    def test_no_tests_means_no_code(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Without tests there is nothing to prove code against: exit 1, no model call."""
        (repo / "SPEC.md").write_text("# Thing\nDo a thing.\n", encoding="utf-8")
        (repo / "autodev.toml").write_text(config_text(server.url), encoding="utf-8")
        assert autodev(repo, "run", "--once") == 1
        assert "write them first" in capsys.readouterr().out
        assert server.requests == []


# ------------------------------------------------------------------------------------------ the project's own problems

CALC_SPEC = "# Calculator\n\n## CALC-1: add\n\nFiles: calc.py\n\n- WHEN add(1, 2) THE SYSTEM SHALL return 3\n"
CALC_TEST = (
    'import pytest\nfrom calc import add\n\n\n@pytest.mark.req("CALC-1")\ndef test_add():\n    assert add(1, 2) == 3\n'
)
CALC_RIGHT = "calc.py\n```python\ndef add(a, b):\n    return a + b\n```\n"
STRICT_MARKERS = "[pytest]\naddopts = --strict-markers\n"


def calc_project(root: Path, server_url: str, files: dict[str, str], **config: str) -> None:
    """A one-requirement project (CALC-1 in SPEC.md, its marked test) plus ``files``, all committed."""
    write_files(root, {"SPEC.md": CALC_SPEC, "tests/test_calc.py": CALC_TEST, **files})
    (root / "autodev.toml").write_text(config_text(server_url, **config), encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "spec and tests")


class TestProjectProblems:
    def test_strict_markers_accept_the_req_marker_in_autodevs_runs(self, repo: Path, server: ScriptedServer) -> None:
        """--strict-markers and @pytest.mark.req without a registered marker: autodev's runs register it, so the
        right reply is committed; the user's pytest.ini is untouched, and a plain pytest behaves as it did."""
        calc_project(repo, server.url, {"pytest.ini": STRICT_MARKERS})
        server.push(CALC_RIGHT)
        assert autodev(repo, "run", "--once") == 0
        assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["calc.py"]
        assert (repo / "pytest.ini").read_text(encoding="utf-8") == STRICT_MARKERS
        plain = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
            cwd=repo, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert plain.returncode != 0
        assert "'req' not found in `markers` configuration option" in plain.stdout

    def test_a_conftest_that_raises_stops_the_pass_before_any_model_call(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A conftest.py that raises at import is the project's to fix: exit 1 with pytest's own lines, no request."""
        calc_project(repo, server.url, {"tests/conftest.py": "raise RuntimeError('the fixtures are broken')\n"})
        server.push(CALC_RIGHT)
        capsys.readouterr()
        assert autodev(repo, "run", "--once") == 1
        out = capsys.readouterr().out
        assert (
            "FAILED: pytest cannot collect the tests before any change (tests/conftest.py), so no model was called"
            in out
        )
        assert "ImportError while loading conftest" in out
        assert "E   RuntimeError: the fixtures are broken" in out
        assert server.requests == []
        assert not (repo / "calc.py").exists()

    def test_files_outside_the_project_block_the_requirement_before_git(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Files: ../outside.py is refused with spec check's sentence, not a raw git error, and no model is asked."""
        calc_project(repo, server.url, {})
        (repo / "SPEC.md").write_text(CALC_SPEC.replace("Files: calc.py", "Files: ../outside.py"), encoding="utf-8")
        git(repo, "commit", "-q", "-am", "outside")
        capsys.readouterr()
        assert autodev(repo, "run", "--once") == 1
        out = capsys.readouterr().out
        assert "BLOCKED: CALC-1 (add): Files: '../outside.py' is outside the project" in out
        assert server.requests == []
        assert not (repo.parent / "outside.py").exists()


class TestTimeouts:
    def test_a_command_that_hangs_before_any_change_names_itself_and_the_key(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A test command that outlives [tests] timeout_s: one complete sentence, what ran, how long, which key."""
        config = config_text("http://127.0.0.1:9/v1", test_command="sh -c 'sleep 555'", timeout_s="2")
        (project / "autodev.toml").write_text(config, encoding="utf-8")
        git(project, "commit", "-q", "-am", "slow command")
        capsys.readouterr()
        assert autodev(project, "run", "--once") == 1
        assert capsys.readouterr().out.strip() == (
            "FAILED: the tests time out before any change: `sh -c 'sleep 555'` ran longer than 2 s "
            "([tests] timeout_s in autodev.toml)"
        )

    def test_a_hanging_pytest_test_is_named(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """pytest killed at the timeout: the reason names the test that was running, not pytest's last output."""
        write_files(project, {"tests/test_slow.py": "import time\n\n\ndef test_hang():\n    time.sleep(60)\n"})
        (project / "autodev.toml").write_text(config_text("http://127.0.0.1:9/v1", timeout_s="5"), encoding="utf-8")
        git(project, "add", "-A")
        git(project, "commit", "-q", "-m", "a hanging test")
        capsys.readouterr()
        assert autodev(project, "run", "--once") == 1
        assert capsys.readouterr().out.strip() == (
            f"FAILED: the tests time out before any change: `{sys.executable} -m pytest` ran longer than 5 s "
            "([tests] timeout_s in autodev.toml); tests/test_slow.py::test_hang was running when the time ran out"
        )
