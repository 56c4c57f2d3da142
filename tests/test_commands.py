"""Custom command files (autodev.commands): reading front matter, finding commands by precedence, expanding them."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import write_files

from autodev.commands import (
    CommandFile,
    expand,
    find_commands,
    locate_references,
    lookup,
    parse_command,
    references,
    user_commands_dir,
)
from autodev.errors import CommandError, UsageError

pytestmark = pytest.mark.req("CMD-1")


def parsed(tmp_path: Path, text: str, name: str = "review") -> CommandFile:
    path = tmp_path / f"{name}.md"
    path.write_text(text, encoding="utf-8")
    return parse_command(path, name, "project")


def broken(tmp_path: Path, text: str | bytes) -> CommandError:
    path = tmp_path / "broken.md"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(CommandError) as caught:
        parse_command(path, "broken", "project")
    return caught.value


def body_only(text: str) -> CommandFile:
    return CommandFile(
        name="c", path=Path("c.md"), origin="user", description=None, model=None, tier=None, argument_hint=None,
        body=text, body_line=1,
    )  # fmt: skip


class TestParseCommand:
    def test_front_matter_values_unquoted_single_and_double_quoted(self, tmp_path: Path) -> None:
        command = parsed(
            tmp_path,
            "---\n"
            "description: Review the code\n"
            "argument-hint: '[file] [it''s focus]'\n"
            'model: "gpt-\\"4o\\\\mini"\n'
            "---\n"
            "Review $1.\n",
        )
        assert command.description == "Review the code"
        assert command.argument_hint == "[file] [it's focus]"
        assert command.model == 'gpt-"4o\\mini'
        assert command.tier is None
        assert command.body == "Review $1.\n"
        assert command.body_line == 6

    def test_comments_and_blank_lines_in_front_matter_are_skipped(self, tmp_path: Path) -> None:
        command = parsed(tmp_path, "---\n# why this exists\n\ndescription: d\n   \ntier: tier2\n---\nbody\n")
        assert (command.description, command.tier, command.body) == ("d", "tier2", "body\n")

    def test_without_front_matter_the_whole_file_is_the_body(self, tmp_path: Path) -> None:
        command = parsed(tmp_path, "Explain $ARGUMENTS\n---\nnot front matter\n")
        assert command.description is None and command.body_line == 1
        assert command.body == "Explain $ARGUMENTS\n---\nnot front matter\n"

    def test_an_unclosed_front_matter_is_an_error_on_line_one(self, tmp_path: Path) -> None:
        error = broken(tmp_path, "---\ndescription: d\nbody without a fence\n")
        assert error.line == 1
        assert str(error).startswith(f"{tmp_path / 'broken.md'}:1: ")
        assert "never closed" in str(error)

    def test_unknown_claude_code_keys_are_ignored_with_their_indented_lists(self, tmp_path: Path) -> None:
        command = parsed(
            tmp_path,
            "---\nallowed-tools:\n  - Bash(git status:*)\n  - Read\ndisable-model-invocation: true\n"
            "description: kept\n---\nbody\n",
        )
        assert command.description == "kept"

    def test_a_known_key_continued_on_an_indented_line_is_an_error_with_its_line(self, tmp_path: Path) -> None:
        error = broken(tmp_path, "---\ndescription: first\n  second line\n---\nbody\n")
        assert error.line == 3 and "`description` must be one line" in error.problem

    def test_an_indented_line_before_any_key_is_an_error(self, tmp_path: Path) -> None:
        assert broken(tmp_path, "---\n  - orphan\n---\nbody\n").line == 2

    def test_a_line_that_is_not_key_value_is_an_error(self, tmp_path: Path) -> None:
        error = broken(tmp_path, "---\ndescription: d\njust words\n---\n")
        assert error.line == 3 and "key: value" in error.problem

    def test_model_and_tier_both_is_an_error_on_the_later_line(self, tmp_path: Path) -> None:
        error = broken(tmp_path, "---\nmodel: gpt-4o-mini\ndescription: d\ntier: tier2\n---\nbody\n")
        assert error.line == 4 and "either `model` or `tier`" in error.problem

    @pytest.mark.parametrize("value", ["", "   ", "''", '""'])
    def test_an_empty_value_is_an_error(self, tmp_path: Path, value: str) -> None:
        error = broken(tmp_path, f"---\ndescription: d\nmodel: {value}\n---\nbody\n")
        assert error.line == 3 and "`model` is empty" in error.problem

    def test_an_unclosed_quote_is_an_error(self, tmp_path: Path) -> None:
        error = broken(tmp_path, "---\ndescription: 'open\n---\nbody\n")
        assert error.line == 2 and "not closed" in error.problem

    def test_a_file_that_is_not_utf8_is_an_error_with_the_line_of_the_bad_byte(self, tmp_path: Path) -> None:
        error = broken(tmp_path, b"---\ndescription: d\n---\nline four\ncaf\xe9\n")
        assert error.line == 5 and "UTF-8" in error.problem

    def test_a_byte_order_mark_is_not_part_of_the_first_line(self, tmp_path: Path) -> None:
        assert parsed(tmp_path, "\ufeff---\ndescription: d\n---\nbody\n").description == "d"


class TestExpand:
    def test_arguments_replace_the_arguments_placeholder(self) -> None:
        expansion = expand(body_only("Fix the issue: $ARGUMENTS\n"), ["crash", "on", "start"])
        assert expansion.prompt == "Fix the issue: crash on start"

    def test_positions_fill_one_argument_each_and_a_missing_one_is_empty(self) -> None:
        assert expand(body_only("first=$1 second=[$2]"), ["a"]).prompt == "first=a second=[]"

    def test_a_doubled_dollar_is_a_literal_dollar(self) -> None:
        assert expand(body_only("cost $$1 for $1"), ["x"]).prompt == "cost $1 for x"

    def test_without_a_placeholder_the_arguments_are_appended_after_a_blank_line(self) -> None:
        assert expand(body_only("Review the code.\n"), ["focus", "on", "errors"]).prompt == (
            "Review the code.\n\nfocus on errors"
        )

    def test_without_a_placeholder_and_no_arguments_the_body_is_sent_as_is(self) -> None:
        assert expand(body_only("\nReview the code.\n\n"), []).prompt == "Review the code."

    def test_an_escaped_dollar_alone_does_not_count_as_a_placeholder(self) -> None:
        assert expand(body_only("costs $$5"), ["extra"]).prompt == "costs $5\n\nextra"

    def test_the_files_are_the_references_of_the_expanded_prompt(self) -> None:
        expansion = expand(body_only("Review @src/app.py against $1"), ["@tests/test_app.py"])
        assert expansion.files == ("src/app.py", "tests/test_app.py")

    def test_the_model_and_tier_come_from_the_command(self, tmp_path: Path) -> None:
        command = parsed(tmp_path, "---\ntier: tier2\n---\nbody\n")
        assert (expand(command, []).model, expand(command, []).tier) == (None, "tier2")


class TestReferences:
    def test_a_reference_starts_a_token(self) -> None:
        assert references("mail a@b.c about @notes.md") == ("notes.md",)

    def test_trailing_punctuation_is_not_part_of_the_path(self) -> None:
        assert references("see @app.py. and (@lib/util.py), or @README.md!") == (
            "app.py",
            "lib/util.py",
            "README.md",
        )

    def test_each_file_is_named_once_in_order_of_appearance(self) -> None:
        assert references("@b.py @a.py @b.py") == ("b.py", "a.py")

    def test_an_absolute_path_is_not_a_reference(self) -> None:
        assert references("read @/etc/passwd and @@twice") == ()


class TestFindCommands:
    def test_project_commands_shadow_user_ones_and_autodev_shadows_claude(self, tmp_path: Path) -> None:
        root, config = tmp_path / "project", tmp_path / "config"
        write_files(root, {".autodev/commands/review.md": "autodev review", ".claude/commands/review.md": "claude",
                           ".claude/commands/explain.md": "claude explain"})  # fmt: skip
        write_files(config, {"autodev/commands/review.md": "user review", "autodev/commands/mine.md": "mine"})
        found = find_commands(root, {"XDG_CONFIG_HOME": str(config)})
        assert {name: command.body for name, command in found.commands.items()} == {
            "explain": "claude explain",
            "mine": "mine",
            "review": "autodev review",
        }
        assert found.commands["review"].origin == "project" and found.commands["mine"].origin == "user"
        assert sorted((c.body, c.origin) for c in found.shadowed) == [("claude", "project"), ("user review", "user")]
        assert found.problems == []

    def test_a_subdirectory_namespaces_the_name(self, tmp_path: Path) -> None:
        write_files(tmp_path, {".claude/commands/frontend/test.md": "run the frontend tests"})
        found = find_commands(tmp_path, {"XDG_CONFIG_HOME": str(tmp_path / "none")})
        assert list(found.commands) == ["frontend:test"]

    def test_only_markdown_files_and_no_hidden_ones_are_commands(self, tmp_path: Path) -> None:
        write_files(tmp_path, {".autodev/commands/a.md": "a", ".autodev/commands/notes.txt": "no",
                               ".autodev/commands/.draft.md": "no"})  # fmt: skip
        assert list(find_commands(tmp_path, {"XDG_CONFIG_HOME": str(tmp_path / "none")}).commands) == ["a"]

    def test_a_broken_file_is_a_problem_the_others_load_and_it_still_claims_its_name(self, tmp_path: Path) -> None:
        root, config = tmp_path / "project", tmp_path / "config"
        bad = "---\nmodel: m\ntier: t\n---\n"
        write_files(root, {".autodev/commands/bad.md": bad, ".autodev/commands/ok.md": "ok"})
        write_files(config, {"autodev/commands/bad.md": "the user's bad"})
        found = find_commands(root, {"XDG_CONFIG_HOME": str(config)})
        assert list(found.commands) == ["ok"]
        assert [(Path(error.path).name, error.line) for error in found.problems] == [("bad.md", 3)]
        assert [command.body for command in found.shadowed] == ["the user's bad"]
        assert found.broken["bad"] is found.problems[0]

    def test_a_symlink_leading_outside_is_skipped_with_a_problem(self, tmp_path: Path) -> None:
        secret = tmp_path / "elsewhere.md"
        secret.write_text("not a command", encoding="utf-8")
        commands = tmp_path / "project" / ".autodev" / "commands"
        commands.mkdir(parents=True)
        (commands / "sneaky.md").symlink_to(secret)
        (commands / "real.md").write_text("real", encoding="utf-8")
        (commands / "alias.md").symlink_to(commands / "real.md")  # inside: a command like any other
        found = find_commands(tmp_path / "project", {"XDG_CONFIG_HOME": str(tmp_path / "none")})
        assert list(found.commands) == ["alias", "real"]
        assert len(found.problems) == 1 and "symlink leading outside" in found.problems[0].problem
        assert found.problems[0].path.endswith("sneaky.md")

    def test_outside_a_project_only_the_users_commands(self, tmp_path: Path) -> None:
        write_files(tmp_path, {"autodev/commands/mine.md": "mine"})
        found = find_commands(None, {"XDG_CONFIG_HOME": str(tmp_path)})
        assert list(found.commands) == ["mine"] and found.commands["mine"].origin == "user"

    def test_no_command_directory_at_all_is_no_command(self, tmp_path: Path) -> None:
        found = find_commands(tmp_path, {"XDG_CONFIG_HOME": str(tmp_path / "none")})
        assert (found.commands, found.shadowed, found.problems) == ({}, [], [])


class TestLookup:
    def test_a_command_is_found_by_name(self, tmp_path: Path) -> None:
        write_files(tmp_path, {".autodev/commands/review.md": "r"})
        found = find_commands(tmp_path, {"XDG_CONFIG_HOME": str(tmp_path / "none")})
        assert lookup(found, "review", listing="x").body == "r"

    def test_an_unknown_name_says_the_closest_and_where_they_are_listed(self, tmp_path: Path) -> None:
        write_files(tmp_path, {".autodev/commands/review.md": "r"})
        found = find_commands(tmp_path, {"XDG_CONFIG_HOME": str(tmp_path / "none")})
        with pytest.raises(UsageError, match=r"did you mean 'review'\? \(`autodev cmd list` lists them\)"):
            lookup(found, "reviwe", listing="`autodev cmd list`")

    def test_a_broken_file_raises_its_own_problem(self, tmp_path: Path) -> None:
        write_files(tmp_path, {".autodev/commands/bad.md": "---\n"})
        found = find_commands(tmp_path, {"XDG_CONFIG_HOME": str(tmp_path / "none")})
        with pytest.raises(CommandError, match=r"bad\.md:1: "):
            lookup(found, "bad", listing="x")


class TestLocateReferences:
    def test_a_file_is_looked_for_where_autodev_started_then_at_the_root(self, tmp_path: Path) -> None:
        write_files(tmp_path, {"sub/here.py": "", "root.py": "", "sub/root.py": ""})
        command = body_only("")
        located = locate_references(command, ["here.py", "root.py", "sub/here.py"], start=tmp_path / "sub",
                                    root=tmp_path)  # fmt: skip
        assert located == [tmp_path / "sub/here.py", tmp_path / "sub/root.py", tmp_path / "sub/here.py"]
        assert locate_references(command, ["root.py"], start=tmp_path / "other", root=tmp_path) == [
            tmp_path / "root.py"
        ]

    def test_a_missing_file_or_a_directory_is_a_usage_error_naming_the_command_file(self, tmp_path: Path) -> None:
        (tmp_path / "src").mkdir()
        for name in ("gone.py", "src"):
            with pytest.raises(UsageError, match=rf"^c\.md: @{name}: no such file in {tmp_path}"):
                locate_references(body_only(""), [name], start=tmp_path, root=tmp_path)


class TestUserCommandsDir:
    def test_an_absolute_xdg_config_home_is_used(self, tmp_path: Path) -> None:
        env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path / "home")}
        assert user_commands_dir(env) == tmp_path / "xdg" / "autodev" / "commands"

    def test_without_xdg_config_home_it_is_under_home(self, tmp_path: Path) -> None:
        assert user_commands_dir({"HOME": str(tmp_path)}) == tmp_path / ".config" / "autodev" / "commands"

    def test_a_relative_xdg_config_home_is_ignored(self, tmp_path: Path) -> None:
        env = {"XDG_CONFIG_HOME": "relative/config", "HOME": str(tmp_path)}
        assert user_commands_dir(env) == tmp_path / ".config" / "autodev" / "commands"
