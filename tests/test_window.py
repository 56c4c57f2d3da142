"""The messages of a request trimmed to the model's context window (ASK-7): estimate, window, fit."""

from __future__ import annotations

import pytest

from autodev.ask.window import estimate_tokens, fit_to_window, message_tokens, messages_tokens, window_tokens
from autodev.config import Config, LocalConfig
from autodev.errors import ContextTooLongError, UsageError
from autodev.llm.client import Message
from autodev.llm.models import ResolvedModel
from autodev.llm.price_list import bundled_price_list

pytestmark = pytest.mark.req("ASK-7")

HEAD: list[Message] = [{"role": "system", "content": "You answer questions about code."}]
LATEST: Message = {"role": "user", "content": "and now?"}


def said(role: str, text: str, size: int = 350) -> Message:
    """A message of ``size`` characters (100 tokens by the estimate at 350) that starts with ``text``."""
    return {"role": role, "content": (text + "\n").ljust(size, ".")}


def exchanges(count: int) -> list[Message]:
    """``count`` questions (``question N``) each with its answer, oldest first."""
    return [message for n in range(1, count + 1) for message in (said("user", f"question {n}"), said("assistant", "a"))]


def model(litellm_model: str, **fields: object) -> ResolvedModel:
    return ResolvedModel.model_validate({"name": "m", "litellm_model": litellm_model, **fields})


class TestEstimateTokens:
    def test_three_and_a_half_characters_a_token_rounded_up(self) -> None:
        assert estimate_tokens("") == 0
        assert estimate_tokens("x" * 35) == 10
        assert estimate_tokens("x" * 36) == 11

    def test_it_over_estimates_ordinary_text(self) -> None:
        """Tokenizers average about four characters a token on English and code: the estimate is above that."""
        text = "def to_kelvin(celsius):\n    return celsius + 273.15\n" * 20
        assert estimate_tokens(text) > len(text) / 4

    def test_each_message_adds_a_few_tokens_for_its_framing(self) -> None:
        assert message_tokens({"role": "user", "content": "x" * 35}) == 14


class TestWindowTokens:
    def test_configured_context_tokens_win(self) -> None:
        """[llm.models.NAME] context_tokens over everything autodev would guess, a served model included."""
        assert window_tokens(model("gpt-4o-mini", context_tokens=3000), Config()) == 3000
        assert window_tokens(model("openai/m", gguf="local/smollm2-135m", context_tokens=1000), Config()) == 1000

    def test_a_served_local_model_has_the_context_size_it_is_served_with(self) -> None:
        config = Config(local=LocalConfig(context_size=4096))
        assert window_tokens(model("openai/smollm2", gguf="local/smollm2-135m"), config) == 4096

    def test_a_hosted_model_has_the_window_of_litellms_price_list(self) -> None:
        """gpt-4o-mini takes 128,000 input tokens in LiteLLM's bundled file; a provider prefix is looked past."""
        assert bundled_price_list()["gpt-4o-mini"]["max_input_tokens"] == 128000
        assert window_tokens(model("gpt-4o-mini"), Config()) == 128000
        assert window_tokens(model("openai/gpt-4o-mini"), Config()) == 128000

    def test_an_ollama_model_the_list_does_not_know_gets_ollamas_default_context(self) -> None:
        assert window_tokens(model("ollama/no-such-model:7b"), Config()) == 2048
        assert window_tokens(model("ollama_chat/no-such-model"), Config()) == 2048

    def test_an_unknown_model_gets_8192(self) -> None:
        assert window_tokens(model("someprovider/no-such-model"), Config()) == 8192


class TestFitToWindow:
    def test_everything_is_sent_when_it_fits(self) -> None:
        history = exchanges(2)
        fitted = fit_to_window(HEAD, history, LATEST, window=10_000, reserve=1000)
        assert fitted.messages == [*HEAD, *history, LATEST]
        assert fitted.dropped == 0 and fitted.window == 10_000
        assert fitted.tokens == messages_tokens(fitted.messages)

    def test_the_oldest_exchanges_are_dropped_first_and_the_summary_names_them(self) -> None:
        """Room for two exchanges of four: questions 1 and 2 go, and one user message after the head says so."""
        history = exchanges(4)
        fixed = messages_tokens([*HEAD, LATEST])
        fitted = fit_to_window(HEAD, history, LATEST, window=fixed + 4 * 104 + 60 + 100, reserve=100)
        assert fitted.dropped == 4
        assert fitted.messages[0] == HEAD[0]
        assert fitted.messages[2:] == [*history[4:], LATEST]
        summary = fitted.messages[1]
        assert summary == {
            "role": "user",
            "content": "(Earlier in this conversation, 4 messages were left out to fit the model's context window. "
            "They were about: question 1; question 2)",
        }
        assert fitted.tokens == messages_tokens(fitted.messages) <= fitted.window - 100

    def test_an_answer_goes_with_its_question(self) -> None:
        """Where dropping one message would do, the whole exchange goes: no answer is sent without its question."""
        history = exchanges(2)
        window = messages_tokens([*HEAD, *history, LATEST]) - 10
        fitted = fit_to_window(HEAD, history, LATEST, window=window, reserve=0)
        assert fitted.dropped == 2
        assert [message["role"] for message in fitted.messages] == ["system", "user", "user", "assistant", "user"]
        assert fitted.messages[2:4] == history[2:]

    def test_the_summary_counts_toward_the_budget(self) -> None:
        """History that would fit alone, but not beside the summary, loses one more exchange."""
        history = exchanges(3)
        kept_two = messages_tokens([*HEAD, *history[2:], LATEST])
        fitted = fit_to_window(HEAD, history, LATEST, window=kept_two + 5, reserve=0)
        assert fitted.dropped == 4
        assert "question 1; question 2" in fitted.messages[1]["content"]
        assert fitted.tokens <= kept_two + 5

    def test_the_summary_names_each_dropped_question_by_its_first_line_shortened(self) -> None:
        history = [said("user", "y" * 200), said("assistant", "a"), said("user", "last")]
        window = messages_tokens([*HEAD, history[2], LATEST]) + 120
        summary = fit_to_window(HEAD, history, LATEST, window=window, reserve=0).messages[1]["content"]
        assert summary.endswith("They were about: " + "y" * 79 + "…)")

    def test_all_history_may_go_when_only_head_and_question_fit(self) -> None:
        fitted = fit_to_window(HEAD, exchanges(3), LATEST, window=messages_tokens([*HEAD, LATEST]) + 1, reserve=0)
        assert fitted.dropped == 6
        assert fitted.messages == [*HEAD, LATEST]

    def test_a_question_too_long_alone_is_refused_with_the_numbers_and_what_to_do(self) -> None:
        head = [said("system", "files", size=35_000)]  # 10,004 tokens by the estimate
        with pytest.raises(ContextTooLongError) as refused:
            fit_to_window(head, [], LATEST, window=8192, reserve=1024)
        error = refused.value
        assert isinstance(error, UsageError) and error.exit_code == 2
        assert error.tokens == messages_tokens([*head, LATEST]) and error.window == 8192
        message = str(error)
        assert f"{error.tokens} tokens" in message and "8192 tokens" in message
        assert "leave out some files, choose a model with a larger window, or set [llm.models.NAME] context_tokens" in (
            message
        )

    def test_an_answer_without_its_question_never_follows_the_head(self) -> None:
        """History that starts with an answer (its question lost) loses that answer even when all would fit."""
        history = [said("assistant", "orphan"), *exchanges(1)]
        fitted = fit_to_window(HEAD, history, LATEST, window=10_000, reserve=0)
        assert fitted.dropped == 1
        assert fitted.messages[2:] == [*history[1:], LATEST]
        assert fitted.messages[1]["role"] == "user" and "1 messages were left out" in fitted.messages[1]["content"]
