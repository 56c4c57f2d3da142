"""Run one command confined (Linux namespaces); started as ``python -I -S confine_exec.py SPEC -- ARGV...``.

A script of the standard library alone, run by path in an isolated interpreter: it must not import autodev (the
test command runs with the project's interpreter and paths, not autodev's). It makes new mount, pid and (unless
the spec allows the network) network namespaces, and a user namespace when it is not root; maps the caller's own
uid and gid to themselves; makes every mount private, so that nothing propagates back; binds the writable places
onto themselves, then the read-only trees (the user's project) onto themselves read-only, so the writable
places, bound first, stay writable inside them; brings up the loopback interface; forks the command as pid 1
of the new pid namespace, with a fresh ``/proc`` (another process's ``/proc/PID/root`` would lead back to the
writable tree) and without ``CAP_SYS_ADMIN`` in its bounding set (a root test could otherwise unmount the
read-only bind). This process stays as the group leader the runner waits on and exits as the command did.

A setup step that fails exits with :data:`SETUP_FAILED` and one line starting with ``autodev-confine:`` on the
spec's ``report_fd`` (a pipe of the runner's, closed on exec, so the code under test cannot write a forged one) or
on stderr;
autodev's probe (``verify/confine.py``) runs this script once on ``python -c pass`` to learn whether it works here.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import signal
import socket
import struct
import sys

SETUP_FAILED = 97
PR_SET_PDEATHSIG = 1
MARK = "autodev-confine:"

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
# statvfs's f_flag bits -> the mount flags a remount must keep (a user namespace may not clear a locked one)
KEPT_FLAGS = ((2, MS_NOSUID), (4, MS_NODEV), (8, MS_NOEXEC), (16, 16), (64, 64), (1024, 1024), (2048, 2048),
              (4096, 1 << 21))  # fmt: skip
PR_CAPBSET_DROP = 24
CAP_SYS_ADMIN = 21
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1

_libc = ctypes.CDLL(None, use_errno=True)


class SetupError(Exception):
    """One step of the setup failed; the message names it."""


def _check(result: int, step: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise SetupError(f"{step}: {os.strerror(code)} ({errno.errorcode.get(code, code)})")


def _encoded(text: str | None) -> bytes | None:
    return text.encode() if text is not None else None


def _mount(source: str | None, target: str, fstype: str | None, flags: int, step: str) -> None:
    _check(_libc.mount(_encoded(source), target.encode(), _encoded(fstype), ctypes.c_ulong(flags), None), step)


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="ascii") as handle:  # noqa: PTH123 - the standard library alone, on purpose
        handle.write(text)


def _unshare(network: bool) -> None:
    """New namespaces; as root without a user namespace first (its files keep their owners), else with one."""
    flags = CLONE_NEWNS | CLONE_NEWPID | (0 if network else CLONE_NEWNET)
    uid, gid = os.getuid(), os.getgid()
    if uid == 0 and _libc.unshare(flags) == 0:
        return
    _check(_libc.unshare(flags | CLONE_NEWUSER), "unshare")
    try:
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
        _write("/proc/self/gid_map", f"{gid} {gid} 1")
    except OSError as exc:
        raise SetupError(f"uid map: {exc.strerror}") from exc


def _kept_flags(path: str) -> int:
    found = os.statvfs(path).f_flag
    return sum(mount_flag for stat_flag, mount_flag in KEPT_FLAGS if found & stat_flag)


def _mounts(writable: list[str], readonly: list[str]) -> None:
    _mount(None, "/", None, MS_REC | MS_PRIVATE, "make mounts private")
    for path in writable:
        _mount(path, path, None, MS_BIND | MS_REC, f"bind {path}")
    for path in readonly:
        _mount(path, path, None, MS_BIND | MS_REC, f"bind {path}")
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY | _kept_flags(path)
        _mount(None, path, None, flags, f"read-only {path}")


def _loopback_up() -> None:
    """A new network namespace's ``lo`` is down: tests that serve on localhost need it up."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            request = struct.pack("16sh", b"lo", 0)
            flags = struct.unpack("16sh", fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, request))[1]
            fcntl.ioctl(sock.fileno(), SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | IFF_UP))
    except OSError as exc:
        raise SetupError(f"loopback up: {exc.strerror}") from exc


def _child(spec: dict[str, object], argv: list[str]) -> None:
    """Pid 1 of the new namespace: its own /proc, no CAP_SYS_ADMIN to come, then the command; killed with the
    launcher (and so, being pid 1, with every process of the namespace)."""
    try:
        _die_with_parent(os.getppid(), "the launcher")
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mount /proc")
        _check(_libc.prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0), "drop CAP_SYS_ADMIN")
        os.chdir(str(spec["cwd"]))  # through the new mounts: the old working directory is the writable tree
    except (SetupError, OSError) as exc:
        _fail(str(exc))
    try:
        os.execvpe(argv[0], argv, os.environ)  # noqa: S606 - the test command, as the runner would start it
    except OSError as exc:
        _say(f"exec: {exc.strerror}")
        os._exit(127)


def _die_with_parent(parent: int, who: str) -> None:
    """SIGKILL when the parent dies: code under test that kills autodev (or a kill -9 of it) must not leave the
    run going; a parent already gone by now is the same case."""
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "set the parent-death signal")
    if os.getppid() != parent:
        _fail(f"{who} (pid {parent}) ended before the run started")


def _wait(pid: int) -> int:
    """Wait for pid 1 of the namespace and exit as it did (a signal: the same signal)."""
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except ChildProcessError:
            return 1
        except InterruptedError:  # pragma: no cover - PEP 475 retries
            continue
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
    return os.waitstatus_to_exitcode(status) if not os.WIFSIGNALED(status) else 128 + os.WTERMSIG(status)


_report_fd: int | None = None
"""Where a failure is told (the runner's pipe, closed on exec: the code under test cannot forge it); else stderr."""


def _say(message: str) -> None:
    line = f"{MARK} {message}\n".encode("utf-8", errors="replace")
    with contextlib.suppress(OSError):
        os.write(_report_fd if _report_fd is not None else 2, line)


def _fail(message: str) -> None:
    _say(message)
    os._exit(SETUP_FAILED)


def main(args: list[str]) -> int:
    if len(args) < 3 or args[1] != "--":
        _fail("usage: confine_exec.py SPEC -- ARGV...")
    spec = json.loads(args[0])
    argv = args[2:]
    global _report_fd
    if isinstance(spec.get("report_fd"), int):
        _report_fd = spec["report_fd"]
        os.set_inheritable(_report_fd, False)  # closed when the command is executed
    try:
        _die_with_parent(int(spec.get("parent", os.getppid())), "autodev")
        _unshare(bool(spec.get("network")))
        _mounts(list(spec.get("writable", [])), list(spec.get("readonly", [])))
        if not spec.get("network"):
            _loopback_up()
    except (SetupError, OSError) as exc:
        _fail(str(exc))
    pid = os.fork()
    if pid == 0:
        _child(spec, argv)
    return _wait(pid)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
