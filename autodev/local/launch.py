"""The llama.cpp server process as autodev starts it: `python -m autodev.local.launch [options] -- SERVER_ARGS`.

llama-cpp-python's server cannot do three things autodev needs, so this thin wrapper does them in the server's own
process before handing over to `llama_cpp.server`:
- it exits when the process that started it is gone, so a `kill -9` of autodev leaves no gigabyte-sized orphan;
- it switches off ggml's extra weight buffers (AMX and repacked weights) when the build has AMX code and the CPU
  advertises AMX, because that code traps with SIGILL there (llama.cpp PR #26954); `--extra-buffers on|off` forces it;
- it writes the build's system info and the work-around in force at the top of the server's log, so a crash's log
  says what the build uses.

It imports nothing of autodev beyond `autodev.local.cpu` and `autodev.local.measure`, which import only the standard
library at the top (the server's start-up time is the user's time).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from autodev.local.cpu import amx_advertised, amx_compiled, cpu_flags
from autodev.local.measure import llama_system_info

PARENT_POLL_S = 0.5
EXTRA_BUFFERS = ("auto", "on", "off")


def extra_buffers_wanted(setting: str, system_info: str, flags: frozenset[str]) -> tuple[bool, str]:
    """Whether to keep ggml's extra buffer types, and the reason, for the log and `autodev models doctor`."""
    if setting == "on":
        return True, 'extra weight buffers on ([local] extra_buffers = "on")'
    if setting == "off":
        return False, 'extra weight buffers off ([local] extra_buffers = "off")'
    if amx_compiled(system_info) and amx_advertised(flags):
        return False, "extra weight buffers off: this build has AMX code and the CPU advertises AMX (SIGILL risk)"
    return True, "none needed (no AMX code in this build, or no AMX on this CPU)"


def without_extra_buffers(library: Any) -> None:
    """Make every model this process loads skip ggml's extra buffer types (use_extra_bufts = false)."""
    original = library.llama_model_default_params

    def default_params() -> Any:
        params = original()
        params.use_extra_bufts = False
        return params

    library.llama_model_default_params = default_params


def watch_parent(parent: int, poll_s: float = PARENT_POLL_S) -> threading.Thread:
    """Exit this process as soon as ``parent`` is no longer its parent (it died and we were re-parented)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os._exit(0)

    thread = threading.Thread(target=watch, name="parent-watch", daemon=True)
    thread.start()
    return thread


def parse(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(prog="python -m autodev.local.launch")
    parser.add_argument("--parent", type=int, default=None, help="exit when this process is gone")
    parser.add_argument("--extra-buffers", choices=EXTRA_BUFFERS, default="auto")
    parser.add_argument("server_args", nargs=argparse.REMAINDER)
    options = parser.parse_args(list(argv))
    server_args = list(options.server_args)
    if server_args[:1] == ["--"]:
        server_args = server_args[1:]
    return options, server_args


def main(argv: Sequence[str] | None = None) -> None:
    options, server_args = parse(sys.argv[1:] if argv is None else argv)
    if options.parent is not None:
        watch_parent(options.parent)
    import llama_cpp
    import llama_cpp.llama_cpp as library

    system_info = llama_system_info()
    keep, reason = extra_buffers_wanted(options.extra_buffers, system_info, cpu_flags())
    if not keep:
        without_extra_buffers(library)
    print(f"autodev: llama-cpp-python {llama_cpp.__version__}; system info: {system_info}", flush=True)
    print(f"autodev: work-around: {reason}", flush=True)
    from llama_cpp.server.__main__ import main as serve

    sys.argv = ["llama_cpp.server", *server_args]
    serve()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    main()
