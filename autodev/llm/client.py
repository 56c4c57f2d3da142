"""Calling a model: the one place that imports LiteLLM, lazily.

LiteLLM's import costs seconds and ~165 MB, so it happens on the first call, never at CLI start. Its
exceptions are translated into ModelError through one table, so callers see a kind, a hint and whether another
call could succeed.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Sequence
from types import ModuleType
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from autodev.errors import ModelError
from autodev.llm.limits import completion_bound
from autodev.llm.models import ResolvedModel, is_loopback
from autodev.llm.retry import call_with_retries
from autodev.llm.stream import read_stream, unstreamed_reply

Message = dict[str, str]

# LiteLLM exception class name -> (kind, retryable, hint for the user).
_EXCEPTION_TABLE: dict[str, tuple[str, bool, str]] = {
    "AuthenticationError": (
        "authentication failed",
        False,
        "check the API key (api_key_env in autodev.toml)",
    ),
    "PermissionDeniedError": ("permission denied", False, "the key has no access to this model"),
    "NotFoundError": ("model not found", False, "check the model name and api_base"),
    "ContextWindowExceededError": ("prompt too long", False, "the spec, tests and files exceed the context"),
    "ContentPolicyViolationError": ("refused by content policy", False, ""),
    "BadRequestError": ("bad request", False, "check the model name and its provider prefix"),
    "UnprocessableEntityError": ("bad request", False, ""),
    "PaymentRequiredError": ("payment required", False, "the provider account needs credit"),
    "BudgetExceededError": ("budget exceeded", False, ""),
    "RateLimitError": ("rate limited", True, "wait, or configure another model in the same tier"),
    "Timeout": ("timed out", True, "raise [llm.models.NAME] timeout_s, or use a faster model"),
    "APIConnectionError": ("cannot connect", True, "is the server running and api_base right?"),
    "ServiceUnavailableError": ("service unavailable", True, ""),
    "InternalServerError": ("server error", True, ""),
    "BadGatewayError": ("server error", True, ""),
    "APIError": ("provider error", True, ""),
}

# Set to "1" (the test suite does) so that only loopback servers can be called: no test can reach, or pay, a provider.
NO_NETWORK_ENV = "AUTODEV_NO_NETWORK"

_LITELLM_PREFIX = re.compile(r"^(?:litellm\.\w+: )?(?:\w+Error: )?(?:\w+Exception - )?")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_litellm_lock = threading.Lock()
_litellm_module: ModuleType | None = None


class Completion(BaseModel):
    """A model's answer and what it cost."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    duration_s: float
    finish_reason: str | None = None
    cached: bool = False  # replayed from the response cache: no request was made
    # Where the response cache holds this answer, so that a rejected one can be forgotten; never stored itself.
    cache_key: str | None = Field(default=None, exclude=True)

    @field_validator("text")
    @classmethod
    def _encodable(cls, text: str) -> str:
        """A lone surrogate (``"\\ud800"``, which JSON may carry) cannot be written as UTF-8: the cache, the log and
        every file write would fail on it. It becomes U+FFFD here, at the boundary, before anything stores it."""
        return _LONE_SURROGATE.sub("\ufffd", text)


class ChatClient(Protocol):
    """What the engine needs from a model; tests may substitute anything with this shape."""

    def complete(self, model: ResolvedModel, messages: Sequence[Message]) -> Completion: ...


def load_litellm() -> ModuleType:
    """Import LiteLLM once, offline: its price list must come from the package, not the network."""
    global _litellm_module
    with _litellm_lock:
        if _litellm_module is None:
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            import litellm

            litellm.suppress_debug_info = True
            litellm.telemetry = False
            _litellm_module = litellm
        return _litellm_module


def loaded_litellm() -> ModuleType | None:
    """LiteLLM if a call has imported it already, else None: a cheap check must not pay for the import."""
    with _litellm_lock:
        return _litellm_module


def provider_known(name: str) -> bool:
    """Whether LiteLLM can route a bare model name (``gpt-4`` yes, ``phi-2`` no)."""
    litellm = load_litellm()
    if name in litellm.model_cost:
        return True
    try:
        litellm.get_llm_provider(name)
    except Exception:
        return False
    return True


# Provider prefix (or bare-name family) -> the environment variable LiteLLM reads the key from.
_KEY_VARIABLES: dict[str, str] = {
    "openai": "OPENAI_API_KEY",
    "gpt": "OPENAI_API_KEY",
    "o1": "OPENAI_API_KEY",
    "o3": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "claude": "ANTHROPIC_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "groq": "GROQ_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "together_ai": "TOGETHERAI_API_KEY",
    "cohere": "COHERE_API_KEY",
    "azure": "AZURE_API_KEY",
}


def key_variable(model: ResolvedModel) -> str | None:
    """The environment variable that holds this model's key: configured, else the provider's usual one."""
    if model.api_key_env:
        return model.api_key_env
    prefix = model.litellm_model.split("/", 1)[0] if "/" in model.litellm_model else model.litellm_model
    family = re.split(r"[-.:]", prefix, maxsplit=1)[0].lower()
    return _KEY_VARIABLES.get(prefix.lower()) or _KEY_VARIABLES.get(family)


def translate_error(
    model: str, exc: Exception, *, key_variable: str | None = None, api_base: str | None = None
) -> ModelError:
    """One ModelError for any LiteLLM/OpenAI exception, in words about the server the user configured.

    LiteLLM's own text is about its internals (``<APIResponse [200 OK] ...>``, a codec, a raw HTML page, no
    status, no URL), so the facts are read from the exception chain instead: the HTTP status and body of the
    OpenAI client's error, the URL of its request (``api_base`` when configured), the operating system's reason.
    Transport failures come first: LiteLLM wraps a refused connection in an InternalServerError, and the user needs
    to hear "cannot connect", not "server error". Then an answer whose body could not be read (LiteLLM calls it a
    server error too); otherwise the class hierarchy of the outer exception decides.
    """
    chain = _exception_chain(exc)
    where = api_base or _request_url(chain) or "the server"
    transport = next((link for link in chain if _transport_kind(link)), None)
    if transport is not None:
        kind, retryable, hint = _EXCEPTION_TABLE[_transport_kind(transport)]
        cause = next((link for link in chain if isinstance(link, OSError)), transport)
        if kind == "cannot connect":
            return ModelError(model, kind, f"{where} ({_os_reason(cause)}): {hint}", retryable=retryable)
        return ModelError(model, kind, _with_hint(_message(cause), hint), retryable=retryable)
    if _status_error(chain) is None and _body_not_json(chain):
        status = _status_in_text(chain)
        answered = f"answered HTTP {status}" if status else "answered"
        detail = (
            f"the server at {where} {answered} with a body that is not JSON (is api_base an OpenAI-compatible API?)"
        )
        return ModelError(model, "invalid answer", detail, retryable=False)
    for cls in type(exc).__mro__:
        entry = _EXCEPTION_TABLE.get(cls.__name__)
        if entry is not None:
            kind, retryable, hint = entry
            if kind == "authentication failed" and key_variable:
                hint = f"set {key_variable} to a valid key, or name another variable with api_key_env"
            detail = _http_detail(chain, where, _with_hint(_message(exc), hint))
            return ModelError(model, kind, detail, retryable=retryable)
    return ModelError(model, "unexpected error", f"{type(exc).__name__}: {_message(exc)}", retryable=False)


_HTML = re.compile(r"<!doctype\s+html|<html[\s>]", re.IGNORECASE)
_RESPONSE_STATUS = re.compile(r"<APIResponse \[(\d{3})\b")
_ERRNO = re.compile(r"^\[Errno -?\d+\]\s*")


def _http_detail(chain: Sequence[BaseException], where: str, detail: str) -> str:
    """The detail with the HTTP status first; an HTML page (a proxy, a web UI) said as such, not quoted."""
    answer = _status_error(chain)
    outer = getattr(chain[0], "status_code", None) if chain else None
    if answer is None and isinstance(outer, int):
        answer = outer, str(chain[0])
    if answer is None:
        return detail
    status, body = answer
    if _HTML.search(body):
        page = "the server answered with an HTML page, not the API (is api_base the API's URL?)"
        return f"HTTP {status} from {where}: {page}"
    return f"HTTP {status}: {detail}"


def _status_error(chain: Sequence[BaseException]) -> tuple[int, str] | None:
    """(status, body) of the OpenAI client's own status error: the server's, where LiteLLM's wrappers re-label
    both (an unreadable 200 answer becomes a 500)."""
    for link in chain:
        status = getattr(link, "status_code", None)
        if type(link).__module__.split(".")[0] == "openai" and isinstance(status, int):
            return status, str(getattr(link, "body", "") or link)
    return None


def _request_url(chain: Sequence[BaseException]) -> str | None:
    """Where the request went, from the HTTP client's own exceptions (LiteLLM's wrappers carry placeholder URLs)."""
    for link in chain:
        if type(link).__module__.split(".")[0] not in ("openai", "httpx"):
            continue
        try:
            url = getattr(link, "request", None)
            return str(url.url) if url is not None else None
        except (AttributeError, RuntimeError):
            continue
    return None


def _body_not_json(chain: Sequence[BaseException]) -> bool:
    """An answer whose body could not be decoded: LiteLLM reports the JSON or codec error of parsing it."""
    return any(isinstance(link, json.JSONDecodeError | UnicodeDecodeError) for link in chain)


def _status_in_text(chain: Sequence[BaseException]) -> str | None:
    for link in chain:
        match = _RESPONSE_STATUS.search(str(link))
        if match:
            return match.group(1)
    return None


def _os_reason(exc: BaseException) -> str:
    """``[Errno 111] Connection refused`` as ``connection refused``."""
    reason = _ERRNO.sub("", _message(exc)).rstrip(".")
    return reason[:1].lower() + reason[1:] if reason else "no detail"


def _exception_chain(exc: BaseException, limit: int = 10) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < limit:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _transport_kind(exc: BaseException) -> str:
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & {"Timeout", "APITimeoutError", "TimeoutException"} or isinstance(exc, TimeoutError):
        return "Timeout"
    if names & {"APIConnectionError", "ConnectError"} or isinstance(exc, ConnectionError):
        return "APIConnectionError"
    return ""


def _message(exc: BaseException) -> str:
    """The exception's first line without LiteLLM's repeated class-name prefixes."""
    return _LITELLM_PREFIX.sub("", _first_line(str(exc)))


def _with_hint(detail: str, hint: str) -> str:
    return f"{detail} ({hint})" if hint else detail


def _first_line(text: str, limit: int = 300) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "no detail"
    return line if len(line) <= limit else line[:limit] + "..."


class LiteLLMClient:
    """ChatClient over LiteLLM; ``retries`` more tries for errors that another call may fix.

    A pass sets ``retries=0``: its dispatcher retries, so that the budget sees every request.
    """

    def __init__(self, *, retries: int = 1, backoff_s: float = 1.0) -> None:
        self.retries = retries
        self.backoff_s = backoff_s

    def complete(self, model: ResolvedModel, messages: Sequence[Message]) -> Completion:
        return call_with_retries(lambda: self._call(model, messages), retries=self.retries, backoff_s=self.backoff_s)

    def _call(self, model: ResolvedModel, messages: Sequence[Message]) -> Completion:
        if os.environ.get(NO_NETWORK_ENV) == "1" and not is_loopback(model.api_base):
            raise ModelError(
                model.name,
                "network disabled",
                f"{NO_NETWORK_ENV} is set: only loopback api_base servers may be called",
                retryable=False,
            )
        litellm = load_litellm()
        started = time.monotonic()
        try:
            stream = litellm.completion(**_request(model, messages))
            where = model.api_base or "the server"
            reply = unstreamed_reply(stream, model.name, where) or read_stream(
                stream, model.name, timeout_s=model.timeout_s, started=started
            )
        except ModelError:
            raise
        except Exception as exc:  # raised at the request or while the reply streams in
            raise translate_error(model.name, exc, key_variable=key_variable(model), api_base=model.api_base) from exc
        duration = time.monotonic() - started
        response = _StreamResponse(litellm, reply.chunks, messages)
        input_tokens = reply.input_tokens if reply.input_tokens is not None else response.usage("prompt_tokens")
        output_tokens = reply.output_tokens if reply.output_tokens is not None else response.usage("completion_tokens")
        return Completion(
            text=reply.text,
            model=model.litellm_model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd=_cost(litellm, model, response, input_tokens, output_tokens),
            duration_s=duration,
            finish_reason=reply.finish_reason,
        )


class _StreamResponse:
    """The chunks rebuilt into one response by LiteLLM, only when needed: for its token counts or its prices."""

    def __init__(self, litellm: ModuleType, chunks: list[Any], messages: Sequence[Message]) -> None:
        self._litellm = litellm
        self._chunks = chunks
        self._messages = messages
        self._built: Any = None

    def built(self) -> Any:
        if self._built is None and self._chunks:
            self._built = self._litellm.stream_chunk_builder(self._chunks, messages=list(self._messages))
        return self._built

    def usage(self, name: str) -> int:
        """A token count from the rebuilt response (LiteLLM counts when the provider sent no usage); 0 if none."""
        try:
            return int(getattr(getattr(self.built(), "usage", None), name, 0) or 0)
        except Exception:
            return 0


def _request(model: ResolvedModel, messages: Sequence[Message]) -> dict[str, Any]:
    """The request LiteLLM sends; ``max_tokens`` always, the bound the budget priced (a cap must not rest on a
    server's default answer length)."""
    request: dict[str, Any] = {
        "model": model.litellm_model,
        "messages": list(messages),
        "temperature": model.temperature,
        "timeout": model.timeout_s,
        "num_retries": 0,
    }
    if model.api_base:
        request["api_base"] = model.api_base
    if model.api_key is not None:
        request["api_key"] = model.api_key.get_secret_value()
    request["max_tokens"] = completion_bound(model)
    if model.seed is not None:
        request["seed"] = model.seed
    request["stream"] = True  # progress while the model works; the usage comes in the last chunk
    request["stream_options"] = {"include_usage": True}
    return request


def _cost(
    litellm: ModuleType, model: ResolvedModel, response: _StreamResponse, input_tokens: int, output_tokens: int
) -> float:
    """Configured prices win (local models have none in LiteLLM's map); unknown models cost 0."""
    if model.has_configured_price:
        return input_tokens * (model.input_cost_per_token or 0.0) + output_tokens * (model.output_cost_per_token or 0.0)
    try:
        return float(litellm.completion_cost(completion_response=response.built()))
    except Exception:
        return 0.0
