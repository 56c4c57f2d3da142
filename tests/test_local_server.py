"""Local model servers: started, ready only once they answer, reused across managers, stopped, and their faults.

llama.cpp is replaced by a tiny Python HTTP server (through ServerManager's command factory) that answers
/v1/models and chat completions like llama.cpp does, or misbehaves on purpose: exits at once, never binds, ignores
SIGTERM, kills itself with SIGILL on its first completion, dies on its third. The processes, ports, signals and
registry files are all real.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs
from structlog.typing import EventDict

from autodev.errors import LocalModelError, ModelError
from autodev.local import server, startup
from autodev.local.health import answers, healthy
from autodev.local.registry import RunningServer, ServerRegistry, pid_alive
from autodev.local.server import ServerManager, ServerSettings, llama_server_command, stop_server

pytestmark = pytest.mark.req("LOCAL-2")

ALIAS = "local/fake-model"

FAKE_SERVER = Path(__file__).resolve().parent / "fixtures" / "fake_llama_server.py"


class FakeServer:
    """A command factory starting the fake server; it records the ports it was given and the pids it started."""

    def __init__(self, directory: Path, mode: str = "ok") -> None:
        self.script = FAKE_SERVER
        self.starts = directory / f"starts-{mode}.txt"
        self.mode = mode
        self.ports: list[int] = []
        self.occupy_first = 0  # how many of the first ports to take before the server binds them
        self.occupiers: list[socket.socket] = []

    def __call__(self, alias: str, model_path: Path, port: int, settings: ServerSettings) -> list[str]:
        self.ports.append(port)
        if len(self.ports) <= self.occupy_first:
            self.occupiers.append(listening_on(port))
        return [sys.executable, str(self.script), self.mode, alias, str(port), str(self.starts)]

    def pids(self) -> list[int]:
        if not self.starts.exists():
            return []
        return [int(line) for line in self.starts.read_text(encoding="utf-8").split()]

    def clean_up(self) -> None:
        for occupier in self.occupiers:
            occupier.close()
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)


def listening_on(port: int) -> socket.socket:
    occupier = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    occupier.bind(("127.0.0.1", port))
    occupier.listen()
    return occupier


def dead_pid() -> int:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    return int(finished.stdout)


class Harness:
    """Managers on one temporary models directory, all closed (and every fake process killed) at teardown."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.models = tmp_path / "models"
        self.registry = ServerRegistry(self.models)
        self.model_file = tmp_path / "model.gguf"
        self.model_file.write_bytes(b"GGUF")
        self.fakes: list[FakeServer] = []
        self.managers: list[ServerManager] = []

    def fake(self, mode: str = "ok") -> FakeServer:
        fake = FakeServer(self.tmp_path, mode)
        self.fakes.append(fake)
        return fake

    def manager(self, fake: FakeServer, startup_timeout_s: float = 20.0) -> ServerManager:
        settings = ServerSettings(startup_timeout_s=startup_timeout_s, threads=1)
        manager = ServerManager(settings, ServerRegistry(self.models), command_factory=fake)
        self.managers.append(manager)
        return manager

    def close(self) -> None:
        for manager in self.managers:
            manager.close()
        for fake in self.fakes:
            fake.clean_up()


@pytest.fixture(autouse=True)
def events() -> Iterator[list[EventDict]]:
    """The manager's log events, captured: also keeps them off a console stream an earlier test configured."""
    with capture_logs() as captured:
        yield captured


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path)
    try:
        yield harness
    finally:
        harness.close()


def port_of(api_base: str) -> int:
    return int(api_base.removesuffix("/v1").rpartition(":")[2])


class TestServerManagerLifecycle:
    def test_a_healthy_server_is_started_and_registered(self, harness: Harness) -> None:
        """The first request starts one server on a loopback port, waits until it answers, and registers it."""
        fake = harness.fake()
        manager = harness.manager(fake)
        api_base = manager.api_base(ALIAS, harness.model_file)
        assert api_base == f"http://127.0.0.1:{fake.ports[0]}/v1"
        assert healthy(port_of(api_base), alias=ALIAS)
        entry = harness.registry.get(ALIAS)
        assert entry is not None
        assert (entry.pid, entry.port, entry.model_path) == (fake.pids()[0], fake.ports[0], str(harness.model_file))

    def test_a_second_manager_reuses_the_server_and_never_stops_it(self, harness: Harness) -> None:
        """Another manager (another process, as far as it knows) reuses the registered server and leaves it be."""
        fake = harness.fake()
        first = harness.manager(fake)
        api_base = first.api_base(ALIAS, harness.model_file)
        other_fake = harness.fake()
        second = harness.manager(other_fake)
        assert second.api_base(ALIAS, harness.model_file) == api_base
        assert other_fake.ports == []
        assert second.started == {}
        second.close()
        assert healthy(port_of(api_base), alias=ALIAS)
        assert harness.registry.get(ALIAS) is not None

    def test_close_stops_the_servers_it_started(self, harness: Harness) -> None:
        """close() ends the process it started and removes its registry entry."""
        fake = harness.fake()
        manager = harness.manager(fake)
        manager.api_base(ALIAS, harness.model_file)
        manager.close()
        assert not pid_alive(fake.pids()[0])
        assert harness.registry.get(ALIAS) is None
        assert not harness.registry.log_file(ALIAS).with_suffix(".json").exists()

    def test_close_leaves_an_entry_another_process_has_replaced(self, harness: Harness) -> None:
        """If another process re-registered the alias meanwhile, close() stops its own server but keeps that entry."""
        manager = harness.manager(harness.fake())
        manager.api_base(ALIAS, harness.model_file)
        theirs = RunningServer(alias=ALIAS, model_path=str(harness.model_file), pid=os.getpid(), port=1, started_at=0.0)
        harness.registry.put(theirs)
        manager.close()
        assert harness.registry.get(ALIAS) == theirs

    def test_a_dead_server_of_its_own_is_replaced(self, harness: Harness) -> None:
        """When the server it started dies, the next request starts a new one (the dead one is reaped, not leaked)."""
        fake = harness.fake()
        manager = harness.manager(fake)
        manager.api_base(ALIAS, harness.model_file)
        os.kill(fake.pids()[0], signal.SIGKILL)
        api_base = manager.api_base(ALIAS, harness.model_file)
        assert len(fake.pids()) == 2
        assert healthy(port_of(api_base), alias=ALIAS)
        assert manager.started[ALIAS].pid == fake.pids()[1]

    def test_the_log_holds_only_the_latest_start(self, harness: Harness) -> None:
        """Each start truncates the server's log, so the log (and any error) shows that start, not old ones."""
        fake = harness.fake("exit")
        manager = harness.manager(fake)
        for _ in range(2):
            with pytest.raises(LocalModelError):
                manager.api_base(ALIAS, harness.model_file)
        log = harness.registry.log_file(ALIAS).read_text(encoding="utf-8")
        first, second = fake.pids()
        assert f"fake server {second} starting" in log
        assert f"fake server {first}" not in log


class TestServerManagerFaults:
    def test_a_server_that_exits_at_start_reports_its_log(self, harness: Harness) -> None:
        """A server exiting during start-up gives its exit status and the tail of its log, and nothing registered."""
        manager = harness.manager(harness.fake("exit"))
        with pytest.raises(LocalModelError, match="exited with status 3") as caught:
            manager.api_base(ALIAS, harness.model_file)
        assert "the model file is not a GGUF file" in str(caught.value)
        assert harness.registry.get(ALIAS) is None
        assert manager.started == {}

    @pytest.mark.parametrize("mode", ["silent", "stubborn"])
    def test_a_server_never_healthy_times_out_and_is_killed(
        self, harness: Harness, mode: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Not answering within startup_timeout_s is an error naming the setting; the process (even one ignoring
        SIGTERM) is killed, not orphaned."""
        monkeypatch.setattr(startup, "STOP_GRACE_S", 1.0)
        fake = harness.fake(mode)
        manager = harness.manager(fake, startup_timeout_s=1.0)
        with pytest.raises(LocalModelError, match=r"not ready after 1 s \(\[local\] startup_timeout_s\)"):
            manager.api_base(ALIAS, harness.model_file)
        (pid,) = fake.pids()
        assert not pid_alive(pid)
        assert harness.registry.get(ALIAS) is None

    def test_a_taken_port_is_retried_on_another(self, harness: Harness, events: list[EventDict]) -> None:
        """If the chosen port is taken before the server binds it, the server is started again on another port."""
        fake = harness.fake()
        fake.occupy_first = 1
        manager = harness.manager(fake)
        api_base = manager.api_base(ALIAS, harness.model_file)
        assert len(fake.ports) == 2
        assert api_base == f"http://127.0.0.1:{fake.ports[1]}/v1"
        assert not pid_alive(fake.pids()[0])
        warnings = [e for e in events if e["log_level"] == "warning"]
        assert [w["port"] for w in warnings] == [fake.ports[0]]

    def test_ports_taken_every_time_give_up_after_three_tries(self, harness: Harness) -> None:
        """Three starts that each find their port taken end in a clear error, not an endless loop."""
        fake = harness.fake()
        fake.occupy_first = 99
        manager = harness.manager(fake)
        with pytest.raises(LocalModelError, match=r"(?i)address already in use.*3 tries"):
            manager.api_base(ALIAS, harness.model_file)
        assert len(fake.ports) == 3
        assert not any(pid_alive(pid) for pid in fake.pids())

    def test_a_port_answering_for_another_model_is_not_healthy(self, harness: Harness) -> None:
        """A server listing a different model (a recycled port) does not pass the health check for ours."""
        manager = harness.manager(harness.fake())
        port = port_of(manager.api_base(ALIAS, harness.model_file))
        assert healthy(port)
        assert not healthy(port, alias="local/another-model")

    def test_the_default_command_runs_llama_cpp_through_the_launcher(self, harness: Harness) -> None:
        """Without a factory, the command is autodev's launcher (watching this process) around llama.cpp's server
        with the alias, loopback port, context and threads; a second client never interrupts the first, and no
        prompt token's logits are kept (only logprobs need them)."""
        if not server.llama_server_available():
            with pytest.raises(LocalModelError, match=r"autodev\[local\]"):
                llama_server_command(ALIAS, harness.model_file, 8123, ServerSettings())
            return
        settings = ServerSettings(context_size=4096, threads=3, extra_buffers="off")
        command = llama_server_command(ALIAS, harness.model_file, 8123, settings)
        separator = command.index("--")
        assert command[:separator] == [
            sys.executable, "-m", "autodev.local.launch", "--parent", str(os.getpid()), "--extra-buffers", "off"
        ]  # fmt: skip
        server_args = command[separator + 1 :]
        flags = dict(zip(server_args[::2], server_args[1::2], strict=True))
        assert flags == {
            "--model": str(harness.model_file),
            "--model_alias": ALIAS,
            "--host": "127.0.0.1",
            "--port": "8123",
            "--n_ctx": "4096",
            "--n_threads": "3",
            "--interrupt_requests": "False",
            "--logits_all": "False",
        }

    def test_a_configured_server_command_gets_its_placeholders_filled(self, harness: Harness) -> None:
        """[local] server_command (another server, such as llama.cpp's llama-server) is used with every placeholder
        replaced, and needs no llama-cpp-python."""
        template = ("llama-server", "-m", "{model}", "--alias", "{alias}", "--port={port}", "-c", "{context_size}")
        settings = ServerSettings(context_size=2048, threads=2, command=(*template, "-t", "{threads}", "{parent}"))
        command = llama_server_command(ALIAS, harness.model_file, 9001, settings)
        assert command == [
            "llama-server", "-m", str(harness.model_file), "--alias", ALIAS, "--port=9001", "-c", "2048",
            "-t", "2", str(os.getpid()),
        ]  # fmt: skip


class TestCrashes:
    """A dead server is diagnosed, never restarted in a loop (issue: SIGILL on every CPU with AMX)."""

    def test_a_server_that_lists_its_model_but_dies_on_its_first_completion_is_not_ready(
        self, harness: Harness
    ) -> None:
        """Ready means a completion succeeded: a SIGILL on the first one is an error naming the signal, its meaning,
        the rebuild command and the log, and the model is not started again by this manager."""
        fake = harness.fake("sigill-first")
        manager = harness.manager(fake)
        with pytest.raises(LocalModelError) as caught:
            manager.api_base(ALIAS, harness.model_file)
        message = str(caught.value)
        assert "died from SIGILL on its first completion" in message
        assert "CPU instructions that this machine does not allow" in message
        assert "pip install --force-reinstall" in message
        assert str(harness.registry.log_file(ALIAS)) in message
        assert f"fake server {fake.pids()[0]} starting" in message  # the log's last lines
        with pytest.raises(LocalModelError, match="not started again"):
            manager.api_base(ALIAS, harness.model_file)
        assert len(fake.pids()) == 1
        assert harness.registry.get(ALIAS) is None

    def test_a_crash_after_answering_fails_that_call_and_restarts_the_server_once(self, harness: Harness) -> None:
        """A server dying on its third request: that call fails with the diagnosis (not retried blindly), the next
        call gets a new server, and a second crash of the same model means no more restarts."""
        fake = harness.fake("die-third")
        manager = harness.manager(fake)
        port = port_of(manager.api_base(ALIAS, harness.model_file))  # request 1: the readiness probe
        assert answers(port, ALIAS, timeout_s=5)  # request 2
        assert not answers(port, ALIAS, timeout_s=5)  # request 3: SIGSEGV
        failure = manager.call_failed(ALIAS, connection_error())
        assert isinstance(failure, ModelError) and not failure.retryable
        assert failure.kind == "local server crashed"
        assert "died from SIGSEGV during a request" in failure.detail
        assert "started once more" in failure.detail
        port = port_of(manager.api_base(ALIAS, harness.model_file))
        assert len(fake.pids()) == 2
        assert answers(port, ALIAS, timeout_s=5)
        assert not answers(port, ALIAS, timeout_s=5)
        second = manager.call_failed(ALIAS, connection_error())
        assert "crashed 2 times; not started again" in second.detail
        with pytest.raises(LocalModelError, match="not started again"):
            manager.api_base(ALIAS, harness.model_file)
        assert len(fake.pids()) == 2

    def test_a_timed_out_call_stops_the_server_that_keeps_generating(self, harness: Harness) -> None:
        """llama.cpp goes on generating for a client that gave up; the manager stops that server so the next call
        gets a fresh one instead of waiting behind abandoned work."""
        fake = harness.fake("slow")
        manager = harness.manager(fake)
        port = port_of(manager.api_base(ALIAS, harness.model_file))
        assert not answers(port, ALIAS, timeout_s=0.5)
        timeout = ModelError(ALIAS, "timed out", "no answer in 0.5 s", retryable=True)
        assert manager.call_failed(ALIAS, timeout) is timeout
        assert not pid_alive(fake.pids()[0])
        manager.api_base(ALIAS, harness.model_file)
        assert len(fake.pids()) == 2

    def test_a_failed_call_to_a_live_server_changes_nothing(self, harness: Harness) -> None:
        """A refused request (the server is fine) is passed on as it is, and the server keeps running."""
        fake = harness.fake()
        manager = harness.manager(fake)
        manager.api_base(ALIAS, harness.model_file)
        error = ModelError(ALIAS, "bad request", "no such parameter", retryable=False)
        assert manager.call_failed(ALIAS, error) is error
        assert pid_alive(fake.pids()[0])


def connection_error() -> ModelError:
    return ModelError(ALIAS, "cannot connect", "Server disconnected without sending a response", retryable=True)


class TestServerRegistry:
    def test_a_busy_server_is_reused_not_doubled(self, harness: Harness) -> None:
        """A registered server that accepts connections but is too busy to answer is reused; none is started."""
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(8)  # never accepts: connecting works, answering never comes, as during a generation
            port = listener.getsockname()[1]
            entry = RunningServer(
                alias=ALIAS, model_path=str(harness.model_file), pid=os.getpid(), port=port, started_at=0.0
            )
            harness.registry.put(entry)
            fake = harness.fake()
            assert harness.manager(fake).api_base(ALIAS, harness.model_file) == entry.api_base
            assert fake.pids() == []

    def test_an_entry_with_a_dead_pid_is_ignored_and_removed(self, harness: Harness) -> None:
        """A registry file left by a server that died is dropped on read, and a new server is started instead."""
        stale = RunningServer(alias=ALIAS, model_path=str(harness.model_file), pid=dead_pid(), port=1, started_at=0.0)
        harness.registry.put(stale)
        assert harness.registry.get(ALIAS) is None
        assert harness.registry.all() == []
        harness.registry.put(stale)
        fake = harness.fake()
        api_base = harness.manager(fake).api_base(ALIAS, harness.model_file)
        assert api_base == f"http://127.0.0.1:{fake.ports[0]}/v1"

    def test_stop_server_stops_a_server_another_manager_started(self, harness: Harness) -> None:
        """`autodev models stop` ends a server found in the registry, and removes its entry."""
        fake = harness.fake()
        harness.manager(fake).api_base(ALIAS, harness.model_file)
        entry = harness.registry.get(ALIAS)
        assert entry is not None
        stop_server(entry, ServerRegistry(harness.models))
        assert not pid_alive(entry.pid)
        assert harness.registry.get(ALIAS) is None
        assert harness.registry.all() == []
