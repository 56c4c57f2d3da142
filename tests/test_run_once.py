"""One pass in process (`core.one_pass.run_once`): real git, the model a function, the tests judged by a stand-in.

Each test builds a copy of examples/temperature in its own git repository and scripts the model's replies with
FunctionClient. Where only the pass's decision matters, the example's tests are judged by temperature_runner
(no pytest process; tests/test_helpers.py checks it against real pytest); where the test is about what a real
test run does (the environment it sees, a hang, a broken neighbour test), real pytest runs. The CLI paths over
HTTP are in test_cli_run.py; a PassResult's status is what the CLI's exit code and --json report.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from helpers import (
    EXAMPLE,
    HOPELESS,
    NO_SERVER,
    RIGHT,
    STUB,
    WRONG,
    config_text,
    git,
    head,
    run_pass,
    set_synthesis,
    setup_example,
    snapshot,
    temperature_runner,
    two_tiers,
)

from autodev.errors import ModelError
from autodev.journal import EditTransaction
from autodev.llm.client import Completion, Message
from autodev.llm.models import ResolvedModel
from autodev.project import ProjectPaths
from autodev.testing import FunctionClient, completion_for

pytestmark = pytest.mark.req("CORE-1")


@pytest.fixture
def project(repo: Path) -> Path:
    """examples/temperature with a committed stub, all committed; its model is answered in process."""
    setup_example(repo, NO_SERVER, stub=True)
    return repo


PROSE = "The converter must add 273.15 for kelvin and raise ValueError below absolute zero."
"""A reply that explains and stops, as the 1.5B model did on the development set: no file in it."""


class TestGreenPath:
    def test_prompt_holds_spec_tests_and_current_file(self, project: Path) -> None:
        """The model sees the spec, the test file and the stub's current contents."""
        client = FunctionClient.replying(RIGHT)
        run_pass(project, client, test_runner=temperature_runner())
        prompt = client.calls[0].prompt_text
        assert "Temperature converter" in prompt
        assert "def test_below_absolute_zero_is_rejected" in prompt
        assert "raise NotImplementedError" in prompt

    def test_every_decision_is_in_the_json_log(self, project: Path) -> None:
        """The JSONL log records the requirement, the model chosen, the baseline and the commit."""
        run_pass(project, FunctionClient.replying(RIGHT), test_runner=temperature_runner())
        lines = (project / ".autodev" / "logs" / "autodev.jsonl").read_text(encoding="utf-8").splitlines()
        events = [json.loads(line)["event"] for line in lines]
        for expected in ("requirement", "models chosen", "baseline tests", "edits applied", "committed"):
            assert expected in events

    def test_already_green_calls_no_model(self, project: Path) -> None:
        """When the tests already pass, nothing is asked and nothing is committed."""
        client = FunctionClient.replying(RIGHT, RIGHT)
        assert run_pass(project, client, test_runner=temperature_runner()).status == "satisfied"
        commit = head(project)
        assert run_pass(project, client, test_runner=temperature_runner()).status == "satisfied"
        assert head(project) == commit
        assert len(client.calls) == 1

    def test_new_file_from_test_imports(self, repo: Path) -> None:
        """Without a Files: hint or a stub, the target comes from the tests' import and is created."""
        shutil.copytree(EXAMPLE, repo, dirs_exist_ok=True)
        spec = (repo / "SPEC.md").read_text(encoding="utf-8").replace("Files: temps.py\n", "")
        (repo / "SPEC.md").write_text(spec, encoding="utf-8")
        (repo / "autodev.toml").write_text(config_text(NO_SERVER), encoding="utf-8")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "spec and tests")
        client = FunctionClient.replying(RIGHT)
        assert run_pass(repo, client, test_runner=temperature_runner()).status == "satisfied"
        assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["temps.py"]
        assert "temps.py does not exist yet." in client.calls[0].prompt_text


class TestRedPath:
    def test_the_same_failure_three_times_at_the_top_tier_blocks(self, project: Path) -> None:
        """Fresh repairs (the default): three replies failing the same way end the pass as blocked, attempts left."""
        client = FunctionClient.replying(WRONG, WRONG, WRONG, RIGHT)
        result = run_pass(project, client, test_runner=temperature_runner(), max_attempts=5)
        assert result.status == "blocked"
        assert "the same failure three times in a row at the top tier" in result.reason
        assert len(client.calls) == 3
        assert (project / "temps.py").read_bytes() == STUB

    def test_with_the_reply_shown_the_same_failure_twice_blocks(self, project: Path) -> None:
        """A repair shown its own reply copies it: with repair_shows_reply, two equal failures are a loop."""
        set_synthesis(project, "repair_shows_reply = true")
        client = FunctionClient.replying(WRONG, WRONG, RIGHT)
        result = run_pass(project, client, test_runner=temperature_runner())
        assert result.status == "blocked"
        assert "the same failure twice in a row at the top tier" in result.reason
        assert len(client.calls) == 2

    def test_a_repair_is_the_first_prompt_with_the_failure_and_without_the_failed_reply(self, project: Path) -> None:
        """A failed first attempt far from green is retried as a fresh prompt: the failing tests in it, the failed
        code not.

        Shown its own reply, a small model sends it back unchanged (benchmarks/results/solve-rate/). The system
        message and the tests, spec and files before the failure are the first prompt's, so a local server reuses
        its cached prefix."""
        client = FunctionClient.replying(HOPELESS, RIGHT)
        assert run_pass(project, client, test_runner=temperature_runner()).status == "satisfied"
        first, second = client.calls
        assert [m["role"] for m in second.messages] == ["system", "user"]
        assert second.messages[0] == first.messages[0]
        repair = second.messages[1]["content"]
        assert "test_below_absolute_zero_is_rejected" in repair and "test_freezing_point_in_kelvin" in repair
        assert "return 0" not in repair  # HOPELESS's code
        failure_at = repair.index("An earlier attempt failed:")
        assert first.messages[1]["content"].startswith(repair[:failure_at])
        assert repair.endswith("Write temps.py so that all the tests pass.")

    def test_with_fix_nearly_right_a_nearly_right_draft_is_the_file_to_correct(self, project: Path) -> None:
        """``[synthesis] fix_nearly_right = true``: a candidate passing at least half the tests stands in the
        repair prompt as the current temps.py, its failures below it, and the model is asked to correct it; its
        prose is left out (it is a file, not the model's turn). The tests and spec before the file are the first
        prompt's (the cached prefix)."""
        set_synthesis(project, "fix_nearly_right = true")
        client = FunctionClient.replying(WRONG, RIGHT)
        assert run_pass(project, client, test_runner=temperature_runner()).status == "satisfied"
        first, second = client.calls
        assert [m["role"] for m in second.messages] == ["system", "user"]
        assert second.messages[0] == first.messages[0]
        repair = second.messages[1]["content"]
        draft_at = repair.index(
            "The current temps.py:\n```python\ndef to_kelvin(celsius):\n    return celsius + 273.15"
        )
        assert first.messages[1]["content"].startswith(repair[:draft_at])
        assert "raise NotImplementedError" not in repair  # the stub in the user's tree is not what is shown
        assert "Here is the converter." not in repair
        failure = repair[repair.index("With this temps.py the tests fail:") :]
        assert "test_below_absolute_zero_is_rejected" in failure and "DID NOT RAISE" in failure
        assert repair.endswith(
            "First explain in a few sentences why the tests fail. Correct temps.py so that all the tests pass."
        )

    def test_a_failure_names_files_as_the_project_does_not_by_the_copy_they_ran_in(self, project: Path) -> None:
        """Real pytest in the pass's copy: the ImportError's path reaches the repair prompt relative to the project,
        not as .autodev/scratch/copy/temps.py under the project (a path that differed run to run in a benchmark)."""
        missing = "temps.py\n```python\ndef to_kelvin(celsius):\n    return celsius + 273.15\n```\n"
        client = FunctionClient.replying(missing, RIGHT)
        assert run_pass(project, client).status == "satisfied"
        repair = client.calls[1].prompt_text
        assert "cannot import name 'to_celsius' from 'temps' (temps.py)" in repair
        assert ".autodev" not in repair and str(project) not in repair

    def test_by_default_a_nearly_right_candidate_is_not_shown_either(self, project: Path) -> None:
        """``fix_nearly_right`` is off by default (measured: no draft was corrected): the fresh prompt, no code."""
        client = FunctionClient.replying(WRONG, RIGHT)
        assert run_pass(project, client, test_runner=temperature_runner()).status == "satisfied"
        repair = client.calls[1].messages[1]["content"]
        assert "An earlier attempt failed:" in repair and "return celsius + 273.15" not in repair

    def test_repair_shows_reply_sends_the_failed_reply_back_as_a_conversation(self, project: Path) -> None:
        """With [synthesis] repair_shows_reply the previous reply and its failure follow the first prompt."""
        set_synthesis(project, "repair_shows_reply = true")
        client = FunctionClient.replying(WRONG, RIGHT)
        assert run_pass(project, client, test_runner=temperature_runner()).status == "satisfied"
        first, second = client.calls
        assert second.messages[-2] == {"role": "assistant", "content": WRONG}
        assert "test_below_absolute_zero_is_rejected" in second.messages[-1]["content"]
        assert second.messages[:2] == first.messages

    def test_a_repair_works_on_the_best_failure_so_far_not_the_last(self, project: Path) -> None:
        """After a nearly right attempt and a hopeless one, the third prompt carries the nearly right one's failure."""
        client = FunctionClient.replying(WRONG, HOPELESS, RIGHT)
        assert run_pass(project, client, test_runner=temperature_runner()).status == "satisfied"
        second, third = client.calls[1].prompt_text, client.calls[2].prompt_text
        assert "3 tests still fail" in second
        assert "3 tests still fail" in third and "6 tests still fail" not in third

    def test_the_attempt_limit_bounds_the_calls(self, project: Path) -> None:
        """max_attempts caps the model calls of the pass, and a pass out of attempts has failed."""
        client = FunctionClient.replying(WRONG, WRONG, WRONG)
        result = run_pass(project, client, test_runner=temperature_runner(), max_attempts=1)
        assert result.status == "failed"
        assert len(client.calls) == 1

    def test_baseline_passing_test_must_keep_passing(self, project: Path) -> None:
        """A reply that passes the target tests but breaks a test that passed before is red (real pytest)."""
        (project / "helper.py").write_text("def ok():\n    return True\n", encoding="utf-8")
        (project / "tests" / "test_helper.py").write_text(
            "from helper import ok\n\ndef test_ok():\n    assert ok()\n", encoding="utf-8"
        )
        git(project, "add", "-A")
        git(project, "commit", "-q", "-m", "helper")
        breaking = RIGHT + "\nhelper.py\n```python\ndef ok():\n    return False\n```\n"
        result = run_pass(project, FunctionClient.replying(breaking), max_attempts=1)
        assert result.status == "failed"
        assert (project / "helper.py").read_text(encoding="utf-8") == "def ok():\n    return True\n"
        assert (project / "temps.py").read_bytes() == STUB


class TestExplainedOnly:
    def test_a_reply_of_prose_alone_is_asked_for_the_file_in_the_same_attempt(self, project: Path) -> None:
        """The conversation goes on from the explanation: the reply as the model's turn, then the request for the
        file; both calls are one attempt, with their tokens added up."""
        client = FunctionClient.replying(PROSE, RIGHT)
        result = run_pass(project, client, test_runner=temperature_runner())
        assert result.status == "satisfied"
        first, follow_up = client.calls
        request = "Now send the whole temps.py: the path on one line, then the complete file in one fenced code block."
        assert follow_up.messages == [*first.messages, {"role": "assistant", "content": PROSE},
                                      {"role": "user", "content": request}]  # fmt: skip
        [attempt] = result.attempts
        assert attempt.outcome == "green"
        assert attempt.input_tokens > sum(len(m["content"]) for m in first.messages) // 4

    def test_a_sampled_candidate_of_prose_alone_is_asked_for_its_file(self, project: Path) -> None:
        """samples = 2: both candidates are asked first; the one that only explained is then asked for the file,
        with its own sampling settings, and that answer is the green candidate."""
        config = (project / "autodev.toml").read_text(encoding="utf-8")
        (project / "autodev.toml").write_text(config + "\n[llm.samples]\ntier1 = 2\n", encoding="utf-8")
        git(project, "commit", "-qam", "two samples")
        client = FunctionClient.replying(PROSE, WRONG, RIGHT)
        result = run_pass(project, client, test_runner=temperature_runner())
        assert result.status == "satisfied"
        first, _, follow_up = client.calls
        explained = [*first.messages, {"role": "assistant", "content": PROSE}]
        assert follow_up.messages[: len(explained)] == explained
        assert (follow_up.model.temperature, follow_up.model.seed) == (first.model.temperature, first.model.seed)
        assert sorted(a.outcome for a in result.attempts) == ["green", "red"]

    def test_ask_for_files_off_rejects_the_explanation(self, project: Path) -> None:
        """``[synthesis] ask_for_files = false``: the prose reply is an attempt rejected for having no file."""
        set_synthesis(project, "ask_for_files = false")
        client = FunctionClient.replying(PROSE, RIGHT)
        result = run_pass(project, client, test_runner=temperature_runner())
        assert [a.outcome for a in result.attempts] == ["rejected", "green"]
        assert "no file edit" in result.attempts[0].reason
        assert len(client.calls[1].messages) == 2  # a fresh round, not a follow-up

    def test_a_reply_cut_off_is_not_followed_up(self, project: Path) -> None:
        """Prose that ran into max_tokens did not stop by itself: asking it to go on would cost another long reply."""

        def cut_off(model: ResolvedModel, messages: list[Message]) -> Completion:
            return completion_for(model, messages, PROSE).model_copy(update={"finish_reason": "length"})

        client = FunctionClient.replying(cut_off, RIGHT)
        result = run_pass(project, client, test_runner=temperature_runner())
        assert [a.outcome for a in result.attempts] == ["rejected", "green"]

    def test_a_failed_follow_up_leaves_the_explanation_recorded(self, project: Path) -> None:
        """The follow-up call fails: the explanation is recorded as a rejected attempt and the climb goes on."""
        failure = ModelError("scripted", "server", "the server went away", retryable=False)
        client = FunctionClient.replying(PROSE, failure, RIGHT)
        result = run_pass(project, client, test_runner=temperature_runner())
        assert [a.outcome for a in result.attempts] == ["rejected", "green"]
        assert len(client.calls) == 3

    def test_a_follow_up_the_budget_refuses_is_not_made(self, project: Path) -> None:
        """Each call may cost up to $1.00 (100 tokens at $0.01); after the explanation's $0.60 a $1.50 cap allows
        no follow-up: no call is made, the explanation is recorded as rejected and the pass is blocked by the cap."""
        priced = "output_cost_per_token = 0.01\ninput_cost_per_token = 0.0\nmax_tokens = 100\n"
        config = config_text(NO_SERVER).replace("timeout_s = 20\n", "timeout_s = 20\n" + priced)
        (project / "autodev.toml").write_text(config + "[budget]\nper_requirement_usd = 1.5\n", encoding="utf-8")
        git(project, "commit", "-q", "-am", "a priced model and a cap")

        def explains(model: ResolvedModel, messages: list[Message]) -> Completion:
            return completion_for(model, messages, PROSE, output_tokens=60)

        client = FunctionClient.replying(explains, RIGHT)
        result = run_pass(project, client, test_runner=temperature_runner())
        assert result.status == "blocked" and "requirement cap of $1.5000" in result.reason
        assert [a.outcome for a in result.attempts] == ["rejected"]
        assert len(client.calls) == 1


class TestUserWorkIsSafe:
    def test_uncommitted_target_blocks_without_calling_a_model(self, project: Path) -> None:
        """A target with uncommitted user changes blocks the pass, and is not touched."""
        edited = STUB + b"# my unsaved idea\n"
        (project / "temps.py").write_bytes(edited)
        client = FunctionClient.replying(RIGHT)
        assert run_pass(project, client, test_runner=temperature_runner()).status == "blocked"
        assert (project / "temps.py").read_bytes() == edited
        assert client.calls == []

    def test_blocked_status_names_the_file(self, project: Path) -> None:
        """The blocked status and the file's name are in the result (what --json prints)."""
        (project / "temps.py").write_bytes(STUB + b"x = 1\n")
        result = run_pass(project, FunctionClient.replying(RIGHT), test_runner=temperature_runner())
        assert result.status == "blocked"
        assert "temps.py" in result.reason

    def test_users_staged_file_stays_out_of_the_commit(self, project: Path) -> None:
        """Another file the user staged stays staged and is not committed by autodev."""
        (project / "notes.txt").write_text("mine\n", encoding="utf-8")
        git(project, "add", "notes.txt")
        assert run_pass(project, FunctionClient.replying(RIGHT), test_runner=temperature_runner()).status == "satisfied"
        assert git(project, "show", "--name-only", "--format=", "HEAD").split() == ["temps.py"]
        assert git(project, "diff", "--cached", "--name-only").split() == ["notes.txt"]

    def test_interrupted_attempt_is_rolled_back_on_next_run(self, project: Path) -> None:
        """A journal left by a killed attempt restores the exact bytes before the next pass starts."""
        paths = ProjectPaths(root=project)
        paths.ensure_state_dirs()
        EditTransaction(project, paths.journal_file).apply({"temps.py": b"half-written garbage", "new.py": b"x"})
        # The process "dies" here: no rollback, no finish.
        client = FunctionClient.replying(RIGHT)
        result = run_pass(project, client, test_runner=temperature_runner())
        assert result.status == "satisfied"
        assert sorted(result.recovered) == ["new.py", "temps.py"]
        assert not (project / "new.py").exists()
        assert "half-written" not in client.calls[0].prompt_text


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
    def test_unsafe_paths_are_rejected_and_fed_back(self, project: Path, reply: str, reason: str) -> None:
        """An unsafe path writes nothing, and the model is told why before the next attempt."""
        client = FunctionClient.replying(reply, RIGHT)
        files = snapshot(project)
        assert run_pass(project, client, test_runner=temperature_runner()).status == "satisfied"
        assert not (project.parent / "evil.py").exists()
        assert not (project / ".git" / "hooks" / "pre-commit").exists()
        assert (project / "tests" / "test_temps.py").read_bytes() == files["tests/test_temps.py"]
        assert not (project / "conftest.py").exists()
        assert reason in client.calls[1].messages[-1]["content"]

    def test_symlink_leading_out_is_rejected(self, project: Path, tmp_path: Path) -> None:
        """A path through a symlink to outside the project writes nothing outside."""
        outside = tmp_path / "outside"
        outside.mkdir()
        (project / "link").symlink_to(outside)
        git(project, "add", "link")
        git(project, "commit", "-q", "-m", "link")
        client = FunctionClient.replying("link/evil.py\n```python\nx = 1\n```\n", RIGHT)
        assert run_pass(project, client, test_runner=temperature_runner()).status == "satisfied"
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
    def test_bad_replies_fail_cleanly(self, project: Path, reply: str) -> None:
        """Empty, code-less, binary, huge and cut-off replies fail the attempt and change nothing."""
        files = snapshot(project)
        result = run_pass(project, FunctionClient.replying(reply), test_runner=temperature_runner(), max_attempts=1)
        assert result.status == "failed"
        assert snapshot(project) == files
        assert git(project, "status", "--porcelain").strip() == ""


class TestContainedTestRun:
    def test_tests_do_not_see_provider_keys(self, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Model-written code runs (in real pytest) without *_API_KEY/*_TOKEN/*_SECRET variables in its environment."""
        monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
        monkeypatch.setenv("MY_SERVICE_TOKEN", "t")
        (project / "tests" / "test_env.py").write_text(
            "import os\n\ndef test_no_keys():\n"
            "    assert not [k for k in os.environ if k.endswith(('_API_KEY', '_TOKEN', '_SECRET'))]\n",
            encoding="utf-8",
        )
        git(project, "add", "-A")
        git(project, "commit", "-q", "-m", "env test")
        assert run_pass(project, FunctionClient.replying(RIGHT), max_attempts=1).status == "satisfied"

    def test_hanging_code_is_timed_out_and_rolled_back(self, project: Path) -> None:
        """Code that never returns is stopped (in real pytest) at the test timeout, and the attempt is rolled back."""
        (project / "autodev.toml").write_text(config_text(NO_SERVER, timeout_s="3"), encoding="utf-8")
        git(project, "commit", "-q", "-am", "short timeout")
        hanging = "temps.py\n```python\nimport time\ntime.sleep(600)\n```\n"
        assert run_pass(project, FunctionClient.replying(hanging), max_attempts=1).status == "failed"
        assert (project / "temps.py").read_bytes() == STUB


class TestEscalation:
    def test_with_escalation_shows_failure_the_next_tier_gets_the_failure_but_not_the_failed_reply(
        self, project: Path
    ) -> None:
        """``[synthesis] escalation_shows_failure = true``: a hopeless tier1 reply escalates at once; tier2 gets the
        failure (not the reply) and its commit names it."""
        (project / "autodev.toml").write_text(two_tiers(NO_SERVER), encoding="utf-8")
        set_synthesis(project, "escalation_shows_failure = true")
        client = FunctionClient.replying(HOPELESS, RIGHT)
        assert run_pass(project, client, test_runner=temperature_runner()).status == "satisfied"
        first, second = client.calls
        assert (first.model.name, second.model.name) == ("scripted", "big")
        assert "return 0" not in second.prompt_text
        assert "An earlier attempt failed" in second.prompt_text and "6 tests still fail" in second.prompt_text
        assert "Autodev-Model: openai/big" in git(project, "log", "-1", "--format=%(trailers:only,unfold)")

    def test_by_default_the_next_tier_gets_the_first_prompt(self, project: Path) -> None:
        """By default tier2's first round is tier1's first prompt exactly, greedy, as a single-shot call of tier2
        would be; its repair then works on tier2's own failure."""
        (project / "autodev.toml").write_text(two_tiers(NO_SERVER), encoding="utf-8")
        git(project, "commit", "-q", "-am", "two tiers")
        client = FunctionClient.replying(HOPELESS, WRONG, RIGHT)
        assert run_pass(project, client, test_runner=temperature_runner()).status == "satisfied"
        first, second, third = client.calls
        assert (second.model.name, second.model.temperature) == ("big", 0.0)
        assert second.messages == first.messages
        assert "3 tests still fail" in third.prompt_text and "6 tests still fail" not in third.prompt_text

    def test_retry_on_the_same_model_samples_with_a_seed(self, project: Path) -> None:
        """The first attempt is greedy; a retry on the same model uses retry_temperature and a derived seed."""
        client = FunctionClient.replying(WRONG, RIGHT)
        assert run_pass(project, client, test_runner=temperature_runner()).status == "satisfied"
        first, second = client.calls
        assert first.model.temperature == 0.0
        assert second.model.temperature == 0.7
        assert second.model.seed == 2


class TestStaleGitLock:
    def test_stale_index_lock_from_a_killed_run_is_removed(self, project: Path) -> None:
        """An old .git/index.lock with no git process running (a killed commit) does not block the next commit."""
        lock = project / ".git" / "index.lock"
        lock.write_bytes(b"")
        old = lock.stat().st_mtime - 120
        os.utime(lock, (old, old))
        assert run_pass(project, FunctionClient.replying(RIGHT), test_runner=temperature_runner()).status == "satisfied"
        assert not lock.exists()
        assert git(project, "show", "--name-only", "--format=", "HEAD").split() == ["temps.py"]
