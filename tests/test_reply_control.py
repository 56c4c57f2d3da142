"""Output control for small models: a reply bounded by what is to be written, a loop cut off while it streams.

The stream is read through real LiteLLM from the scripted server (one word per event); the bound is checked on the
model the router hands to the client.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import NO_SERVER, RIGHT, run_pass, setup_example, temperature_runner
from pydantic import SecretStr

from autodev.config import Config
from autodev.llm.client import Completion, LiteLLMClient, Message
from autodev.llm.models import ResolvedModel
from autodev.llm.repetition import looping
from autodev.llm.stream import LOOPED
from autodev.project import ProjectPaths
from autodev.route import Router, TierPlan
from autodev.synth.context import SourceFile
from autodev.synth.reply_bound import TOKENS_PER_FILE, reply_token_bound
from autodev.testing import FunctionClient, ScriptedReply, ScriptedServer, completion_for
from autodev.tokens import upper_bound_tokens

pytestmark = pytest.mark.req("ROUTE-5")

# A real solution with repetitive structure (the twelve-days verses): it must never look like a loop.
VERSES = "\n".join(
    f'    "On the {day} day of Christmas my true love gave to me: {gift}",'
    for day, gift in [(f"{n}th", f"{n} gifts, " * (n % 4 + 1)) for n in range(1, 40)]
)
REAL_CODE = "def recite(start, end):\n    verses = [\n" + VERSES + "\n    ]\n    return verses[start - 1 : end]\n"


class TestLooping:
    def test_the_same_few_lines_again_and_again_are_a_loop(self) -> None:
        """Thirty lines with at most six different ones: a small model repeating itself."""
        reply = "Here is the code.\n```python\n" + "assert is_valid('3-598-21508-8')\nassert x\n" * 20
        assert looping(reply)

    def test_a_short_unit_repeated_without_line_breaks_is_a_loop(self) -> None:
        """A tail that is one short unit repeated (``1, 1, 1, ...`` on one line) is a loop too."""
        assert looping("result = [" + "1, " * 300)

    @pytest.mark.parametrize("text", [REAL_CODE, "x = 1\n" * 5, "", "a" * 100])
    def test_real_code_and_short_text_are_not_loops(self, text: str) -> None:
        """Repetitive but real code, and anything too short to judge, is left alone."""
        assert not looping(text)


def model_at(url: str) -> ResolvedModel:
    return ResolvedModel(name="scripted", litellm_model="openai/scripted", api_base=url, api_key=SecretStr("loopback"))


class TestLoopIsCutOff:
    def test_a_looping_stream_is_cut_off_with_its_text_so_far(self, server: ScriptedServer) -> None:
        """The client stops reading a reply that loops: finish reason ``repetition``, the text up to the cut."""
        looped = "square.py\n```python\n" + "    return 1\n" * 400
        server.push(ScriptedReply(content=looped))
        completion = LiteLLMClient(retries=0).complete(model_at(server.url), [{"role": "user", "content": "go"}])
        assert completion.finish_reason == LOOPED
        assert looped.startswith(completion.text)
        assert len(completion.text) < len(looped) // 4

    def test_real_code_streams_to_its_end(self, server: ScriptedServer) -> None:
        """A long real file is read whole: its finish reason is the server's."""
        reply = "twelve_days.py\n```python\n" + REAL_CODE + "```\n"
        server.push(ScriptedReply(content=reply))
        completion = LiteLLMClient(retries=0).complete(model_at(server.url), [{"role": "user", "content": "go"}])
        assert (completion.text, completion.finish_reason) == (reply, "stop")


class TestReplyBound:
    def test_new_files_get_a_fixed_room_each(self) -> None:
        """A target that does not exist yet (or is empty) gets TOKENS_PER_FILE: explanation plus a new file."""
        assert reply_token_bound([SourceFile(path="a.py", content=None)]) == TOKENS_PER_FILE
        assert reply_token_bound([SourceFile(path="a.py", content=None), SourceFile(path="b.py", content="")]) == (
            2 * TOKENS_PER_FILE
        )

    def test_an_existing_file_adds_twice_its_size(self) -> None:
        """A whole-file rewrite of a long file must fit, with slack: twice the file's token bound on top."""
        text = "def f(x):\n    return x\n" * 100
        bound = reply_token_bound([SourceFile(path="a.py", content=text)])
        assert bound == TOKENS_PER_FILE + 2 * upper_bound_tokens(text)

    def _caller_models(self, tmp_path: Path, model: str, reply_tokens: int) -> list[int | None]:
        config = Config.model_validate({"llm": {"tiers": {"tier1": [model]}, "models": {"hosted": {
            "model": "openai/hosted", "api_base": "http://127.0.0.1:9", "max_tokens": 3000}}}})  # fmt: skip
        client = FunctionClient.replying("one", "two")
        router = Router(ProjectPaths(root=tmp_path), config, client, {})
        caller = router.caller("SPEC.md", lambda tier, model, error: None)
        tier = TierPlan(name="tier1", models=[model])
        caller.ask(tier, [{"role": "user", "content": "go"}], repair=False, attempt=0, reply_tokens=reply_tokens)
        caller.ask_samples(tier, [{"role": "user", "content": "go"}], 1, reply_tokens=reply_tokens)
        return [call.model.max_tokens for call in client.calls]

    def test_a_local_model_is_asked_for_no_more_than_the_bound(self, tmp_path: Path) -> None:
        """A bundled local model's request carries the reply bound, below [local] max_tokens (2048)."""
        assert self._caller_models(tmp_path, "local/qwen2.5-coder-0.5b", 1100) == [1100, 1100]

    def test_a_bound_above_the_models_own_changes_nothing(self, tmp_path: Path) -> None:
        """The bound only ever lowers max_tokens."""
        assert self._caller_models(tmp_path, "local/qwen2.5-coder-0.5b", 5000) == [2048, 2048]

    def test_a_hosted_model_keeps_its_own_max_tokens(self, tmp_path: Path) -> None:
        """A hosted model writes fast: cutting it short would only lose work."""
        assert self._caller_models(tmp_path, "hosted", 1100) == [3000, 3000]


class TestLoopedAttempt:
    def test_a_looped_reply_without_a_file_is_rejected_as_a_loop_and_the_next_prompt_says_so(self, repo: Path) -> None:
        """The attempt's reason names the loop (not a format error), and the next prompt tells the model."""
        setup_example(repo, NO_SERVER, stub=True)

        def looped(model: ResolvedModel, messages: list[Message]) -> Completion:
            return completion_for(model, messages, "temps.py\n```python\n" + "x = 1\n" * 40, finish_reason=LOOPED)

        client = FunctionClient.replying(looped, RIGHT)
        result = run_pass(repo, client, test_runner=temperature_runner())
        assert result.status == "satisfied"
        assert result.attempts[0].outcome == "rejected"
        assert result.attempts[0].reason == "the reply looped and was cut off"
        assert "repeated the same text over and over" in client.calls[1].prompt_text
