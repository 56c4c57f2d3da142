"""What the loop reloads between passes (configuration, memory, commands) and which changes start a pass."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import write_files

from autodev.config import Config, ContextConfig, MonitoringConfig, SynthesisConfig
from autodev.loop.reload import SourceWatch, project_changes, source_of, triggers_pass
from autodev.memory import find_memory

pytestmark = pytest.mark.req("LOOP-3")


def touch_later(path: Path, text: str) -> None:
    """Write ``text`` and move the mtime forward, so a change within one clock tick still shows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path / "home")}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    write_files(root, {"autodev.toml": "", "AGENTS.md": "rules\n", "web/AGENTS.md": "web\n", "SPEC.md": "# s\n"})
    return root


class TestSourceWatch:
    def test_nothing_changed_since_the_last_look_is_no_source(self, project: Path, env: dict[str, str]) -> None:
        watch = SourceWatch(project, env)
        watch.look(Config(), find_memory(project))
        assert watch.changed(Config(), find_memory(project)) == set()

    def test_the_users_config_file_is_looked_at_outside_the_project(self, project: Path, env: dict[str, str]) -> None:
        watch = SourceWatch(project, env)
        watch.look(Config(), find_memory(project))
        touch_later(Path(env["XDG_CONFIG_HOME"]) / "autodev" / "config.toml", "[llm]\nretries = 1\n")
        assert watch.changed(Config(), find_memory(project)) == {"config"}

    def test_an_edited_nested_memory_file_is_memory(self, project: Path, env: dict[str, str]) -> None:
        memory = find_memory(project)
        watch = SourceWatch(project, env)
        watch.look(Config(), memory)
        touch_later(project / "web" / "AGENTS.md", "web, changed\n")
        assert watch.changed(Config(), memory) == {"memory"}

    def test_a_new_command_file_in_dot_autodev_or_the_users_directory_is_commands(
        self, project: Path, env: dict[str, str]
    ) -> None:
        watch = SourceWatch(project, env)
        watch.look(Config(), find_memory(project))
        touch_later(project / ".autodev" / "commands" / "review.md", "Review $ARGUMENTS\n")
        assert watch.changed(Config(), find_memory(project)) == {"commands"}
        watch.look(Config(), find_memory(project))
        touch_later(Path(env["XDG_CONFIG_HOME"]) / "autodev" / "commands" / "fix.md", "Fix it\n")
        assert watch.changed(Config(), find_memory(project)) == {"commands"}

    def test_paths_the_watcher_reports_name_their_source(self, project: Path, env: dict[str, str]) -> None:
        """A new nested AGENTS.md is not among the files looked at before: the watcher's event names it."""
        watch = SourceWatch(project, env)
        watch.look(Config(), find_memory(project))
        assert watch.changed(Config(), find_memory(project), ["api/AGENTS.md", "SPEC.md"]) == {"memory"}


class TestClassification:
    def test_each_path_belongs_to_its_source(self) -> None:
        config = Config(context=ContextConfig(memory_files=["docs/STYLE.md"]))
        assert source_of("autodev.toml", config) == "config"
        assert source_of(".claude/commands/review.md", config) == "commands"
        assert source_of("CLAUDE.local.md", config) == source_of("docs/STYLE.md", config) == "memory"
        assert source_of("src/CLAUDE.md", config) == "memory"
        assert source_of("SPEC.md", config) is None and source_of("docs/AGENTS.txt", config) is None

    def test_project_changes_leave_out_the_reloaded_sources(self) -> None:
        changes = {"SPEC.md", "AGENTS.md", "autodev.toml", ".claude/commands/x.md", "tests/test_a.py"}
        assert project_changes(changes, Config()) == {"SPEC.md", "tests/test_a.py"}


class TestTriggersPass:
    def test_a_config_change_beyond_the_watch_settings_runs_a_pass(self) -> None:
        after = Config(synthesis=SynthesisConfig(max_attempts=5))
        assert triggers_pass({"config"}, Config(), after, unmet=False)

    def test_a_new_debounce_time_runs_none(self) -> None:
        after = Config(monitoring=MonitoringConfig(debounce_ms=50))
        assert not triggers_pass({"config"}, Config(), after, unmet=True)

    def test_memory_runs_a_pass_only_while_a_requirement_is_unmet(self) -> None:
        assert triggers_pass({"memory"}, Config(), Config(), unmet=True)
        assert not triggers_pass({"memory"}, Config(), Config(), unmet=False)
        off = Config(context=ContextConfig(memory=False))
        assert not triggers_pass({"memory"}, off, off, unmet=True)

    def test_commands_never_run_a_pass(self) -> None:
        assert not triggers_pass({"commands"}, Config(), Config(), unmet=True)
