"""What a dead llama.cpp server means, in words a user can act on.

A server that dies from a signal is a property of the build or the machine, not bad luck: restarting it in a loop
(as retries used to) only repeats the crash. So the exit status is turned into a sentence that names the signal,
what it usually means here, the command that fixes it and where the server's own log is.
"""

from __future__ import annotations

import signal
from pathlib import Path

# The part of the Makefile's build (docs/local-models.md) that decides whether it runs here: for this CPU, without
# AMX. (The Makefile also leaves out llama.cpp's `common` library, which only saves build time and needs a file of
# autodev's checkout.)
REBUILD_COMMAND = (
    "CMAKE_ARGS=-DLLAVA_BUILD=OFF CFLAGS='-mno-amx-tile -mno-amx-int8 -mno-amx-bf16' "
    "CXXFLAGS='-mno-amx-tile -mno-amx-int8 -mno-amx-bf16' "
    "pip install --force-reinstall --no-deps --no-cache-dir llama-cpp-python==0.3.36"
)

_MEANINGS: dict[int, tuple[str, str]] = {
    signal.SIGILL: (
        "this llama.cpp build uses CPU instructions that this machine does not allow (a build made for another "
        "CPU, or AMX code on a machine that advertises AMX but traps it)",
        f"rebuild llama.cpp for this machine: {REBUILD_COMMAND} (or `make clean install` in autodev's checkout); "
        "`autodev models doctor` shows what the build uses",
    ),
    signal.SIGSEGV: (
        "llama.cpp crashed on a memory fault (a corrupt model file or a llama.cpp bug)",
        "run `autodev models check` to verify the model file, then `autodev models doctor`",
    ),
    signal.SIGBUS: (
        "llama.cpp lost access to the model file's memory (the file changed or the disk failed under it)",
        "run `autodev models check` to verify the model file",
    ),
    signal.SIGABRT: (
        "llama.cpp stopped itself on an internal check",
        "its log says which check failed",
    ),
    signal.SIGKILL: (
        "it was killed, most often by the kernel when memory ran out",
        "lower [local] context_size, use a smaller model, or free memory (`dmesg` shows the out-of-memory killer)",
    ),
}


def describe_exit(alias: str, returncode: int | None, log_path: Path, *, when: str) -> str:
    """One message for a server that is gone: ``when`` says at which point ("on its first completion")."""
    if returncode is not None and returncode < 0:
        head = f"the llama.cpp server for {alias} {_died(-returncode, when)}"
    elif returncode is not None:
        head = f"the llama.cpp server for {alias} exited with status {returncode} {when}."
    else:
        head = f"the llama.cpp server for {alias} is gone {when} (it was not started by this process)."
    return f"{head} Its log: {log_path}{_last_lines(log_path)}"


def signal_meaning(number: int) -> str:
    """ "died from SIGILL: what it means here. Fix: what to do." for a process killed by signal ``number``."""
    return _died(number, "")


def _died(number: int, when: str) -> str:
    meaning, fix = _MEANINGS.get(number, ("it was stopped by a signal", "its log may say why"))
    return f"died from {_signal_name(number)}{' ' + when if when else ''}: {meaning}. Fix: {fix}."


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def log_tail(path: Path, chars: int = 600) -> str:
    """The end of a server's log, or "(no log)" when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-chars:].strip()
    except OSError:
        return "(no log)"


def _last_lines(path: Path, lines: int = 5, chars: int = 600) -> str:
    tail = "\n".join(log_tail(path, chars=20_000).splitlines()[-lines:])[-chars:]
    return f"; it ends:\n{tail}" if tail and tail != "(no log)" else ""
