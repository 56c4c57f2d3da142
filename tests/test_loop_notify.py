"""sd_notify over real AF_UNIX datagram sockets, as systemd's NOTIFY_SOCKET receives it."""

from __future__ import annotations

import secrets
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from autodev.loop import notify
from autodev.loop.notify import sd_notify

pytestmark = pytest.mark.req("LOOP-2")


@pytest.fixture
def receiver() -> Iterator[tuple[socket.socket, str]]:
    """A bound datagram socket in a short directory (socket paths are limited to ~100 bytes)."""
    with tempfile.TemporaryDirectory(prefix="sdn", dir="/tmp") as directory:
        path = str(Path(directory) / "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(5)
        try:
            yield sock, path
        finally:
            sock.close()


class TestSdNotify:
    def test_without_notify_socket_it_is_a_no_op(self) -> None:
        """Outside systemd nothing is sent and nothing fails."""
        assert sd_notify("READY=1", env={}) is False
        assert sd_notify("READY=1", env={"NOTIFY_SOCKET": ""}) is False

    def test_sends_the_message_to_a_path_socket(self, receiver: tuple[socket.socket, str]) -> None:
        """The datagram arrives byte for byte at the socket named in NOTIFY_SOCKET."""
        sock, path = receiver
        assert sd_notify("READY=1", env={"NOTIFY_SOCKET": path}) is True
        assert sock.recv(4096) == b"READY=1"

    def test_reads_the_process_environment_by_default(
        self, receiver: tuple[socket.socket, str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """With no env given, $NOTIFY_SOCKET of the process is used (what systemd sets)."""
        sock, path = receiver
        monkeypatch.setenv("NOTIFY_SOCKET", path)
        assert sd_notify("STATUS=hello") is True
        assert sock.recv(4096) == b"STATUS=hello"

    @pytest.mark.skipif(not sys.platform.startswith("linux"), reason="abstract sockets are Linux-only")
    def test_sends_to_an_abstract_socket_named_with_at(self) -> None:
        """'@name' means the abstract namespace (a leading NUL byte), as systemd documents."""
        name = f"autodev-test-{secrets.token_hex(8)}"
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind("\0" + name)
            sock.settimeout(5)
            assert sd_notify("READY=1", env={"NOTIFY_SOCKET": "@" + name}) is True
            assert sock.recv(4096) == b"READY=1"

    def test_a_missing_socket_is_reported_not_raised(self, tmp_path: Path) -> None:
        """A socket that is gone (manager restarted) returns False instead of stopping the loop."""
        assert sd_notify("READY=1", env={"NOTIFY_SOCKET": str(tmp_path / "gone")}) is False

    def test_a_socket_address_we_do_not_speak_is_skipped(self) -> None:
        """vsock and other non-unix addresses are not for a user loop: no exception, False."""
        assert sd_notify("READY=1", env={"NOTIFY_SOCKET": "vsock:2:1234"}) is False
        assert sd_notify("READY=1", env={"NOTIFY_SOCKET": "/tmp/with\0nul"}) is False


class TestHelpers:
    def test_ready_status_and_stopping_send_their_assignments(self, receiver: tuple[socket.socket, str]) -> None:
        """Each helper sends the exact assignment systemd expects, in order."""
        sock, path = receiver
        env = {"NOTIFY_SOCKET": path}
        assert notify.ready(env)
        assert notify.status("pass 3: satisfied", env)
        assert notify.stopping(env)
        assert [sock.recv(4096) for _ in range(3)] == [b"READY=1", b"STATUS=pass 3: satisfied", b"STOPPING=1"]

    def test_status_is_one_line(self, receiver: tuple[socket.socket, str]) -> None:
        """A newline would start a new assignment; status text is folded into one line."""
        sock, path = receiver
        assert notify.status("failed:\n  tests red\n", {"NOTIFY_SOCKET": path})
        assert sock.recv(4096) == b"STATUS=failed: tests red"
