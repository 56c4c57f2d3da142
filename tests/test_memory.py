"""Project memory: which files are read, in what order, for which files, and how imports are followed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import autodev, write_files

from autodev.memory import MAX_IMPORT_DEPTH, find_memory, imports_in

pytestmark = pytest.mark.req("MEM-1")


class TestFindMemory:
    def test_root_files_come_in_a_fixed_order_then_nested_ones_by_depth(self, tmp_path: Path) -> None:
        write_files(tmp_path, {
            "CONVENTIONS.md": "conventions\n", "AGENTS.md": "agents\n", "CLAUDE.local.md": "mine\n",
            ".claude/CLAUDE.md": "claude dir\n", "src/api/AGENTS.md": "api rules\n", "src/AGENTS.md": "src rules\n",
        })  # fmt: skip
        found = find_memory(tmp_path)
        assert [f.path for f in found.files] == [
            "AGENTS.md", ".claude/CLAUDE.md", "CLAUDE.local.md", "CONVENTIONS.md", "src/AGENTS.md", "src/api/AGENTS.md"
        ]  # fmt: skip
        assert [f.scope for f in found.files][-2:] == ["src", "src/api"]

    def test_nested_files_apply_only_under_their_directory(self, tmp_path: Path) -> None:
        write_files(tmp_path, {"AGENTS.md": "all\n", "web/AGENTS.md": "web\n", "cli/AGENTS.md": "cli\n"})
        memory = find_memory(tmp_path)
        assert [f.text for f in memory.for_file("web/app.js")] == ["all\n", "web\n"]
        assert [f.text for f in memory.for_file("README.md")] == ["all\n"]
        assert [f.text for f in memory.for_file(None)] == ["all\n"]

    def test_tool_directories_and_hidden_ones_are_not_searched(self, tmp_path: Path) -> None:
        write_files(tmp_path, {"node_modules/pkg/AGENTS.md": "x\n", ".venv/AGENTS.md": "x\n", ".git/AGENTS.md": "x"})
        assert find_memory(tmp_path).files == ()

    def test_the_same_text_twice_is_kept_once(self, tmp_path: Path) -> None:
        """CLAUDE.md is often a link to AGENTS.md: its rules go into a prompt once."""
        write_files(tmp_path, {"AGENTS.md": "use tabs\n"})
        (tmp_path / "CLAUDE.md").symlink_to("AGENTS.md")
        write_files(tmp_path, {"CONVENTIONS.md": "use tabs\n"})
        assert [f.path for f in find_memory(tmp_path).files] == ["AGENTS.md"]

    def test_extra_files_named_in_the_configuration_follow_the_root_ones(self, tmp_path: Path) -> None:
        write_files(tmp_path, {"AGENTS.md": "a\n", "docs/STYLE.md": "style\n"})
        assert [f.path for f in find_memory(tmp_path, ["docs/STYLE.md"]).files] == ["AGENTS.md", "docs/STYLE.md"]


class TestImports:
    def test_imports_are_followed_relative_to_the_importing_file(self, tmp_path: Path) -> None:
        write_files(tmp_path, {"CLAUDE.md": "See @docs/rules.md\n", "docs/rules.md": "Read @more.md too\n",
                               "docs/more.md": "deep rule\n"})  # fmt: skip
        found = find_memory(tmp_path)
        assert [(f.path, f.imported_by) for f in found.files] == [
            ("CLAUDE.md", None), ("docs/rules.md", "CLAUDE.md"), ("docs/more.md", "docs/rules.md")
        ]  # fmt: skip
        assert found.problems == ()

    def test_a_cycle_is_reported_and_not_followed(self, tmp_path: Path) -> None:
        write_files(tmp_path, {"CLAUDE.md": "start @a.md\n", "a.md": "then @b.md\n", "b.md": "back to @a.md\n"})
        found = find_memory(tmp_path)
        assert [f.path for f in found.files] == ["CLAUDE.md", "a.md", "b.md"]
        assert any("a cycle" in problem for problem in found.problems)

    def test_an_import_outside_the_project_is_refused(self, tmp_path: Path) -> None:
        (tmp_path / "secret.md").write_text("private\n")
        project = tmp_path / "project"
        write_files(project, {"CLAUDE.md": "@../secret.md and @/etc/passwd\n"})
        found = find_memory(project)
        assert [f.path for f in found.files] == ["CLAUDE.md"]
        assert len([p for p in found.problems if "outside the project" in p]) == 2

    def test_imports_stop_at_the_depth_limit(self, tmp_path: Path) -> None:
        chain = {f"m{n}.md": f"@m{n + 1}.md\n" for n in range(MAX_IMPORT_DEPTH + 3)}
        write_files(tmp_path, {"CLAUDE.md": "@m0.md\n", **chain})
        found = find_memory(tmp_path)
        assert len(found.files) <= MAX_IMPORT_DEPTH + 2
        assert any("imports deep" in problem for problem in found.problems)

    def test_a_missing_import_is_reported(self, tmp_path: Path) -> None:
        write_files(tmp_path, {"CLAUDE.md": "@gone.md\n"})
        assert find_memory(tmp_path).problems == ("CLAUDE.md: imports @gone.md, which does not exist",)

    def test_imports_in_code_and_email_addresses_are_not_imports(self) -> None:
        text = "mail me@example.com\n`@not/this.md`\n```\n@nor/this.md\n```\n@yes/this.md and @that.md.\n"
        assert imports_in(text) == ["yes/this.md", "that.md"]


class TestMemoryShow:
    def test_show_lists_the_files_for_one_file_with_their_tokens(
        self, repo: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        write_files(repo, {"autodev.toml": "", "AGENTS.md": "Use type hints.\n", "web/AGENTS.md": "No jQuery.\n"})
        capsys.readouterr()
        assert autodev(repo, "memory", "show", "--for", "web/app.js", "--json") == 0
        payload = json.loads(capsys.readouterr().out)
        assert [f["path"] for f in payload["files"]] == ["AGENTS.md", "web/AGENTS.md"]
        assert payload["tokens"] == sum(f["tokens"] for f in payload["files"]) > 0
        assert autodev(repo, "memory", "show") == 0
        out = capsys.readouterr().out
        assert "── AGENTS.md (applies everywhere" in out and "Use type hints." in out
