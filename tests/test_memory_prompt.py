"""Project memory in prompts: what a tier's budget lets through, where it goes, and a pass that sends it."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from helpers import RIGHT, autodev, config_text, git, run_json, setup_example, write_files

from autodev.config import ContextConfig
from autodev.memory import find_memory
from autodev.spec.model import Requirement
from autodev.synth.context import Feedback, SourceFile, build_messages
from autodev.synth.memory_prompt import CUT_NOTE, HEADING, memory_budget, memory_section
from autodev.testing import ScriptedServer
from autodev.tokens import estimate_tokens

pytestmark = pytest.mark.req("MEM-2")

RULES = "Always name conversion functions to_<unit>.\nNEVER print from library code.\n"


class TestMemoryBudget:
    def test_local_models_get_none_and_hosted_ones_the_hosted_default(self) -> None:
        context = ContextConfig()
        assert memory_budget(context, "tier1", served_locally=True) == 0
        assert memory_budget(context, "tier2", served_locally=False) == context.hosted_memory_tokens > 0

    def test_a_tier_budget_overrides_both_defaults(self) -> None:
        context = ContextConfig(memory_tokens={"tier1": 300, "tier3": 0})
        assert memory_budget(context, "tier1", served_locally=True) == 300
        assert memory_budget(context, "tier3", served_locally=False) == 0
        assert memory_budget(context, "tier2", served_locally=False) == context.hosted_memory_tokens

    def test_memory_off_means_no_budget_anywhere(self) -> None:
        context = ContextConfig(memory=False, memory_tokens={"tier1": 300})
        assert memory_budget(context, "tier1", served_locally=False) == 0

    def test_an_unknown_tier_name_in_the_budget_is_a_config_error(self) -> None:
        with pytest.raises(ValueError, match="unknown tier 'tier9'"):
            ContextConfig(memory_tokens={"tier9": 10})


class TestMemorySection:
    def test_everything_that_fits_is_sent_whole_under_one_heading(self, tmp_path: Path) -> None:
        write_files(tmp_path, {"AGENTS.md": RULES, "CONVENTIONS.md": "Use type hints.\n"})
        section = memory_section(find_memory(tmp_path), ["temps.py"], 1000)
        assert section.text.startswith(HEADING)
        assert (
            "From AGENTS.md:\nAlways name" in section.text and "From CONVENTIONS.md:\nUse type hints." in section.text
        )
        assert section.whole == ("AGENTS.md", "CONVENTIONS.md") and not section.shortened
        assert section.tokens == estimate_tokens(section.text) <= 1000

    def test_no_budget_sends_nothing_and_lists_what_was_left_out(self, tmp_path: Path) -> None:
        write_files(tmp_path, {"AGENTS.md": RULES})
        section = memory_section(find_memory(tmp_path), [], 0)
        assert section.text == "" and section.tokens == 0 and section.left_out == ("AGENTS.md",)

    def test_the_first_file_that_does_not_fit_is_cut_at_a_line_and_the_rest_left_out(self, tmp_path: Path) -> None:
        long_rules = "".join(f"Rule {n}: keep functions shorter than {n + 10} lines.\n" for n in range(200))
        write_files(tmp_path, {"AGENTS.md": "short\n", "CLAUDE.md": long_rules, "CONVENTIONS.md": "conv\n"})
        section = memory_section(find_memory(tmp_path), [], 300)
        assert section.whole == ("AGENTS.md",) and section.cut == ("CLAUDE.md",)
        assert section.left_out == ("CONVENTIONS.md",)
        assert section.text.endswith(CUT_NOTE) and "Rule 0:" in section.text and "Rule 199:" not in section.text
        assert section.tokens <= 300
        assert all(line.startswith(("Rule", "From", "short", "[...", "The project")) or not line
                   for line in section.text.splitlines())  # fmt: skip
        assert "memory_tokens" in section.shortened_message() and "CLAUDE.md" in section.shortened_message()

    def test_nested_memory_is_sent_only_for_targets_under_it(self, tmp_path: Path) -> None:
        write_files(tmp_path, {"AGENTS.md": "all\n", "web/AGENTS.md": "web only\n"})
        memory = find_memory(tmp_path)
        assert "web only" in memory_section(memory, ["web/app.py"], 500).text
        assert "web only" not in memory_section(memory, ["cli/main.py"], 500).text
        assert "web only" not in memory_section(memory, [], 500).text

    def test_outside_a_project_only_the_directorys_own_files_are_read(self, tmp_path: Path) -> None:
        """`ask` in a home directory must not walk every directory below it for nested AGENTS.md files."""
        write_files(tmp_path, {"AGENTS.md": "mine\n", "code/x/AGENTS.md": "x\n"})
        assert [f.path for f in find_memory(tmp_path, nested=False).files] == ["AGENTS.md"]

    def test_a_configured_memory_file_is_read_and_a_missing_one_reported(self, tmp_path: Path) -> None:
        write_files(tmp_path, {"docs/STYLE.md": "house style\n"})
        memory = find_memory(tmp_path, ["docs/STYLE.md", "docs/GONE.md"])
        assert [f.path for f in memory.files] == ["docs/STYLE.md"]
        assert any("docs/GONE.md" in problem and "memory_files" in problem for problem in memory.problems)


class TestPlacement:
    def test_memory_follows_the_instructions_in_the_system_message_of_every_attempt(self) -> None:
        """The first attempt and a retry share the system message: a prefix cache reuses it whole."""
        requirement = Requirement(id="R-1", title="t", text="Convert temperatures.", source="SPEC.md", content_hash="0")
        tests = [SourceFile(path="tests/test_t.py", content="def test(): pass\n")]
        targets = [SourceFile(path="t.py", content=None)]
        first = build_messages(requirement, tests, targets, memory="MEMORY")
        retry = build_messages(requirement, tests, targets, Feedback(reply="x", failure="y"), memory="MEMORY")
        assert first[0]["content"].endswith("\n\nMEMORY") and first[0] == retry[0]
        assert "MEMORY" not in first[1]["content"]


@pytest.fixture
def project(repo: Path, server: ScriptedServer) -> Path:
    setup_example(repo, server.url, stub=True)
    (repo / "AGENTS.md").write_text(RULES, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "agents")
    return repo


class TestAPassSendsTheMemory:
    def test_the_rules_of_agents_md_are_in_the_request_the_server_received(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        server.push(RIGHT)
        code, result = run_json(project, capsys)
        assert code == 0, result
        system = server.requests[0].messages[0]
        assert system["role"] == "system"
        assert "From AGENTS.md:" in system["content"] and "NEVER print from library code." in system["content"]

    def test_a_tier_budget_of_zero_keeps_the_memory_out(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        config = config_text(server.url) + "[context]\nmemory_tokens = { tier1 = 0 }\n"
        (project / "autodev.toml").write_text(config, encoding="utf-8")
        git(project, "commit", "-qam", "no memory for tier1")
        server.push(RIGHT)
        code, result = run_json(project, capsys)
        assert code == 0, result
        assert "NEVER print" not in json.dumps(server.requests[0].messages)


class TestMemoryShowTier:
    def test_it_prints_what_the_tier_gets_and_its_tokens(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        capsys.readouterr()
        assert autodev(project, "memory", "show", "--tier", "tier1", "--json") == 0
        shown = json.loads(capsys.readouterr().out)
        assert shown["served_locally"] is False and shown["whole"] == ["AGENTS.md"]
        assert "NEVER print" in shown["text"] and shown["tokens"] == estimate_tokens(shown["text"])

    def test_an_unknown_tier_is_a_usage_error_naming_the_tiers(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert autodev(project, "memory", "show", "--tier", "tier3") == 2
        assert "tier1" in capsys.readouterr().err


class TestAskSendsTheMemory:
    def test_ask_puts_the_rules_before_the_users_files_and_reads_an_edit_at_once(
        self, project: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(""))
        server.push("one", "two")
        assert autodev(project, "ask", "-f", "temps.py", "what does it do?") == 0
        system = server.requests[0].messages[0]["content"]
        assert system.index("NEVER print from library code.") < system.index("temps.py\n```")
        (project / "AGENTS.md").write_text("Answer in French.\n", encoding="utf-8")
        assert autodev(project, "ask", "--continue", "and now?") == 0
        assert "Answer in French." in server.requests[1].messages[0]["content"]
        assert "NEVER print" not in server.requests[1].messages[0]["content"]
