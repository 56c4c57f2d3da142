"""``python -m autodev.testing serve``: the scripted server from a shell, for ``make demo`` and the README.

A newcomer can try autodev end to end without any model: point autodev at the printed URL and the server
answers with the contents of the reply files. Uses argparse, not click, and never imports LiteLLM, so it
starts fast and stays independent of the rest of autodev.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from autodev.testing.server import RecordedRequest, ScriptedReply, ScriptedServer


class _Cycle:
    """Replies in order, forever: ``--repeat`` lets a demo run as many attempts as it likes."""

    def __init__(self, replies: Sequence[str]) -> None:
        self._replies = list(replies)
        self._next = 0
        self._lock = threading.Lock()

    def __call__(self, request: RecordedRequest) -> ScriptedReply | str:
        with self._lock:
            reply = self._replies[self._next % len(self._replies)]
            self._next += 1
        return reply


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autodev.testing",
        description="Scripted OpenAI-compatible server on loopback, for trying autodev without a model.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve reply files as chat completions, in order")
    serve.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (default 0: any free port)")
    serve.add_argument(
        "--reply-file",
        action="append",
        required=True,
        type=Path,
        metavar="FILE",
        help="a file whose whole text is one reply; repeat the option for several replies, served in order",
    )
    serve.add_argument("--repeat", action="store_true", help="start again from the first reply when out")
    return parser


def read_replies(parser: argparse.ArgumentParser, paths: Sequence[Path]) -> list[str]:
    """Fail before listening, with the file named, so a typo is not discovered at the first request."""
    replies = []
    for path in paths:
        try:
            replies.append(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            parser.error(f"cannot read reply file {path}: {exc}")
    return replies


def serve_until_signalled(server: ScriptedServer) -> None:
    """Block until SIGINT or SIGTERM; a signal is the normal way to end this command, hence exit code 0."""
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    with server:
        print(f"listening on {server.url}", flush=True)
        while not stop_requested.wait(0.5):
            pass


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, not {args.port}")
    replies = read_replies(parser, args.reply_file)
    if args.repeat:
        server = ScriptedServer(responder=_Cycle(replies), port=args.port)
    else:
        server = ScriptedServer(replies, port=args.port)
    try:
        serve_until_signalled(server)
    except OSError as exc:
        print(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
