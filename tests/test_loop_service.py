"""Service definitions (systemd user unit, launchd agent) and their install/uninstall in a temporary HOME.

No test ever talks to the real service manager: either the runner is a recorder, or PATH holds no systemctl.
"""

from __future__ import annotations

import os
import plistlib
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from autodev.errors import UsageError
from autodev.loop.daemon import autodev_program
from autodev.loop.pidlock import LoopLock
from autodev.loop.service import (
    CommandOutcome,
    install,
    launchd_label,
    launchd_plist,
    service_file,
    systemd_unit,
    systemd_unit_name,
    uninstall,
)

pytestmark = pytest.mark.req("LOOP-2")

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    """Sections of a unit file as (key, value) lists; repeated keys (Environment=) are all kept."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = ""
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("["):
            current = line.strip("[]")
            sections[current] = []
            continue
        key, _, value = line.partition("=")
        sections[current].append((key, value))
    return sections


def values(sections: dict[str, list[tuple[str, str]]], section: str, key: str) -> list[str]:
    return [value for name, value in sections[section] if name == key]


class Recorder:
    """Stands in for systemctl/launchctl: records each command and answers with a chosen exit status."""

    def __init__(self, fail: str | None = None) -> None:
        self.fail = fail
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> CommandOutcome:
        self.calls.append(list(argv))
        failed = self.fail is not None and self.fail in argv
        return CommandOutcome(argv=list(argv), returncode=1 if failed else 0, output="Failed to connect to bus")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME points to an empty temporary directory; XDG_CONFIG_HOME is unset so units go under HOME."""
    directory = tmp_path / "home"
    directory.mkdir()
    monkeypatch.setenv("HOME", str(directory))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    return directory


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "My Project"
    root.mkdir()
    return root


def files_under(directory: Path) -> list[Path]:
    return sorted(path for path in directory.rglob("*") if path.is_file())


class TestSystemdUnit:
    def test_contains_every_required_setting(self, project: Path) -> None:
        """Type=notify, restart policy, stop timeout, working directory, absolute ExecStart and the environment."""
        unit = parse_unit(systemd_unit(project, ["/usr/bin/autodev"], path_env="/usr/bin:/bin"))
        assert values(unit, "Unit", "Description") == [f"autodev loop for {project}"]
        assert values(unit, "Unit", "After")
        assert values(unit, "Service", "Type") == ["notify"]
        assert values(unit, "Service", "NotifyAccess") == ["main"]
        assert values(unit, "Service", "Restart") == ["on-failure"]
        assert values(unit, "Service", "RestartSec") == ["2"]
        assert values(unit, "Service", "TimeoutStopSec") == ["30"]
        assert values(unit, "Service", "WorkingDirectory") == [str(project)]
        assert values(unit, "Service", "Environment") == ['"PYTHONUNBUFFERED=1"', '"PATH=/usr/bin:/bin"']
        assert values(unit, "Service", "ExecStart") == [f'/usr/bin/autodev -C "{project}" loop run']
        assert values(unit, "Install", "WantedBy") == ["default.target"]

    def test_default_program_is_this_autodev_by_absolute_path(self, project: Path) -> None:
        """Without a program, ExecStart runs the autodev of this interpreter, found without PATH."""
        unit = parse_unit(systemd_unit(project))
        exec_start = shlex.split(values(unit, "Service", "ExecStart")[0])
        assert exec_start == [*autodev_program(), "-C", str(project), "loop", "run"]
        assert Path(exec_start[0]).is_absolute()

    def test_specifiers_and_variables_in_paths_stay_literal(self, tmp_path: Path) -> None:
        """A project path with % and $ is escaped (%% and $$) so systemd does not expand it."""
        odd = tmp_path / "100% $HOME"
        odd.mkdir()
        unit = parse_unit(systemd_unit(odd, ["/usr/bin/autodev"], path_env="/bin"))
        escaped = str(odd).replace("%", "%%")
        assert values(unit, "Service", "WorkingDirectory") == [escaped]
        assert values(unit, "Service", "ExecStart") == [f'/usr/bin/autodev -C "{escaped.replace("$", "$$")}" loop run']

    def test_a_line_break_in_the_path_is_refused(self, tmp_path: Path) -> None:
        """A newline would inject settings into the unit; it is rejected with a clear error."""
        odd = tmp_path / "evil\nExecStartPre=rm -rf ~"
        odd.mkdir()
        with pytest.raises(UsageError, match="line break"):
            systemd_unit(odd, ["/usr/bin/autodev"], path_env="/bin")

    def test_a_relative_program_is_refused(self, project: Path) -> None:
        """A service manager runs without the user's PATH: the program must be absolute."""
        with pytest.raises(UsageError, match="absolute program path"):
            systemd_unit(project, ["autodev"])

    @pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
    @pytest.mark.parametrize("directory", ["plain", "My Project", "100% $HOME 'quoted' \"double\" back\\slash"])
    def test_systemd_analyze_verify_accepts_the_unit(self, tmp_path: Path, directory: str) -> None:
        """systemd's own parser finds nothing to complain about, also for paths that need quoting."""
        root = tmp_path / directory
        root.mkdir()
        units = tmp_path / "units"
        units.mkdir()
        unit_file = units / systemd_unit_name(root)
        unit_file.write_text(systemd_unit(root, path_env="/usr/bin:/bin"))
        done = subprocess.run(
            [str(SYSTEMD_ANALYZE), "verify", str(unit_file)], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert unit_file.name not in done.stderr
        assert str(unit_file) not in done.stderr


class TestServiceNames:
    def test_names_are_stable_typeable_and_distinct(self, tmp_path: Path) -> None:
        """Same project, same name (also through a symlink); two projects of the same name differ."""
        first = tmp_path / "a" / "My Project"
        second = tmp_path / "b" / "My Project"
        first.mkdir(parents=True)
        second.mkdir(parents=True)
        link = tmp_path / "link"
        link.symlink_to(first)
        name = systemd_unit_name(first)
        assert re.fullmatch(r"autodev-my-project-[0-9a-f]{8}\.service", name)
        assert systemd_unit_name(link) == name
        assert systemd_unit_name(second) != name
        assert launchd_label(first) == "com.autodev." + name.removeprefix("autodev-").removesuffix(".service")

    def test_a_name_without_letters_still_gives_a_valid_name(self, tmp_path: Path) -> None:
        """A directory named only with punctuation gets a generic readable part."""
        odd = tmp_path / "!!!"
        odd.mkdir()
        assert re.fullmatch(r"autodev-project-[0-9a-f]{8}\.service", systemd_unit_name(odd))


class TestLaunchdPlist:
    def test_round_trips_through_plistlib_with_the_required_keys(self, project: Path, tmp_path: Path) -> None:
        """The agent restarts on failure only, runs at load, and has absolute program, cwd, logs and PATH."""
        keys = tmp_path / "keys env"
        data = plistlib.loads(
            launchd_plist(project, ["/usr/local/bin/autodev"], path_env="/opt/bin:/usr/bin", env_file=keys)
        )
        logs = project / ".autodev" / "logs"
        assert data["Label"] == launchd_label(project)
        assert data["ProgramArguments"][:2] == ["/bin/sh", "-c"]
        assert data["ProgramArguments"][3:] == [
            "autodev-env",
            str(keys),
            "/usr/local/bin/autodev",
            "-C",
            str(project),
            "loop",
            "run",
        ]
        assert data["WorkingDirectory"] == str(project)
        assert data["RunAtLoad"] is True
        assert data["KeepAlive"] == {"SuccessfulExit": False}
        assert Path(data["StandardOutPath"]).parent == logs
        assert Path(data["StandardErrorPath"]).parent == logs
        assert data["EnvironmentVariables"] == {"PATH": "/opt/bin:/usr/bin", "PYTHONUNBUFFERED": "1"}

    def test_the_path_is_autodevs_directory_and_the_systems_not_the_callers(
        self, project: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The PATH at install time is not baked in: only the program's directory and the system's."""
        monkeypatch.setenv("PATH", "/somewhere/bin:/usr/bin:/somewhere/bin")
        data = plistlib.loads(launchd_plist(project, ["/usr/local/bin/autodev"]))
        assert data["EnvironmentVariables"]["PATH"] == "/usr/local/bin:/usr/bin:/bin"

    def test_the_shell_reads_the_env_file_then_becomes_the_loop(self, project: Path, tmp_path: Path) -> None:
        """Run as launchd would: the keys in the env file reach the program; a missing file is no error."""
        keys = tmp_path / "env"
        keys.write_text("OPENAI_API_KEY='sk-test value'\n", encoding="utf-8")
        probe = tmp_path / "probe"
        probe.write_text('#!/bin/sh\nprintf "%s|%s" "$OPENAI_API_KEY" "$*"\n', encoding="utf-8")
        probe.chmod(0o755)
        argv = plistlib.loads(launchd_plist(project, [str(probe)], env_file=keys))["ProgramArguments"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, env={"PATH": "/usr/bin:/bin"})
        assert done.stdout == f"sk-test value|-C {project} loop run"
        keys.unlink()
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, env={"PATH": "/usr/bin:/bin"})
        assert (done.returncode, done.stdout) == (0, f"|-C {project} loop run")


class TestInstall:
    def test_dry_run_changes_nothing(self, home: Path, project: Path) -> None:
        """--dry-run returns the unit, its path and the commands, and writes and runs nothing."""
        recorder = Recorder()
        report = install(project, "systemd", dry_run=True, runner=recorder)
        assert report.dry_run
        assert not report.changed
        assert report.path == home / ".config" / "systemd" / "user" / systemd_unit_name(project)
        assert report.content == systemd_unit(project)
        assert report.planned == [
            ["systemctl", "--user", "daemon-reload"],
            ["systemctl", "--user", "enable", "--now", systemd_unit_name(project)],
        ]
        assert recorder.calls == []
        assert files_under(home) == []
        assert not (project / ".autodev").exists()
        text = "\n".join(report.lines())
        assert f"would write {report.path}" in text
        assert "Type=notify" in text
        assert f"would run: systemctl --user enable --now {systemd_unit_name(project)}" in text

    def test_install_writes_the_unit_and_enables_it(self, home: Path, project: Path) -> None:
        """The unit lands in ~/.config/systemd/user and the manager is reloaded, then the unit enabled and started."""
        recorder = Recorder()
        report = install(project, "systemd", runner=recorder)
        path = home / ".config" / "systemd" / "user" / systemd_unit_name(project)
        assert report.changed
        assert report.path == path
        assert path.read_text() == systemd_unit(project)
        assert recorder.calls == report.planned
        assert report.manual_steps == []
        assert (project / ".autodev" / "logs").is_dir()

    def test_uninstall_disables_and_removes_the_unit(self, home: Path, project: Path) -> None:
        """Uninstall stops and disables the unit, removes the file, then reloads the manager."""
        install(project, "systemd", runner=Recorder())
        recorder = Recorder()
        report = uninstall(project, "systemd", runner=recorder)
        assert report.changed
        assert not report.path.exists()
        assert recorder.calls == [
            ["systemctl", "--user", "disable", "--now", systemd_unit_name(project)],
            ["systemctl", "--user", "daemon-reload"],
        ]
        assert files_under(home) == []

    def test_uninstall_dry_run_keeps_the_file(self, home: Path, project: Path) -> None:
        """A dry uninstall lists what it would do and leaves the unit in place."""
        install(project, "systemd", runner=Recorder())
        recorder = Recorder()
        report = uninstall(project, "systemd", dry_run=True, runner=recorder)
        assert report.path.exists()
        assert recorder.calls == []
        assert f"would remove {report.path}" in report.lines()

    def test_uninstall_of_nothing_does_nothing(self, home: Path, project: Path) -> None:
        """With no unit installed, uninstall runs no command and says nothing was installed."""
        recorder = Recorder()
        report = uninstall(project, "systemd", runner=recorder)
        assert not report.changed
        assert recorder.calls == []
        assert report.lines() == [f"nothing installed at {report.path}"]

    def test_without_systemctl_the_file_is_written_and_the_steps_are_given(
        self, home: Path, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """No systemctl on PATH (a container): the install still succeeds and tells the user what to run."""
        empty = tmp_path / "empty-bin"
        empty.mkdir()
        monkeypatch.setenv("PATH", str(empty))
        report = install(project, "systemd")
        assert report.path.is_file()
        assert [command.returncode for command in report.commands] == [None]
        assert report.manual_steps == [
            "systemctl --user daemon-reload",
            f"systemctl --user enable --now {systemd_unit_name(project)}",
        ]
        text = "\n".join(report.lines())
        assert "could not run: systemctl not found on PATH" in text
        assert "run this yourself to finish:" in text

    def test_a_failing_manager_stops_the_sequence(self, home: Path, project: Path) -> None:
        """When daemon-reload fails, enable is not attempted; both are left as manual steps."""
        recorder = Recorder(fail="daemon-reload")
        report = install(project, "systemd", runner=recorder)
        assert recorder.calls == [["systemctl", "--user", "daemon-reload"]]
        assert report.path.is_file()
        assert len(report.manual_steps) == 2
        assert "failed (exit 1): Failed to connect to bus" in "\n".join(report.lines())

    def test_launchd_agent_goes_to_launch_agents(self, home: Path, project: Path) -> None:
        """The plist lands in ~/Library/LaunchAgents, is bootstrapped into gui/UID, and booted out by uninstall."""
        recorder = Recorder()
        report = install(project, "launchd", runner=recorder)
        path = home / "Library" / "LaunchAgents" / f"{launchd_label(project)}.plist"
        assert report.path == path
        assert plistlib.loads(path.read_bytes())["Label"] == launchd_label(project)
        assert recorder.calls == [["launchctl", "bootstrap", f"gui/{os.getuid()}", str(path)]]
        removal = Recorder()
        uninstall(project, "launchd", runner=removal)
        assert removal.calls == [["launchctl", "bootout", f"gui/{os.getuid()}/{launchd_label(project)}"]]
        assert not path.exists()

    def test_xdg_config_home_is_honoured(
        self, home: Path, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """systemd reads user units from $XDG_CONFIG_HOME/systemd/user when it is set."""
        config = tmp_path / "xdg"
        monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
        assert service_file(project, "systemd") == config / "systemd" / "user" / systemd_unit_name(project)

    def test_a_running_background_loop_is_noted(self, home: Path, project: Path) -> None:
        """The service would find the project locked: install says so, naming the running loop's pid."""
        with LoopLock(project / ".autodev" / "loop.pid", root=project):
            report = install(project, "systemd", dry_run=True, runner=Recorder())
        assert len(report.notes) == 1
        assert f"(pid {os.getpid()})" in report.notes[0]
        assert "autodev loop stop" in report.notes[0]

    def test_default_kind_follows_the_platform(self, home: Path, project: Path) -> None:
        """launchd on macOS, systemd elsewhere."""
        report = install(project, dry_run=True, runner=Recorder())
        assert report.kind == ("launchd" if sys.platform == "darwin" else "systemd")
