"""Output control for small models: a reply bounded by what is to be written, a loop cut off while it streams.

The stream is read through real LiteLLM from the scripted server (one word per event); the bound is checked on the
model the router hands to the client.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import NO_SERVER, RIGHT, config_text, log_events, run_pass, setup_example, temperature_runner
from pydantic import SecretStr

from autodev.config import Config
from autodev.llm.client import Completion, LiteLLMClient, Message
from autodev.llm.models import ResolvedModel
from autodev.llm.repetition import looping
from autodev.llm.stream import ENOUGH, LOOPED, reading_until
from autodev.project import ProjectPaths
from autodev.route import Router, TierPlan
from autodev.synth.context import SourceFile
from autodev.synth.reply_bound import TOKENS_PER_FILE, reply_token_bound
from autodev.synth.reply_done import every_target_written
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
        caller = router.caller("SPEC.md", lambda *args: None)
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


PANGRAM = 'def is_pangram(sentence):\n    return set("abcdefghijklmnopqrstuvwxyz") <= set(sentence.lower())\n'
AFTERWORD = "\n### Explanation of changes\n" + " ".join(
    f"Step {n}: letter {chr(97 + n % 26)} is checked." for n in range(60)
)


class TestReadUntilEveryTargetIsWritten:
    def _read(self, server: ScriptedServer, reply: str, targets: list[str]) -> Completion:
        server.push(ScriptedReply(content=reply))
        done = every_target_written(targets)
        assert done is not None
        with reading_until(done):
            return LiteLLMClient(retries=0).complete(model_at(server.url), [{"role": "user", "content": "go"}])

    def test_the_explanation_after_the_file_is_not_waited_for(self, server: ScriptedServer) -> None:
        """The reply stops being read at the fence that closes the target's file: finish reason ``enough``."""
        head = "It checks every letter.\n\npangram.py\n```python\n" + PANGRAM + "```\n"
        completion = self._read(server, head + AFTERWORD, ["pangram.py"])
        assert (completion.text.rstrip("\n"), completion.finish_reason) == (head.rstrip("\n"), ENOUGH)

    def test_a_reply_that_runs_on_into_pasted_tests_stops_where_they_begin(self, server: ScriptedServer) -> None:
        """The 0.5B pastes the tests into its block and writes them to max_tokens: reading stops at the test class."""
        head = "pangram.py\n```python\n" + PANGRAM + "\n# Test cases\nclass PangramTest(unittest.TestCase):\n"
        pasted = "".join(
            f"    def test_{n}(self):\n        self.assertIs(is_pangram('{n}'), False)\n" for n in range(50)
        )
        completion = self._read(server, head + pasted, ["pangram.py"])
        assert completion.finish_reason == ENOUGH
        assert head in completion.text and len(completion.text) < len(head) + 200

    def test_an_echoed_test_block_and_a_path_only_block_do_not_end_the_reply(self, server: ScriptedServer) -> None:
        """A block of the tests, or one holding only the path, is not the file: reading goes on to the real one."""
        echo = "```python\nimport unittest\nclass PangramTest(unittest.TestCase):\n    def test_a(self):\n"
        echo += "        pass\n```\n"
        path_only = "```bash\npangram.py\n```\n"
        reply = echo + path_only + "```python\n" + PANGRAM + "```\n" + AFTERWORD
        completion = self._read(server, reply, ["pangram.py"])
        assert completion.text.rstrip("\n") == echo + path_only + "```python\n" + PANGRAM + "```"

    def test_with_two_targets_the_reply_is_read_until_both_are_written(self, server: ScriptedServer) -> None:
        """The first file alone is not enough."""
        first = "a.py\n```python\ndef a():\n    return 1\n```\n"
        second = "b.py\n```python\ndef b():\n    return 2\n```\n"
        completion = self._read(server, first + "Now b.\n" + second + AFTERWORD, ["a.py", "b.py"])
        assert completion.text.rstrip("\n") == first + "Now b.\n" + second.rstrip("\n")

    def test_a_reply_without_a_whole_file_is_read_to_its_end(self, server: ScriptedServer) -> None:
        """SEARCH/REPLACE edits may continue after a block: read to the end, the server's finish reason kept."""
        reply = "pangram.py\n```python\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n```\n" + AFTERWORD
        completion = self._read(server, reply, ["pangram.py"])
        assert (completion.text, completion.finish_reason) == (reply, "stop")

    def test_no_targets_means_no_early_stop(self) -> None:
        """When the model chooses the paths, nothing says which files are enough."""
        assert every_target_written([]) is None


class TestInAPass:
    def test_a_pass_reads_the_reply_only_until_the_target_is_written(self, repo: Path, server: ScriptedServer) -> None:
        """A local model (a GGUF file, here answered by the scripted server) through the real client: the reply the
        pass logs and judges ends with the file; it is committed."""
        config = config_text(server.url).replace(
            'model = "openai/scripted"', 'model = "openai/scripted"\ngguf = "s.gguf"'
        )
        setup_example(repo, server.url, config=config, stub=True)
        server.push(ScriptedReply(content=RIGHT + AFTERWORD))
        result = run_pass(repo, LiteLLMClient(retries=0), test_runner=temperature_runner())
        assert result.status == "satisfied"
        [reply] = [event["reply"] for event in log_events(repo) if event["event"] == "model reply"]
        assert reply.rstrip("\n") == RIGHT.rstrip("\n")

    def test_a_hosted_models_reply_is_read_to_its_end(self, repo: Path, server: ScriptedServer) -> None:
        """A hosted model's usage comes at the end of the stream, and the budget settles with it: read it all."""
        setup_example(repo, server.url, stub=True)
        server.push(ScriptedReply(content=RIGHT + AFTERWORD))
        assert run_pass(repo, LiteLLMClient(retries=0), test_runner=temperature_runner()).status == "satisfied"
        [reply] = [event["reply"] for event in log_events(repo) if event["event"] == "model reply"]
        assert reply == RIGHT + AFTERWORD
