"""`autodev run --once` end to end: real git, real pytest subprocesses, real LiteLLM over HTTP to a scripted server.

Each test builds a copy of examples/temperature in its own git repository, scripts the model's replies, runs the
CLI in-process (LiteLLM is imported once per session) and checks git, the bytes on disk and the requests the
model received.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import git

from autodev.cli.main import run_cli
from autodev.testing import ScriptedReply, ScriptedServer

pytestmark = pytest.mark.req("CORE-1")

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


def config_text(server_url: str, **overrides: str) -> str:
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


def setup_example(root: Path, server_url: str) -> None:
    """examples/temperature in ``root`` (an empty repository), pointed at ``server_url``, committed."""
    shutil.copytree(EXAMPLE, root, dirs_exist_ok=True)
    (root / "autodev.toml").write_text(config_text(server_url), encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "spec and tests")


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as scripted:
        yield scripted


@pytest.fixture
def project(repo: Path, server: ScriptedServer) -> Path:
    """examples/temperature with a committed stub, pointed at the scripted server, all committed."""
    shutil.copytree(EXAMPLE, repo, dirs_exist_ok=True)
    (repo / "autodev.toml").write_text(config_text(server.url), encoding="utf-8")
    (repo / "temps.py").write_bytes(STUB)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "spec, tests and stub")
    return repo


def autodev(project: Path, *args: str) -> int:
    return run_cli(["-C", str(project), *args])


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

    def test_prompt_holds_spec_tests_and_current_file(self, project: Path, server: ScriptedServer) -> None:
        """The model sees the spec, the test file and the stub's current contents."""
        server.push(RIGHT)
        autodev(project, "run", "--once")
        prompt = server.requests[0].prompt_text
        assert "Temperature converter" in prompt
        assert "def test_below_absolute_zero_is_rejected" in prompt
        assert "raise NotImplementedError" in prompt

    def test_every_decision_is_in_the_json_log(self, project: Path, server: ScriptedServer) -> None:
        """The JSONL log records the requirement, the model chosen, the baseline and the commit."""
        server.push(RIGHT)
        autodev(project, "run", "--once")
        lines = (project / ".autodev" / "logs" / "autodev.jsonl").read_text(encoding="utf-8").splitlines()
        events = [json.loads(line)["event"] for line in lines]
        for expected in ("requirement", "models chosen", "baseline tests", "edits applied", "committed"):
            assert expected in events

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

    def test_already_green_calls_no_model(self, project: Path, server: ScriptedServer) -> None:
        """When the tests already pass, nothing is asked and nothing is committed."""
        server.push(RIGHT)
        assert autodev(project, "run", "--once") == 0
        commit = head(project)
        assert autodev(project, "run", "--once") == 0
        assert head(project) == commit
        assert len(server.requests) == 1

    def test_new_file_from_test_imports(self, repo: Path, server: ScriptedServer) -> None:
        """Without a Files: hint or a stub, the target comes from the tests' import and is created."""
        shutil.copytree(EXAMPLE, repo, dirs_exist_ok=True)
        spec = (repo / "SPEC.md").read_text(encoding="utf-8").replace("Files: temps.py\n", "")
        (repo / "SPEC.md").write_text(spec, encoding="utf-8")
        (repo / "autodev.toml").write_text(config_text(server.url), encoding="utf-8")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "spec and tests")
        server.push(RIGHT)
        assert autodev(repo, "run", "--once") == 0
        assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["temps.py"]
        assert "temps.py does not exist yet." in server.requests[0].prompt_text


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

    def test_the_same_failure_twice_at_the_top_tier_blocks(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Two replies failing the same tests the same way end the pass as blocked, attempts left unused."""
        server.push(WRONG, WRONG, RIGHT)
        assert autodev(project, "run", "--once", "--json") == 1
        result = json.loads(capsys.readouterr().out)
        assert result["status"] == "blocked"
        assert "the same failure twice in a row at the top tier" in result["reason"]
        assert len(server.requests) == 2
        assert (project / "temps.py").read_bytes() == STUB

    def test_retry_feeds_the_failure_back(self, project: Path, server: ScriptedServer) -> None:
        """A failed first attempt is retried with the previous reply and the failing test in the prompt."""
        server.push(WRONG, RIGHT)
        assert autodev(project, "run", "--once") == 0
        second = server.requests[1].messages
        assert second[-2] == {"role": "assistant", "content": WRONG}
        assert "test_below_absolute_zero_is_rejected" in second[-1]["content"]
        assert "below absolute zero" in second[-1]["content"]
        assert server.requests[1].messages[:2] == server.requests[0].messages

    def test_max_attempts_bounds_the_calls(self, project: Path, server: ScriptedServer) -> None:
        """--max-attempts caps the model calls of the pass."""
        server.push(WRONG, WRONG, WRONG)
        assert autodev(project, "run", "--once", "--max-attempts", "1") == 1
        assert len(server.requests) == 1

    def test_baseline_passing_test_must_keep_passing(self, project: Path, server: ScriptedServer) -> None:
        """A reply that passes the target tests but breaks a test that passed before is red."""
        (project / "helper.py").write_text("def ok():\n    return True\n", encoding="utf-8")
        (project / "tests" / "test_helper.py").write_text(
            "from helper import ok\n\ndef test_ok():\n    assert ok()\n", encoding="utf-8"
        )
        git(project, "add", "-A")
        git(project, "commit", "-q", "-m", "helper")
        breaking = RIGHT + "\nhelper.py\n```python\ndef ok():\n    return False\n```\n"
        server.push(breaking)
        assert autodev(project, "run", "--once", "--max-attempts", "1") == 1
        assert (project / "helper.py").read_text(encoding="utf-8") == "def ok():\n    return True\n"
        assert (project / "temps.py").read_bytes() == STUB


class TestUserWorkIsSafe:
    def test_uncommitted_target_blocks_without_calling_a_model(self, project: Path, server: ScriptedServer) -> None:
        """A target with uncommitted user changes blocks the pass, names the file, and is not touched."""
        edited = STUB + b"# my unsaved idea\n"
        (project / "temps.py").write_bytes(edited)
        server.push(RIGHT)
        assert autodev(project, "run", "--once", "--json") == 1
        assert (project / "temps.py").read_bytes() == edited
        assert server.requests == []

    def test_blocked_status_in_json(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The blocked status and the file's name reach scripts through --json."""
        (project / "temps.py").write_bytes(STUB + b"x = 1\n")
        autodev(project, "run", "--once", "--json")
        result = json.loads(capsys.readouterr().out)
        assert result["status"] == "blocked"
        assert "temps.py" in result["reason"]

    def test_users_staged_file_stays_out_of_the_commit(self, project: Path, server: ScriptedServer) -> None:
        """Another file the user staged stays staged and is not committed by autodev."""
        (project / "notes.txt").write_text("mine\n", encoding="utf-8")
        git(project, "add", "notes.txt")
        server.push(RIGHT)
        assert autodev(project, "run", "--once") == 0
        assert git(project, "show", "--name-only", "--format=", "HEAD").split() == ["temps.py"]
        assert git(project, "diff", "--cached", "--name-only").split() == ["notes.txt"]

    def test_interrupted_attempt_is_rolled_back_on_next_run(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A journal left by a killed attempt restores the exact bytes before the next pass starts."""
        from autodev.journal import EditTransaction
        from autodev.project import ProjectPaths

        paths = ProjectPaths(root=project)
        paths.ensure_state_dirs()
        EditTransaction(project, paths.journal_file).apply({"temps.py": b"half-written garbage", "new.py": b"x"})
        # The process "dies" here: no rollback, no finish.
        server.push(RIGHT)
        assert autodev(project, "run", "--once", "--json") == 0
        result = json.loads(capsys.readouterr().out)
        assert sorted(result["recovered"]) == ["new.py", "temps.py"]
        assert not (project / "new.py").exists()
        assert "half-written" not in server.requests[0].prompt_text


class TestUntrustedReplies:
    @pytest.mark.parametrize(
        ("reply", "reason"),
        [
            ("../evil.py\n```python\nx = 1\n```\n", ".."),
            ("/tmp/evil.py\n```python\nx = 1\n```\n", "absolute"),
            (".git/hooks/pre-commit\n```sh\necho pwned\n```\n", ".git"),
            (".autodev/journal.json\n```json\n{}\n```\n", ".autodev"),
            ("tests/test_temps.py\n```python\ndef test_nothing():\n    pass\n```\n", "test"),
            ("conftest.py\n```python\nimport pytest\n```\n", "conftest.py"),
        ],
    )
    def test_unsafe_paths_are_rejected_and_fed_back(
        self, project: Path, server: ScriptedServer, reply: str, reason: str
    ) -> None:
        """An unsafe path writes nothing, and the model is told why before the next attempt."""
        server.push(reply, RIGHT)
        files = snapshot(project)
        assert autodev(project, "run", "--once") == 0
        assert not (project.parent / "evil.py").exists()
        assert not (project / ".git" / "hooks" / "pre-commit").exists()
        assert (project / "tests" / "test_temps.py").read_bytes() == files["tests/test_temps.py"]
        assert not (project / "conftest.py").exists()
        assert reason in server.requests[1].messages[-1]["content"]

    def test_symlink_leading_out_is_rejected(self, project: Path, server: ScriptedServer, tmp_path: Path) -> None:
        """A path through a symlink to outside the project writes nothing outside."""
        outside = tmp_path / "outside"
        outside.mkdir()
        (project / "link").symlink_to(outside)
        git(project, "add", "link")
        git(project, "commit", "-q", "-m", "link")
        server.push("link/evil.py\n```python\nx = 1\n```\n", RIGHT)
        assert autodev(project, "run", "--once") == 0
        assert list(outside.iterdir()) == []

    @pytest.mark.parametrize(
        "reply",
        [
            "",
            "I cannot help with that.",
            "temps.py\n```python\nx = '\x00\x01'\n```\n",
            "temps.py\n```python\n" + "x = 1\n" * 60_000 + "```\n",
            "temps.py\n```python\ndef to_kelvin(c):\n    return c +",
        ],
        ids=["empty", "no-code", "binary", "huge", "cut-off"],
    )
    def test_bad_replies_fail_cleanly(self, project: Path, server: ScriptedServer, reply: str) -> None:
        """Empty, code-less, binary, huge and cut-off replies fail the attempt and change nothing."""
        server.push(ScriptedReply(content=reply))
        files = snapshot(project)
        assert autodev(project, "run", "--once", "--max-attempts", "1") == 1
        assert snapshot(project) == files
        assert git(project, "status", "--porcelain").strip() == ""


class TestContainedTestRun:
    def test_tests_do_not_see_provider_keys(
        self, project: Path, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Model-written code runs without *_API_KEY/*_TOKEN/*_SECRET variables in its environment."""
        monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
        monkeypatch.setenv("MY_SERVICE_TOKEN", "t")
        (project / "tests" / "test_env.py").write_text(
            "import os\n\ndef test_no_keys():\n"
            "    assert not [k for k in os.environ if k.endswith(('_API_KEY', '_TOKEN', '_SECRET'))]\n",
            encoding="utf-8",
        )
        git(project, "add", "-A")
        git(project, "commit", "-q", "-m", "env test")
        server.push(RIGHT)
        assert autodev(project, "run", "--once", "--max-attempts", "1") == 0

    def test_hanging_code_is_timed_out_and_rolled_back(self, project: Path, server: ScriptedServer) -> None:
        """Code that never returns is stopped at the test timeout, and the attempt is rolled back."""
        (project / "autodev.toml").write_text(config_text(server.url, timeout_s="3"), encoding="utf-8")
        git(project, "commit", "-q", "-am", "short timeout")
        server.push("temps.py\n```python\nimport time\ntime.sleep(600)\n```\n")
        assert autodev(project, "run", "--once", "--max-attempts", "1") == 1
        assert (project / "temps.py").read_bytes() == STUB


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

    def test_run_without_once_is_a_usage_error(self, project: Path) -> None:
        """`autodev run` alone is not a pass yet; it says to use --once."""
        assert autodev(project, "run") == 2


class TestFailingDisk:
    def test_full_disk_ends_the_pass_with_nothing_changed(
        self, project: Path, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """ENOSPC while writing ends the pass with a clear error (exit 1), every byte and HEAD as before."""
        import errno

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
        """A hopeless tier1 reply escalates at once; tier2 gets the failure (not the reply) and its commit names it."""
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
        assert "test_below_absolute_zero_is_rejected" in second.prompt_text
        assert "Autodev-Model: openai/big" in git(project, "log", "-1", "--format=%(trailers:only,unfold)")

    def test_retry_on_the_same_model_samples_with_a_seed(self, project: Path, server: ScriptedServer) -> None:
        """The first attempt is greedy; a retry on the same model uses retry_temperature and a derived seed."""
        server.push(WRONG, RIGHT)
        assert autodev(project, "run", "--once") == 0
        first, second = server.requests
        assert first.body["temperature"] == 0.0
        assert second.body["temperature"] == 0.7
        assert second.body["seed"] == 2


class TestStaleGitLock:
    def test_stale_index_lock_from_a_killed_run_is_removed(self, project: Path, server: ScriptedServer) -> None:
        """An old .git/index.lock with no git process running (a killed commit) does not block the next commit."""
        lock = project / ".git" / "index.lock"
        lock.write_bytes(b"")
        old = lock.stat().st_mtime - 120
        os.utime(lock, (old, old))
        server.push(RIGHT)
        assert autodev(project, "run", "--once") == 0
        assert not lock.exists()
        assert git(project, "show", "--name-only", "--format=", "HEAD").split() == ["temps.py"]
