"""Tell systemd how the loop is doing (sd_notify), without libsystemd: one datagram to ``$NOTIFY_SOCKET``.

With ``Type=notify`` systemd waits for ``READY=1`` before it considers the service started, so the loop sends it
once its watch is up and a long first pass cannot trip the start timeout. Outside systemd there is no socket
and every call is a no-op; a failure to notify is logged, never raised, since it must not stop the loop.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import Final

from autodev.logs import get_logger

NOTIFY_SOCKET_ENV: Final = "NOTIFY_SOCKET"
_STATUS_LIMIT: Final = 500  # systemctl status shows one line; keep the datagram small


def sd_notify(message: str, env: Mapping[str, str] | None = None) -> bool:
    """Send ``message`` (e.g. ``"READY=1"``) to the service manager; True when it was sent.

    ``@name`` addresses an abstract-namespace socket (Linux), as systemd documents.
    """
    address = (os.environ if env is None else env).get(NOTIFY_SOCKET_ENV, "")
    if not address:
        return False
    if not address.startswith(("/", "@")):
        get_logger().debug("sd_notify_unsupported_socket", socket=address)  # e.g. vsock:, not for a user loop
        return False
    target = "\0" + address[1:] if address.startswith("@") else address
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | getattr(socket, "SOCK_CLOEXEC", 0)) as sock:
            sock.sendto(message.encode("utf-8"), target)
    except (OSError, ValueError) as error:  # ValueError: a NUL byte in a path
        get_logger().debug("sd_notify_failed", socket=address, message=message, error=str(error))
        return False
    return True


def ready(env: Mapping[str, str] | None = None) -> bool:
    """The watch is up: systemd may consider the service started."""
    return sd_notify("READY=1", env)


def status(text: str, env: Mapping[str, str] | None = None) -> bool:
    """One line for `systemctl status`; newlines would start new assignments, so they become spaces."""
    line = " ".join(text.split())[:_STATUS_LIMIT]
    return sd_notify(f"STATUS={line}", env)


def stopping(env: Mapping[str, str] | None = None) -> bool:
    """Shutdown has begun (whoever asked for it), so `systemctl status` shows the loop deactivating."""
    return sd_notify("STOPPING=1", env)
