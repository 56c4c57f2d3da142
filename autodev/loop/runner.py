"""`autodev loop run`: watch the project and run a pass whenever the spec or the tests change.

One loop per project (the pid lock). Passes never overlap and never restart midway: changes that arrive during
a pass wait in the watcher and make exactly one follow-up pass. SIGTERM or Ctrl-C between passes stops at once;
during a pass it unwinds the pass, which rolls its attempt back and kills its test process group first.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from autodev.commands import find_commands
from autodev.config import Config
from autodev.config_layers import load_effective_config
from autodev.core.one_pass import run_once
from autodev.errors import AutodevError
from autodev.llm.client import ChatClient
from autodev.local.serving import model_client
from autodev.logs import get_logger
from autodev.loop import notify
from autodev.loop.daemon import LoopFiles
from autodev.loop.pidlock import LoopLock
from autodev.loop.reload import Source, SourceWatch, project_changes, triggers_pass
from autodev.loop.status import LoopState, write_state
from autodev.memory import Memory
from autodev.project import ProjectPaths
from autodev.results import PassResult
from autodev.synth.memory_prompt import project_memory
from autodev.watch.gate import hash_file
from autodev.watch.watcher import ProjectWatcher

WAIT_SLICE_S = 1.0  # how often the loop looks at its stop flag while idle
CONFIG_FILE = "autodev.toml"

PassFunction = Callable[[ProjectPaths, Config, ChatClient], PassResult]


def _default_pass(paths: ProjectPaths, config: Config, client: ChatClient) -> PassResult:
    return run_once(paths, config, client=client, wait=True, doing="a loop pass")  # a `run --once` may hold it


def _config_problem(error: AutodevError) -> str:
    """The whole message: the level (autodev.toml, the user's config.toml, a variable), the key and the problem."""
    return str(error)


class LoopRunner:
    """The foreground loop; ``run_pass`` is injectable so tests can count passes without models.

    ``env`` (default: this process's) and ``flags`` (``--set`` values) are the levels above autodev.toml; they are
    read again with the file whenever autodev.toml changes (config_layers.py).
    """

    def __init__(
        self,
        root: Path,
        *,
        run_pass: PassFunction = _default_pass,
        env: Mapping[str, str] | None = None,
        flags: Mapping[str, Any] | None = None,
    ) -> None:
        self.paths = ProjectPaths(root=root)
        self.env: Mapping[str, str] = dict(os.environ if env is None else env)
        self.flags: Mapping[str, Any] = dict(flags or {})
        self.files = LoopFiles.for_root(root)
        self.run_pass = run_pass
        self.stop_requested = threading.Event()
        self.in_pass = False
        self.log = get_logger(component="loop")
        self.state = LoopState.starting(root)
        self.config = self._load_config()
        self.memory = self._find_memory()
        self.sources = SourceWatch(self.paths.root, self.env)
        self.sources.look(self.config, self.memory)
        self.held: set[str] = set()  # project changes seen while the configuration was invalid

    def _load_config(self) -> Config:
        return load_effective_config(self.paths.root, self.env, self.flags).config

    def run(self) -> int:
        lock = LoopLock(self.files.pid_file, root=self.paths.root)
        lock.acquire()
        try:
            self._set_state(self.state)
            with self._signals(), model_client(self.config) as client:
                watcher = ProjectWatcher(self.paths.root, self.config.monitoring)
                watcher.start()
                try:
                    self._watch(watcher, client)
                finally:
                    watcher.stop()
        finally:
            notify.stopping()
            self._set_state(self.state.entering("stopping"))
            lock.release()
            self.log.info("loop stopped")
        return 0

    def _watch(self, watcher: ProjectWatcher, client: ChatClient) -> None:
        self._set_state(self.state.entering("watching"))
        notify.ready()
        self.log.info("watching", root=str(self.paths.root), patterns=self.config.monitoring.watch_patterns)
        self._pass(watcher, client, reason="start")
        while not self.stop_requested.is_set():
            changes = watcher.wait_for_change(WAIT_SLICE_S) or set()
            if self.stop_requested.is_set():
                continue
            reason = self._reason(watcher, changes)
            if reason is not None:
                self._pass(watcher, client, reason=reason)

    def _reason(self, watcher: ProjectWatcher, changes: set[str]) -> str | None:
        """Why a pass should run now, or None: reloads what changed first, and holds passes on a bad config.

        Changes that arrive while the configuration is invalid are kept, so fixing it runs the pass they asked for.
        """
        before, was_invalid = self.config, self.state.config_error is not None
        sources = self.sources.changed(self.config, self.memory, changes)
        if sources:
            self._reload(sources, watcher)
        self.held |= project_changes(changes, self.config)
        if self.state.config_error is not None:
            return None  # passes wait for a valid file: its edit may have cut a budget or a hosted tier
        held, self.held = self.held, set()
        if held:
            return ", ".join(sorted(held)[:5])
        unmet = self.state.last_pass is None or self.state.last_pass.status != "satisfied"
        if was_invalid or triggers_pass(sources, before, self.config, unmet=unmet):
            return "reloaded " + " and ".join(sorted(sources))
        return None

    def _pass(self, watcher: ProjectWatcher, client: ChatClient, *, reason: str) -> None:
        self.log.info("pass starting", because=reason)
        self._set_state(self.state.pass_started())
        notify.status(f"pass running ({reason})")
        self.in_pass = True
        try:
            result = self.run_pass(self.paths, self.config, client)
        except KeyboardInterrupt:
            self.stop_requested.set()
            self._set_state(self.state.pass_finished("interrupted", "stopped during the pass; rolled back"))
            return
        except AutodevError as error:  # a bad spec or config must not end the loop: the next edit may fix it
            self.log.error("pass failed", error=str(error))
            self._set_state(self.state.pass_finished("failed", str(error)))
            notify.status(f"watching; last pass failed: {error}")
            return
        finally:
            self.in_pass = False
        self._record_own_writes(watcher, result)
        self._set_state(self.state.pass_finished(result.status, result.reason, result.commit))
        notify.status(f"watching; last pass {result.status}: {result.reason[:120]}")
        self.log.info("pass finished", status=result.status, reason=result.reason, commit=result.commit)

    def _record_own_writes(self, watcher: ProjectWatcher, result: PassResult) -> None:
        """Files a green attempt wrote must not start the next pass by themselves."""
        for attempt in result.attempts:
            if attempt.outcome == "green":
                for rel in attempt.files:
                    watcher.gate.record_own_write(rel, hash_file(self.paths.root / rel))

    def _reload(self, sources: set[Source], watcher: ProjectWatcher) -> None:
        """Take what changed: the configuration (unless invalid), the memory files, the commands' problems."""
        if "config" in sources:
            self._reload_config(watcher)
        if sources & {"config", "memory"}:
            self.memory = self._find_memory()  # the commands are read afresh below: only their problems matter
        commands = find_commands(self.paths.root, self.env)
        problems = [*self.memory.problems, *(str(problem) for problem in commands.problems)]
        if problems != self.state.problems:
            for problem in problems:
                self.log.warning("reload problem", problem=problem)
            self._set_state(self.state.with_problems(problems))
        self.sources.look(self.config, self.memory)
        self.log.info("reloaded", sources=sorted(sources))

    def _find_memory(self) -> Memory:
        return project_memory(self.paths.root, self.config.context)

    def _reload_config(self, watcher: ProjectWatcher) -> None:
        """Take the edited configuration, or record why it is invalid in the state file.

        An invalid file runs no pass with the previous configuration: the edit may have lowered a budget or
        removed a hosted tier, and spending on the old one would be a surprise. `loop status` shows the error.
        """
        try:
            config = self._load_config()
        except AutodevError as error:
            self.log.error("the configuration is invalid; no pass until it is fixed", error=str(error))
            self._set_state(self.state.with_config_error(_config_problem(error)))
            notify.status(f"config error: {error}; waiting for a valid {CONFIG_FILE}")
            return
        self.config = config
        watcher.reconfigure(config.monitoring)
        if self.state.config_error is not None:
            self._set_state(self.state.with_config_error(None))
        self.log.info("configuration reloaded")

    def _set_state(self, state: LoopState) -> None:
        self.state = state
        write_state(self.files.state_file, state)

    @contextmanager
    def _signals(self) -> Iterator[None]:
        """SIGTERM/SIGINT: stop between passes; inside a pass, unwind it (its attempt is rolled back)."""

        def handle(signum: int, frame: FrameType | None) -> None:
            self.stop_requested.set()
            self.log.info("stop requested", signal=signal.Signals(signum).name, in_pass=self.in_pass)
            if self.in_pass:
                raise KeyboardInterrupt

        previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
