"""`autodev service install | uninstall`: run the loop under the user's service manager (systemd or launchd).

The definitions are generated, never templated by hand, so quoting of odd paths is done in one place. Installing
only needs the file in the user's own directory; telling the manager (systemctl, launchctl) is attempted and
reported, never fatal: a container or a headless box without a user bus still gets the file and the exact
commands to run.
"""

from __future__ import annotations

import hashlib
import os
import plistlib
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

from autodev import __version__
from autodev.errors import UsageError
from autodev.fileio import atomic_write
from autodev.loop.daemon import LoopFiles, autodev_program
from autodev.loop.envfile import PROVIDER_KEY_VARIABLES, env_file_path, plan_env_file, write_env_file
from autodev.loop.pidlock import read_holder
from autodev.project import ProjectPaths

ServiceKind = Literal["systemd", "launchd"]
ServiceAction = Literal["install", "uninstall"]

_NAME_PREFIX: Final = "autodev"
_LAUNCHD_DOMAIN: Final = "com.autodev"
_SLUG_LIMIT: Final = 32
_HASH_CHARS: Final = 8
_COMMAND_TIMEOUT_S: Final = 60.0
# A service gets these and the directory of autodev itself, never the caller's PATH (stale, duplicated, and
# full of directories that mean nothing outside the shell it came from).
SYSTEM_PATH: Final = ("/usr/local/bin", "/usr/bin", "/bin")
# `loop run` exits 2 on a usage or configuration error: restarting it would only repeat the error.
_USAGE_EXIT: Final = 2
# Sources the env file (if readable) into the environment, then becomes the loop: launchd has no EnvironmentFile.
_LAUNCHD_SHELL: Final = 'if [ -r "$1" ]; then set -a; . "$1"; set +a; fi; shift; exec "$@"'


class CommandOutcome(BaseModel):
    """One service-manager command: ``returncode`` None means it could not be run at all (not installed)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    argv: list[str]
    returncode: int | None
    output: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0


CommandRunner = Callable[[Sequence[str]], CommandOutcome]


class ServiceReport(BaseModel):
    """What install or uninstall did (or, with ``dry_run``, would do), and what is left for the user to run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: ServiceAction
    kind: ServiceKind
    name: str  # the systemd unit name or the launchd label
    path: Path
    content: str  # the definition (also for uninstall: what is or would be removed; empty if none)
    dry_run: bool
    changed: bool  # the file was written or removed
    planned: list[list[str]]  # the service-manager commands this action runs
    commands: list[CommandOutcome]  # those actually run, in order
    manual_steps: list[str]  # commands the user still has to run (not run, or failed)
    notes: list[str]

    def lines(self) -> list[str]:
        """A readable account for the CLI; a dry run also prints the definition itself."""
        verb = {"install": ("write", "wrote"), "uninstall": ("remove", "removed")}[self.action]
        out: list[str] = []
        if self.dry_run:
            out.append(f"would {verb[0]} {self.path}" if self.content else f"nothing installed at {self.path}")
            if self.action == "install":
                out.extend(["", self.content.rstrip("\n"), ""])
            out.extend(f"would run: {_shell_join(argv)}" for argv in self.planned)
        else:
            out.append(f"{verb[1]} {self.path}" if self.changed else f"nothing installed at {self.path}")
            for command in self.commands:
                result = "ok" if command.ok else _failure(command)
                out.append(f"ran: {_shell_join(command.argv)}: {result}")
            if self.manual_steps:
                out.append("run this yourself to finish:")
                out.extend(f"  {step}" for step in self.manual_steps)
        out.extend(f"note: {note}" for note in self.notes)
        return out


def default_kind() -> ServiceKind:
    return "launchd" if sys.platform == "darwin" else "systemd"


# --------------------------------------------------------------------------------------------- names


def service_slug(root: Path) -> str:
    """``<dir name>-<hash of the full path>``: readable, and distinct for two projects with the same name.

    Only ``[a-z0-9-]``, so the unit name needs none of systemd-escape's ``\\x2d`` escapes and is easy to type.
    """
    resolved = root.resolve()
    readable = re.sub(r"[^a-z0-9]+", "-", resolved.name.lower()).strip("-")[:_SLUG_LIMIT].strip("-")
    digest = hashlib.sha256(os.fsencode(resolved)).hexdigest()[:_HASH_CHARS]
    return f"{readable or 'project'}-{digest}"


def systemd_unit_name(root: Path) -> str:
    return f"{_NAME_PREFIX}-{service_slug(root)}.service"


def launchd_label(root: Path) -> str:
    return f"{_LAUNCHD_DOMAIN}.{service_slug(root)}"


def service_file(root: Path, kind: ServiceKind) -> Path:
    """Where the user's service manager looks for the definition (per user, no root needed)."""
    if kind == "systemd":
        config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        return Path(config_home) / "systemd" / "user" / systemd_unit_name(root)
    return Path.home() / "Library" / "LaunchAgents" / f"{launchd_label(root)}.plist"


# --------------------------------------------------------------------------------------------- definitions


def loop_service_command(root: Path, program: Sequence[str] | None = None) -> list[str]:
    """The absolute command a service manager runs: no PATH lookup, no shell."""
    prefix = list(program) if program is not None else autodev_program()
    if not prefix or not Path(prefix[0]).is_absolute():
        raise UsageError(f"the service needs an absolute program path, got {prefix!r}")
    return [*prefix, "-C", str(root.resolve()), "loop", "run"]


def service_path(command: Sequence[str], path_env: str | None = None) -> str:
    """The PATH of the service: the directory of autodev's program (its virtualenv's bin), then the system's.

    ``path_env`` replaces that choice (still deduplicated). The tests' ``python`` is run by the interpreter
    running autodev, so nothing of the caller's PATH is needed to find it.
    """
    parts = path_env.split(os.pathsep) if path_env is not None else [str(Path(command[0]).parent), *SYSTEM_PATH]
    return os.pathsep.join(dict.fromkeys(part for part in parts if part))


def systemd_unit(
    root: Path,
    program: Sequence[str] | None = None,
    *,
    path_env: str | None = None,
    env_file: Path | None = None,
) -> str:
    """A systemd user unit for the loop of ``root``.

    Type=notify: the loop says READY=1 once its watch is up, so a long first pass never trips the start
    timeout. KillMode=mixed: SIGTERM goes to the loop alone, which rolls back and stops its test run itself
    (a control-group kill would hit the test run mid-write); leftovers get SIGKILL after TimeoutStopSec.
    The provider keys come from the user's env file (``-``: a missing file is no error), never from the unit.
    """
    resolved = root.resolve()
    command = loop_service_command(resolved, program)
    path_value = service_path(command, path_env)
    keys_file = env_file if env_file is not None else env_file_path()
    for value in [*command, path_value]:
        _reject_line_breaks(value)
    lines = [
        f"# Generated by autodev {__version__} for {resolved}; `autodev service uninstall` there removes it.",
        "[Unit]",
        f"Description=autodev loop for {_unit_value(str(resolved))}",
        "# Hosted models need the network; where the user manager has no such target, both lines are no-ops.",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=notify",
        "NotifyAccess=main",
        f"ExecStart={' '.join(_exec_argument(argument) for argument in command)}",
        f"WorkingDirectory={_unit_value(str(resolved))}",
        f"Environment={_quoted_assignment('PYTHONUNBUFFERED', '1')}",
        f"Environment={_quoted_assignment('PATH', path_value)}",
        f"# Provider keys ({', '.join(PROVIDER_KEY_VARIABLES[:3])}, ...): `autodev service install --env-file`",
        f"EnvironmentFile=-{_unit_value(str(keys_file))}",
        "Restart=on-failure",
        "RestartSec=2",
        f"# Exit {_USAGE_EXIT} is a usage or configuration error (see `autodev loop status`): not retried.",
        f"RestartPreventExitStatus={_USAGE_EXIT}",
        "TimeoutStopSec=30",
        "KillMode=mixed",
        "",
        "[Install]",
        "WantedBy=default.target",
        "",
    ]
    return "\n".join(lines)


def launchd_plist(
    root: Path,
    program: Sequence[str] | None = None,
    *,
    path_env: str | None = None,
    env_file: Path | None = None,
) -> bytes:
    """A launchd agent for the loop of ``root``.

    launchd has no EnvironmentFile, so ``/bin/sh`` reads the user's env file (when it is readable) and then
    execs the loop: the keys stay in that one 0600 file instead of being copied into the plist.
    KeepAlive/SuccessfulExit=false restarts a crashed loop but not one stopped cleanly (exit 0).
    """
    resolved = root.resolve()
    command = loop_service_command(resolved, program)
    keys_file = env_file if env_file is not None else env_file_path()
    out_file = str(LoopFiles.for_root(resolved).out_file)
    definition = {
        "Label": launchd_label(resolved),
        "ProgramArguments": ["/bin/sh", "-c", _LAUNCHD_SHELL, "autodev-env", str(keys_file), *command],
        "WorkingDirectory": str(resolved),
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "StandardOutPath": out_file,
        "StandardErrorPath": out_file,
        "EnvironmentVariables": {"PATH": service_path(command, path_env), "PYTHONUNBUFFERED": "1"},
    }
    return plistlib.dumps(definition, fmt=plistlib.FMT_XML, sort_keys=True)


def _reject_line_breaks(value: str) -> None:
    if "\n" in value or "\r" in value:
        raise UsageError(f"cannot put {value!r} in a systemd unit: it contains a line break")


def _unit_value(value: str) -> str:
    """systemd expands %-specifiers in almost every setting; a literal % is %%."""
    _reject_line_breaks(value)
    return value.replace("%", "%%")


def _exec_argument(argument: str) -> str:
    """One ExecStart word: %-specifiers and $VARIABLES kept literal, quoted when it has spaces or quotes."""
    escaped = argument.replace("%", "%%").replace("$", "$$")
    if escaped and not re.search(r"[\s\"'\\;]", escaped):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _quoted_assignment(name: str, value: str) -> str:
    escaped = value.replace("%", "%%").replace("\\", "\\\\").replace('"', '\\"')
    return f'"{name}={escaped}"'


# --------------------------------------------------------------------------------------------- install


def install(
    root: Path,
    kind: ServiceKind | None = None,
    *,
    dry_run: bool = False,
    program: Sequence[str] | None = None,
    runner: CommandRunner | None = None,
    env_file: bool = False,
) -> ServiceReport:
    """Write the definition for ``root``'s loop and ask the service manager to start it now and at login.

    ``dry_run`` changes nothing and returns the definition and the commands it would run. ``runner`` replaces
    the real service-manager calls (tests must never enable a real unit). ``env_file`` also writes the provider
    keys set now into the user's env file (their names are reported, their values never).
    """
    resolved = root.resolve()
    chosen = kind or default_kind()
    path = service_file(resolved, chosen)
    if chosen == "systemd":
        content = systemd_unit(resolved, program)
        planned = [
            ["systemctl", "--user", "daemon-reload"],
            ["systemctl", "--user", "enable", "--now", systemd_unit_name(resolved)],
        ]
    else:
        content = launchd_plist(resolved, program).decode("utf-8")
        planned = [["launchctl", "bootstrap", _launchd_domain(), str(path)]]
    notes = _running_loop_notes(resolved) + _keys_notes(env_file, dry_run)
    if dry_run:
        return _report("install", chosen, resolved, path, content, True, False, planned, [], notes)
    ProjectPaths(root=resolved).logs_dir.mkdir(parents=True, exist_ok=True)  # launchd does not create it
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, content.encode("utf-8"), mode=0o644)
    commands = _run_in_order(planned, runner or run_command)
    return _report("install", chosen, resolved, path, content, False, True, planned, commands, notes)


def _keys_notes(write: bool, dry_run: bool) -> list[str]:
    """Write the env file when asked (not on a dry run); either way, say by name which keys the service gets."""
    plan = plan_env_file()
    notes = [f"{name} not written: {why}" for name, why in plan.refused.items()]
    if not write:
        if plan.names and not plan.path.exists():
            notes.append(
                f"{', '.join(plan.names)} set here, but the service reads keys only from {plan.path}: "
                "add `--env-file` to write them there"
            )
        return notes
    if not plan.names:
        return [*notes, f"no provider key is set ({', '.join(PROVIDER_KEY_VARIABLES)}): {plan.path} not written"]
    if not dry_run:
        write_env_file(plan)
    verb = "would write" if dry_run else "wrote"
    return [*notes, f"{verb} {plan.path} (mode 0600) with {', '.join(plan.names)}"]


def _launchd_domain() -> str:
    return f"gui/{os.getuid()}"


def uninstall(
    root: Path,
    kind: ServiceKind | None = None,
    *,
    dry_run: bool = False,
    runner: CommandRunner | None = None,
) -> ServiceReport:
    """Stop and disable the service, then remove its definition; nothing to do when none is installed."""
    resolved = root.resolve()
    chosen = kind or default_kind()
    path = service_file(resolved, chosen)
    try:
        content = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return _report("uninstall", chosen, resolved, path, "", dry_run, False, [], [], [])
    if chosen == "systemd":
        before = [["systemctl", "--user", "disable", "--now", systemd_unit_name(resolved)]]
        after = [["systemctl", "--user", "daemon-reload"]]
    else:
        before, after = [["launchctl", "bootout", f"{_launchd_domain()}/{launchd_label(resolved)}"]], []
    planned = before + after
    if dry_run:
        return _report("uninstall", chosen, resolved, path, content, True, False, planned, [], [])
    run = runner or run_command
    commands = _run_in_order(before, run)
    path.unlink(missing_ok=True)  # the file goes even if the manager could not be told: that is the uninstall
    if all(command.ok for command in commands):
        commands += _run_in_order(after, run)
    return _report("uninstall", chosen, resolved, path, content, False, True, planned, commands, [])


def run_command(argv: Sequence[str]) -> CommandOutcome:
    """Run a service-manager command; a missing tool or a timeout is an outcome, not an exception."""
    if shutil.which(argv[0]) is None:
        return CommandOutcome(argv=list(argv), returncode=None, output=f"{argv[0]} not found on PATH")
    try:
        done = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=_COMMAND_TIMEOUT_S, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        return CommandOutcome(argv=list(argv), returncode=None, output=f"timed out after {_COMMAND_TIMEOUT_S:g} s")
    except OSError as error:
        return CommandOutcome(argv=list(argv), returncode=None, output=str(error))
    return CommandOutcome(argv=list(argv), returncode=done.returncode, output=(done.stdout + done.stderr).strip())


def _run_in_order(planned: list[list[str]], run: CommandRunner) -> list[CommandOutcome]:
    """Stop at the first failure: enabling a unit the manager never reloaded would only add a second error."""
    outcomes: list[CommandOutcome] = []
    for argv in planned:
        outcome = run(argv)
        outcomes.append(outcome)
        if not outcome.ok:
            break
    return outcomes


def _report(
    action: ServiceAction,
    kind: ServiceKind,
    root: Path,
    path: Path,
    content: str,
    dry_run: bool,
    changed: bool,
    planned: list[list[str]],
    commands: list[CommandOutcome],
    notes: list[str],
) -> ServiceReport:
    succeeded = {tuple(command.argv) for command in commands if command.ok}
    manual = [] if dry_run else [_shell_join(argv) for argv in planned if tuple(argv) not in succeeded]
    name = systemd_unit_name(root) if kind == "systemd" else launchd_label(root)
    return ServiceReport(
        action=action,
        kind=kind,
        name=name,
        path=path,
        content=content,
        dry_run=dry_run,
        changed=changed,
        planned=planned,
        commands=commands,
        manual_steps=manual,
        notes=notes,
    )


def _running_loop_notes(root: Path) -> list[str]:
    pid = read_holder(LoopFiles.for_root(root).pid_file)
    if pid is None:
        return []
    return [
        f"a loop is already running for {root} (pid {pid}); the service cannot take the project's lock until "
        "you stop it with `autodev loop stop`"
    ]


def _failure(command: CommandOutcome) -> str:
    status = "could not run" if command.returncode is None else f"failed (exit {command.returncode})"
    detail = command.output.splitlines()[-1] if command.output else ""
    return f"{status}: {detail}" if detail else status


def _shell_join(argv: Sequence[str]) -> str:
    return shlex.join(argv)
