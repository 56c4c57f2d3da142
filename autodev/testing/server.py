"""A scripted OpenAI-compatible HTTP server on loopback, so tests and demos use the real LiteLLM HTTP path.

Mocking LiteLLM would test our idea of LiteLLM; this server instead answers real HTTP requests with replies a
test scripted in advance (like pydantic-ai's TestModel/FunctionModel), so request encoding, response parsing,
error mapping, streaming and timeouts all go through the same code a real provider would. It binds to loopback
only, needs no network, and imports nothing but the standard library and pydantic.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import re
import socket
import socketserver
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "RecordedRequest",
    "Responder",
    "ScriptedReply",
    "ScriptedServer",
    "chat_completion_body",
    "error_body",
    "stream_events",
]

CHAT_PATHS = frozenset({"/v1/chat/completions", "/chat/completions"})
MODELS_PATHS = frozenset({"/v1/models", "/models"})
HEALTH_PATHS = frozenset({"/health", "/v1/health"})
LISTED_MODEL = "scripted"

# A body larger than this is a bug in the caller, not a prompt; refusing it keeps a runaway test cheap.
MAX_BODY_BYTES = 64 * 1024 * 1024
# stop() promises to return within about this long even with handlers blocked on slow or silent clients.
STOP_JOIN_S = 1.5
# How long a handler waits on a client that connected but sends nothing (it would otherwise pin a thread).
CLIENT_IDLE_TIMEOUT_S = 30.0

_ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    408: "timeout_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


class ScriptedReply(BaseModel):
    """One scripted answer to one chat completion request: everything a test may want to vary in a reply."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    content: str = ""
    status: int = Field(default=200, ge=200, le=599)
    error_message: str | None = None
    delay_s: float = Field(default=0.0, ge=0.0)
    # Seconds between two streamed events, so that a test can see a client print an answer before it is complete.
    chunk_delay_s: float = Field(default=0.0, ge=0.0)
    prompt_tokens: int | None = Field(default=None, ge=0)
    completion_tokens: int | None = Field(default=None, ge=0)
    finish_reason: str = "stop"
    raw_body: bytes | None = None
    # Extra response headers, e.g. {"Retry-After": "1"} to test a client's back-off on 429.
    headers: dict[str, str] = Field(default_factory=dict)


class RecordedRequest(BaseModel):
    """A chat completion request as received, so tests can assert on what the client really sent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased: HTTP header names are case-insensitive
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages = self.body.get("messages")
        if not isinstance(messages, list):
            return []
        return [message for message in messages if isinstance(message, dict)]

    @property
    def model(self) -> str:
        model = self.body.get("model")
        return model if isinstance(model, str) else ""

    @property
    def prompt_text(self) -> str:
        """All message contents joined by newlines: one string to search with ``in`` in assertions."""
        return "\n".join(message_text(message) for message in self.messages)


Responder = Callable[[RecordedRequest], "ScriptedReply | str"]


def as_reply(reply: ScriptedReply | str) -> ScriptedReply:
    """Plain strings are the common case in tests; they mean a successful reply with that content."""
    return reply if isinstance(reply, ScriptedReply) else ScriptedReply(content=reply)


def message_text(message: dict[str, Any]) -> str:
    """The text of one message, also when its content is a list of typed parts (the multimodal shape)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def estimate_tokens(text: str) -> int:
    """About four characters a token: close enough for cost and budget code to see plausible numbers."""
    return (len(text) + 3) // 4


def error_body(status: int, message: str) -> dict[str, Any]:
    """The OpenAI error shape, which is what LiteLLM parses to pick its exception class and message."""
    error_type = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": error_type, "param": None, "code": str(status)}}


def _usage(reply: ScriptedReply, request: RecordedRequest) -> dict[str, int]:
    prompt_tokens = reply.prompt_tokens
    if prompt_tokens is None:
        prompt_tokens = estimate_tokens(request.prompt_text)
    completion_tokens = reply.completion_tokens
    if completion_tokens is None:
        completion_tokens = estimate_tokens(reply.content)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _completion_id(number: int) -> str:
    return f"chatcmpl-scripted-{number}"


def chat_completion_body(reply: ScriptedReply, request: RecordedRequest, number: int) -> dict[str, Any]:
    """A complete ``chat.completion`` object for a non-streaming request."""
    return {
        "id": _completion_id(number),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content},
                "finish_reason": reply.finish_reason,
                "logprobs": None,
            }
        ],
        "usage": _usage(reply, request),
    }


def _content_pieces(content: str) -> list[str]:
    """Split on word boundaries so a streaming client really has to reassemble several deltas."""
    return re.findall(r"\s*\S+\s*|\s+", content)


def stream_events(reply: ScriptedReply, request: RecordedRequest, number: int) -> Iterator[bytes]:
    """Server-sent events in OpenAI's streaming shape: role, content deltas, finish, usage, then [DONE]."""
    created = int(time.time())

    def chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        body = {
            "id": _completion_id(number),
            "object": "chat.completion.chunk",
            "created": created,
            "model": request.model,
            "choices": choices,
            **extra,
        }
        return f"data: {json.dumps(body)}\n\n".encode()

    def delta(content: dict[str, str], finish_reason: str | None = None) -> list[dict[str, Any]]:
        return [{"index": 0, "delta": content, "finish_reason": finish_reason, "logprobs": None}]

    yield chunk(delta({"role": "assistant", "content": ""}))
    for piece in _content_pieces(reply.content):
        yield chunk(delta({"content": piece}))
    yield chunk(delta({}, reply.finish_reason))
    yield chunk([], usage=_usage(reply, request))
    yield b"data: [DONE]\n\n"


def _require_loopback(host: str) -> socket.AddressFamily:
    """The server answers anyone who connects with whatever was scripted: never expose it beyond this host."""
    if host == "localhost":
        return socket.AF_INET
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"scripted server binds to loopback only; {host!r} is not a loopback address") from None
    if not address.is_loopback:
        raise ValueError(f"scripted server binds to loopback only; {host!r} is not a loopback address")
    return socket.AF_INET6 if address.version == 6 else socket.AF_INET


class _ScriptedHTTPServer(ThreadingHTTPServer):
    """Tracks its connection threads itself so stop() can unblock and join them instead of leaking them."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], family: socket.AddressFamily, owner: ScriptedServer) -> None:
        self.address_family = family
        self.owner = owner
        self.stopping = threading.Event()
        self._connections: dict[threading.Thread, socket.socket] = {}
        self._connections_lock = threading.Lock()
        super().__init__(address, _ScriptedRequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup that can stall without network.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name="scripted-server-connection",
            daemon=True,
        )
        with self._connections_lock:
            self._connections[thread] = request
        thread.start()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            # A client that hung up mid-reply (its timeout fired during a delay) is not worth a traceback.
            with contextlib.suppress(Exception):
                self.finish_request(request, client_address)
        finally:
            self.shutdown_request(request)
            with self._connections_lock:
                self._connections.pop(threading.current_thread(), None)

    def close_connections(self, timeout_s: float) -> None:
        """Wake handlers blocked on a delay or on a silent client, then wait (bounded) for their threads."""
        self.stopping.set()
        with self._connections_lock:
            connections = list(self._connections.items())
        for _thread, sock in connections:
            with contextlib.suppress(OSError):  # already closed by its handler: nothing left to wake
                sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout_s
        for thread, _sock in connections:
            thread.join(max(0.0, deadline - time.monotonic()))


class _ScriptedRequestHandler(BaseHTTPRequestHandler):
    """Routes requests; HTTP/1.0 so every connection closes after one reply and no client pins a thread.

    Eleven methods, one job (answer one request): BaseHTTPRequestHandler wants the routes as ``do_*`` methods,
    and the ``_send_*`` helpers write to this request's ``wfile``: a second class would only pass it back and forth.
    """

    server: _ScriptedHTTPServer
    protocol_version = "HTTP/1.0"
    server_version = "autodev-scripted-server/1"
    timeout = CLIENT_IDLE_TIMEOUT_S

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests capture stderr, and access logs there would bury the output that matters."""

    def do_GET(self) -> None:
        path = self._route_path()
        if path in HEALTH_PATHS:
            self._send_json(200, {"status": "ok"})
        elif path in MODELS_PATHS:
            model = {"id": LISTED_MODEL, "object": "model", "created": 0, "owned_by": "autodev"}
            self._send_json(200, {"object": "list", "data": [model]})
        elif path in CHAT_PATHS:
            self._send_error(405, f"scripted server: use POST for {path}")
        else:
            self._send_error(404, f"scripted server: no route for GET {path}")

    def do_POST(self) -> None:
        path = self._route_path()
        if path not in CHAT_PATHS:
            self._send_error(404, f"scripted server: no route for POST {path}")
            return
        body = self._read_json_object()
        if body is None:
            return
        request = RecordedRequest(method="POST", path=path, headers=self._header_dict(), body=body)
        number, reply = self.server.owner._take_reply(request)
        if reply.delay_s > 0 and self.server.stopping.wait(reply.delay_s):
            return  # stopping: drop the connection unanswered, as a dying server would
        self._send_reply(reply, request, number)

    def _route_path(self) -> str:
        path = self.path.split("?", 1)[0]
        return path.rstrip("/") or "/"

    def _header_dict(self) -> dict[str, str]:
        return {name.lower(): value for name, value in self.headers.items()}

    def _read_json_object(self) -> dict[str, Any] | None:
        """The parsed body, or None after answering 400/413 for a body that is not one JSON object."""
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            self._send_error(400, "scripted server: Content-Length is not a number")
            return None
        if length > MAX_BODY_BYTES:
            self._send_error(413, f"scripted server: request body of {length} bytes is too large")
            return None
        raw = self.rfile.read(max(0, length))
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            self._send_error(400, f"scripted server: request body is not valid JSON: {exc}")
            return None
        if not isinstance(body, dict):
            self._send_error(400, "scripted server: request body must be a JSON object")
            return None
        return body

    def _send_reply(self, reply: ScriptedReply, request: RecordedRequest, number: int) -> None:
        if reply.raw_body is not None:
            self._send_bytes(reply.status, reply.raw_body, "application/json", reply.headers)
        elif reply.status != 200:
            message = reply.error_message or f"scripted server: scripted HTTP {reply.status}"
            self._send_error(reply.status, message, reply.headers)
        elif request.body.get("stream") is True:
            self._send_stream(reply, request, number)
        else:
            self._send_json(200, chat_completion_body(reply, request, number), reply.headers)

    def _send_stream(self, reply: ScriptedReply, request: RecordedRequest, number: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        for index, event in enumerate(stream_events(reply, request, number)):
            if index and reply.chunk_delay_s:
                time.sleep(reply.chunk_delay_s)
            self.wfile.write(event)
            self.wfile.flush()

    def _send_error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self._send_json(status, error_body(status, message), headers)

    def _send_json(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._send_bytes(status, json.dumps(body).encode(), "application/json", headers)

    def _send_bytes(
        self, status: int, payload: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status, _reason(status))
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Scripted Status"


class ScriptedServer:
    """Answers chat completions with scripted replies, in order, then with ``responder`` if one was given.

    Once both are used up every further request gets HTTP 500 naming its number, so a test that makes more
    model calls than it scripted fails loudly instead of hanging. ``responder`` may be called from several
    server threads at once when requests overlap.
    """

    def __init__(
        self,
        replies: Iterable[ScriptedReply | str] = (),
        *,
        responder: Responder | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._family = _require_loopback(host)
        self._host = host
        self._port = port
        self._responder = responder
        self._lock = threading.Lock()
        self._replies: deque[ScriptedReply] = deque(as_reply(reply) for reply in replies)
        self._requests: list[RecordedRequest] = []
        self._httpd: _ScriptedHTTPServer | None = None
        self._serve_thread: threading.Thread | None = None

    def start(self) -> ScriptedServer:
        """Bind and serve in a daemon thread; the socket listens before this returns, so url works at once."""
        if self._httpd is not None:
            raise RuntimeError("scripted server is already running")
        httpd = _ScriptedHTTPServer((self._host, self._port), self._family, self)
        thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="scripted-server", daemon=True
        )
        self._httpd, self._serve_thread = httpd, thread
        thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut in-flight requests (delayed ones included) and join every thread; idempotent."""
        httpd, thread = self._httpd, self._serve_thread
        if httpd is None or thread is None:
            return
        self._httpd = self._serve_thread = None
        httpd.stopping.set()
        httpd.shutdown()
        httpd.server_close()
        httpd.close_connections(STOP_JOIN_S)
        thread.join(STOP_JOIN_S)

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL including ``/v1``: what LiteLLM's ``api_base`` takes for ``openai/<name>`` models."""
        if self._httpd is None:
            raise RuntimeError("scripted server is not running; call start() or use it in a with block")
        port = self._httpd.server_address[1]
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{port}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the chat completion requests received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def remaining(self) -> int:
        """Scripted replies not yet used (a responder, if any, is not counted)."""
        with self._lock:
            return len(self._replies)

    def push(self, *replies: ScriptedReply | str) -> None:
        """Add replies to the end of the script, e.g. after seeing what the first request looked like."""
        converted = [as_reply(reply) for reply in replies]
        with self._lock:
            self._replies.extend(converted)

    def _take_reply(self, request: RecordedRequest) -> tuple[int, ScriptedReply]:
        """Record the request and choose its reply; the number is 1-based and counts chat requests."""
        with self._lock:
            self._requests.append(request)
            number = len(self._requests)
            if self._replies:
                return number, self._replies.popleft()
            responder = self._responder
        if responder is None:
            return number, ScriptedReply(
                status=500, error_message=f"scripted server: no reply left for request #{number}"
            )
        try:
            return number, as_reply(responder(request))
        except Exception as exc:
            message = f"scripted server: responder raised {type(exc).__name__}: {exc} (request #{number})"
            return number, ScriptedReply(status=500, error_message=message)
