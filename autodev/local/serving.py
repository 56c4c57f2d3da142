"""A ChatClient that serves local models on demand and hands every call to the real client.

Models resolved with a ``gguf`` (a bundled ``local/...`` alias or a file path) get their llama.cpp server started
or reused first; the call itself goes through LiteLLM over HTTP like any OpenAI-compatible server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from autodev.config import Config
from autodev.errors import LocalModelError, ModelError
from autodev.llm.client import ChatClient, Completion, LiteLLMClient, Message
from autodev.llm.models import ResolvedModel
from autodev.local.catalog import CATALOG
from autodev.local.files import Progress, ensure_model_file, models_dir
from autodev.local.registry import ServerRegistry
from autodev.local.server import ServerManager, ServerSettings


class LocalServingClient:
    """Starts (or reuses) the server of a local model before delegating the call."""

    def __init__(self, inner: ChatClient, manager: ServerManager, directory: Path, progress: Progress | None = None):
        self.inner = inner
        self.manager = manager
        self.directory = directory
        self.progress = progress

    def complete(self, model: ResolvedModel, messages: Sequence[Message]) -> Completion:
        """A server that cannot start, or crashes, fails this call (the router moves on); it never ends the run."""
        if model.gguf is None:
            return self.inner.complete(model, messages)
        alias = model.litellm_model.removeprefix("openai/")
        try:
            path = self.model_path(model.gguf)
            api_base = self.manager.api_base(alias, path)
        except LocalModelError as error:
            raise ModelError(model.name, "local model unavailable", str(error), retryable=False) from error
        try:
            return self.inner.complete(model.model_copy(update={"api_base": api_base}), messages)
        except ModelError as error:
            failure = self.manager.call_failed(alias, error)
            if failure is error:
                raise
            raise failure from error

    def model_path(self, gguf: str) -> Path:
        spec = CATALOG.get(gguf)
        if spec is not None:
            return ensure_model_file(spec, self.directory, progress=self.progress)
        path = Path(gguf).expanduser()
        if not path.is_file():
            raise LocalModelError(f"GGUF file {path} not found ([llm.models.NAME] gguf)")
        return path


def server_manager(config: Config, env: Mapping[str, str]) -> tuple[ServerManager, Path]:
    directory = models_dir(config.local.models_dir, env)
    settings = ServerSettings(
        context_size=config.local.context_size,
        threads=config.local.threads,
        startup_timeout_s=config.local.startup_timeout_s,
        extra_buffers=config.local.extra_buffers,
        command=tuple(config.local.server_command) if config.local.server_command else None,
    )
    return ServerManager(settings, ServerRegistry(directory)), directory


@contextmanager
def model_client(
    config: Config, env: Mapping[str, str] | None = None, *, progress: Progress | None = None
) -> Iterator[LocalServingClient]:
    """The default client for a run: LiteLLM (retried by the dispatcher) and local servers, stopped at the end."""
    manager, directory = server_manager(config, env if env is not None else os.environ)
    try:
        yield LocalServingClient(LiteLLMClient(retries=0), manager, directory, progress)
    finally:
        manager.close()
