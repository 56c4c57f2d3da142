"""The in-process doubles of autodev.testing: a ChatClient and a TestRunner that answer with a function."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from autodev.errors import ModelError
from autodev.llm.client import Completion, Message
from autodev.llm.models import ResolvedModel
from autodev.testing import FunctionClient, FunctionTestRunner, ReplyScript, completion_for, run_from_outcomes
from autodev.verify.junit import TestOutcome
from autodev.verify.runner import TestRun
from autodev.verify.verdict import judge

pytestmark = pytest.mark.req("ROUTE-2")

MODEL = ResolvedModel(name="small", litellm_model="openai/small")
PRICED = ResolvedModel(name="big", litellm_model="openai/big", input_cost_per_token=0.001, output_cost_per_token=0.01)
MESSAGES: list[Message] = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "write add()"}]


def echo(model: ResolvedModel, messages: list[Message]) -> str:
    return f"{model.name}: {messages[-1]['content']}"


class TestFunctionClient:
    def test_a_text_answer_becomes_a_completion_with_estimated_tokens(self) -> None:
        """A str is the reply text; tokens are about four characters each, like the scripted server counts them."""
        completion = FunctionClient(echo).complete(MODEL, MESSAGES)
        assert completion.text == "small: write add()"
        assert completion.model == "openai/small"
        assert completion.input_tokens == (len("be brief\nwrite add()") + 3) // 4
        assert completion.output_tokens == (len("small: write add()") + 3) // 4
        assert completion.cost_usd == 0.0
        assert completion.finish_reason == "stop"
        assert not completion.cached

    def test_configured_prices_give_the_cost(self) -> None:
        """A model with prices costs tokens times price, as LiteLLMClient charges configured models."""
        completion = completion_for(PRICED, MESSAGES, "x", input_tokens=100, output_tokens=60)
        assert completion.cost_usd == pytest.approx(100 * 0.001 + 60 * 0.01)

    def test_a_completion_answer_is_returned_as_it_is(self) -> None:
        """The function may build the Completion itself (tokens, cost, finish reason of its choosing)."""
        made = Completion(text="t", model="m", input_tokens=1, output_tokens=2, cost_usd=3.0, duration_s=0.5)
        assert FunctionClient(lambda model, messages: made).complete(MODEL, MESSAGES) is made

    def test_a_model_error_from_the_function_fails_the_call_and_is_recorded(self) -> None:
        """Raising ModelError is how a function says the model did not answer; the call still counts."""

        def down(model: ResolvedModel, messages: list[Message]) -> str:
            raise ModelError(model.name, "cannot connect", "refused", retryable=True)

        client = FunctionClient(down)
        with pytest.raises(ModelError, match="cannot connect"):
            client.complete(MODEL, MESSAGES)
        assert len(client.calls) == 1

    def test_every_call_is_recorded_with_its_model_and_messages(self) -> None:
        """calls keeps each model and a copy of its messages, in order; prompt_text joins the contents."""
        client = FunctionClient(echo)
        messages = list(MESSAGES)
        client.complete(MODEL, messages)
        client.complete(PRICED, messages[:1])
        messages.append({"role": "user", "content": "later"})
        first, second = client.calls
        assert (first.model, second.model) == (MODEL, PRICED)
        assert first.messages == MESSAGES
        assert first.prompt_text == "be brief\nwrite add()"
        assert client.model_names == ["small", "big"]


class TestReplyScript:
    def test_replies_come_in_order_and_errors_are_raised(self) -> None:
        """Text, a Completion, a ModelError and a function answer one call each, in the order given."""
        made = completion_for(MODEL, MESSAGES, "built", output_tokens=60)
        error = ModelError("small", "server error", "500", retryable=True)
        client = FunctionClient.replying("first", made, error, echo)
        assert client.complete(MODEL, MESSAGES).text == "first"
        assert client.complete(MODEL, MESSAGES).output_tokens == 60
        with pytest.raises(ModelError) as raised:
            client.complete(MODEL, MESSAGES)
        assert raised.value is error
        assert client.complete(MODEL, MESSAGES).text == "small: write add()"

    def test_a_used_up_script_fails_at_once_naming_the_call(self) -> None:
        """One call more than scripted is a non-retryable error, so no retry or back-off hides the mistake."""
        script = ReplyScript(["only"])
        client = FunctionClient(script)
        client.complete(MODEL, MESSAGES)
        with pytest.raises(ModelError, match="#2") as raised:
            client.complete(MODEL, MESSAGES)
        assert not raised.value.retryable

    def test_remaining_and_push(self) -> None:
        """remaining counts the unused replies; push adds more at the end, e.g. between two passes."""
        script = ReplyScript(["a", "b"])
        client = FunctionClient(script)
        client.complete(MODEL, MESSAGES)
        assert script.remaining == 1
        script.push("c")
        assert [client.complete(MODEL, MESSAGES).text for _ in range(2)] == ["b", "c"]
        assert script.remaining == 0


class TestFunctionTestRunner:
    def test_outcomes_become_a_pytest_like_run(self, tmp_path: Path) -> None:
        """Kinds per node id give the passed and failing ids, exit status 1 and a junit-backed run."""
        runner = FunctionTestRunner(lambda root: {"t.py::a": "passed", "t.py::b": "failed", "t.py::c": "error"})
        run = runner(tmp_path, "python -m pytest", timeout_s=5, scratch_dir=tmp_path / "scratch")
        assert run.passed_ids == {"t.py::a"}
        assert run.failing_ids == {"t.py::b", "t.py::c"}
        assert (run.exit_code, run.used_junit, run.timed_out) == (1, True, False)
        assert run.command == ["python", "-m", "pytest"]
        assert run.timeout_s == 5

    def test_all_passing_is_exit_0_and_green(self, tmp_path: Path) -> None:
        """A run where everything passes is judged green against a red baseline, as a real one would be."""
        baseline = run_from_outcomes("pytest", {"t.py::a": "failed"})
        run = FunctionTestRunner(lambda root: {"t.py::a": "passed"})(
            tmp_path, "pytest", timeout_s=5, scratch_dir=tmp_path
        )
        assert run.exit_code == 0
        assert judge(baseline, run).green

    def test_no_outcomes_is_no_tests_collected(self) -> None:
        """An empty mapping is pytest's exit status 5: never green."""
        run = run_from_outcomes(["pytest"], {})
        assert run.exit_code == 5
        assert run.no_tests_collected

    def test_messages_and_details_reach_the_output(self) -> None:
        """The output lists failures with their messages, where the router looks for cheap errors."""
        error = TestOutcome(test_id="t.py", outcome="error", message="SyntaxError: expected ':'", details="E   x")
        run = run_from_outcomes("pytest", {"t.py": error, "u.py::ok": "passed"})
        assert "ERROR t.py - SyntaxError: expected ':'" in run.output
        assert "E   x" in run.output
        assert run.outcomes["t.py"] is error

    def test_a_test_run_answer_is_returned_as_it_is(self, tmp_path: Path) -> None:
        """The function may return a whole TestRun, e.g. one that timed out."""
        timed_out = TestRun(
            command=["pytest"], exit_code=None, timed_out=True, duration_s=3.0, output="", outcomes={}, used_junit=False
        )
        runner = FunctionTestRunner(lambda root: timed_out)
        assert runner(tmp_path, "pytest", timeout_s=3, scratch_dir=tmp_path) is timed_out

    def test_the_function_sees_the_root_and_every_call_is_recorded(self, tmp_path: Path) -> None:
        """The function decides from the files under the root it is given; calls keep each run's arguments."""
        (tmp_path / "done.txt").write_text("yes")
        runner = FunctionTestRunner(lambda root: {"t.py::a": "passed" if (root / "done.txt").exists() else "failed"})
        assert runner(tmp_path, ["pytest", "-x"], timeout_s=7, scratch_dir=tmp_path / "s").passed_ids == {"t.py::a"}
        assert runner(tmp_path / "other", "pytest", timeout_s=8, scratch_dir=tmp_path / "s").failing_ids == {"t.py::a"}
        first, second = runner.calls
        assert (first.root, first.command, first.timeout_s, first.scratch_dir) == (
            tmp_path,
            ["pytest", "-x"],
            7,
            tmp_path / "s",
        )
        assert second.root == tmp_path / "other"


def test_the_doubles_import_without_litellm() -> None:
    """autodev.testing stays light: importing it (and every double) never loads LiteLLM."""
    done = subprocess.run(
        [sys.executable, "-c", "import sys, autodev.testing; print('litellm' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "False"
