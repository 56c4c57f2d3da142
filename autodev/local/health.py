"""Is a llama.cpp server there, working, and able to answer? Three questions, asked over loopback HTTP.

"Ready" means a one-token completion succeeded, not that the model list answered: a build that traps on its first
matrix multiplication (SIGILL) lists its model happily and dies on the first real request.
"""

from __future__ import annotations

import http.client
import json
import socket
import urllib.error
import urllib.request

PROBE_PROMPT = "Say OK."


def busy(port: int, timeout_s: float = 2.0) -> bool:
    """Something accepts connections on ``port`` but has not answered: llama.cpp while it generates.

    Its HTTP server answers the model list only between requests, so a server shared with another autodev (or
    a tool using `autodev models serve`) looks dead exactly when it is working hardest.
    """
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as connection:
            connection.settimeout(timeout_s)
            connection.sendall(b"GET /v1/models HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            connection.recv(1)  # an answer (or a close) means it is idle, and was not healthy: not ours
            return False
    except TimeoutError:
        return True
    except OSError:
        return False


def healthy(port: int, timeout_s: float = 2.0, alias: str | None = None) -> bool:
    """The server on ``port`` answers its model list, and (given ``alias``) serves that model.

    Checking the alias keeps a recycled port, now held by some other server, from passing for ours.
    """
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=timeout_s) as response:
            if response.status != 200:
                return False
            if alias is None:
                return True
            listing = json.loads(response.read())
    except (OSError, urllib.error.URLError, http.client.HTTPException, ValueError):
        return False
    data = listing.get("data") if isinstance(listing, dict) else None
    return isinstance(data, list) and any(isinstance(item, dict) and item.get("id") == alias for item in data)


def answers(port: int, alias: str, timeout_s: float) -> bool:
    """A one-token chat completion for ``alias`` succeeds: the model is loaded and can compute."""
    body = json.dumps(
        {"model": alias, "messages": [{"role": "user", "content": PROBE_PROMPT}], "max_tokens": 1, "temperature": 0}
    ).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/chat/completions",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 (loopback http only)
            reply = json.loads(response.read())
    except (OSError, urllib.error.URLError, http.client.HTTPException, ValueError):
        return False
    choices = reply.get("choices") if isinstance(reply, dict) else None
    return isinstance(choices, list) and len(choices) > 0
