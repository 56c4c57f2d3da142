"""A pass on a JavaScript project (node --test) and a Rust one (cargo test), end to end: real git, node, cargo.

Each test copies examples/slugify-js or examples/roman-rs into its own git repository with no test command in
autodev.toml (the project's files choose it: package.json means ``node --test``, Cargo.toml ``cargo test``), scripts
the model's replies on the scripted server and runs `autodev run --once --json` in process. cargo builds into one
target directory for the whole module (CARGO_TARGET_DIR), except where a test checks that target/ stays ignored.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import autodev, git, head, run_json, snapshot

from autodev.testing import ScriptedServer

pytestmark = pytest.mark.req("LANG-2")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@dataclass(frozen=True)
class Language:
    """One example project and the replies that exercise it."""

    example: str
    tool: str
    code: str  # the file the model writes
    test: str  # the example's test file
    manifest: str  # package.json or Cargo.toml
    fence: str
    broken: str  # code that does not parse or compile
    broken_says: str  # what the tool says about it, which the model must be shown

    @property
    def right(self) -> str:
        return (EXAMPLES / "replies" / f"{self.example}-2.md").read_text(encoding="utf-8")

    @property
    def wrong(self) -> str:
        return (EXAMPLES / "replies" / f"{self.example}-1.md").read_text(encoding="utf-8")

    def reply(self, path: str, content: str, fence: str | None = None) -> str:
        return f"{path}\n```{fence or self.fence}\n{content}```\n"


JAVASCRIPT = Language(
    example="slugify-js",
    tool="node",
    code="src/slug.js",
    test="tests/slug.test.js",
    manifest="package.json",
    fence="javascript",
    broken="export function slugify(title) {\n  return title.toLowerCase(;\n}\n",
    broken_says="SyntaxError: Unexpected token",
)
RUST = Language(
    example="roman-rs",
    tool="cargo",
    code="src/lib.rs",
    test="tests/roman.rs",
    manifest="Cargo.toml",
    fence="rust",
    broken="pub fn to_roman(n: u32) -> String {\n    numerals(n)\n}\n",
    broken_says="error[E0425]: cannot find function `numerals`",
)
LANGUAGES = [
    pytest.param(JAVASCRIPT, id="javascript", marks=pytest.mark.skipif(not shutil.which("node"), reason="no node")),
    pytest.param(RUST, id="rust", marks=pytest.mark.skipif(not shutil.which("cargo"), reason="no cargo")),
]


def config(server_url: str, *, max_attempts: int = 3, samples: int = 1) -> str:
    """One tier of one model at the server; no test command, so the project's files choose the runner."""
    return (
        f"[tests]\ntimeout_s = 120\n[synthesis]\nmax_attempts = {max_attempts}\n"
        f'[llm.samples]\ntier1 = {samples}\n[llm.tiers]\ntier1 = ["scripted"]\n'
        f'[llm.models.scripted]\nmodel = "openai/scripted"\napi_base = "{server_url}"\ntimeout_s = 20\n'
    )


def setup(root: Path, language: Language, server_url: str, *, max_attempts: int = 3, samples: int = 1) -> None:
    shutil.copytree(EXAMPLES / language.example, root, dirs_exist_ok=True)
    text = config(server_url, max_attempts=max_attempts, samples=samples)
    (root / "autodev.toml").write_text(text, encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "spec and tests")


@pytest.fixture(scope="module")
def cargo_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build directory for every cargo run of the module: the crate's dependencies are built once."""
    return tmp_path_factory.mktemp("cargo-target")


@pytest.fixture
def shared_target(cargo_target: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CARGO_TARGET_DIR", str(cargo_target))
    monkeypatch.setenv("CARGO_TERM_COLOR", "never")
    yield


@pytest.mark.parametrize("language", LANGUAGES)
class TestAPassInAnotherLanguage:
    def test_a_right_reply_commits_exactly_the_code_file(
        self, language: Language, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Green: one commit of the code file alone, and the tree clean (cargo's target/ and node_modules ignored)."""
        setup(repo, language, server.url)
        server.push(language.right)
        before = head(repo)
        code, result = run_json(repo, capsys)
        assert code == 0, result
        assert result["status"] == "satisfied"
        assert result["requirements"][0]["targets"] == [language.code]
        assert git(repo, "rev-list", "--count", f"{before}..HEAD").strip() == "1"
        assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == [language.code]
        assert git(repo, "status", "--porcelain").strip() == ""
        assert len(server.requests) == 1
        prompt = server.requests[0].prompt_text
        assert f"```{language.fence}\n" in prompt  # the test file is fenced as its language
        assert "python" not in prompt.lower()

    @pytest.mark.usefixtures("shared_target")
    def test_wrong_replies_leave_every_byte_as_it_was(
        self, language: Language, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Red: exit 1, HEAD, git status and every file as before; the model was shown the tool's failures."""
        setup(repo, language, server.url, max_attempts=2)
        server.push(language.wrong, language.wrong)
        before, status, files = head(repo), git(repo, "status", "--porcelain"), snapshot(repo)
        code, result = run_json(repo, capsys)
        assert code == 1
        assert result["status"] == "failed"
        assert head(repo) == before
        assert git(repo, "status", "--porcelain") == status == ""
        assert snapshot(repo) == files
        assert not (repo / language.code).exists()
        assert len(server.requests) == 2
        assert f"FAILED {language.test}" in server.requests[1].prompt_text

    @pytest.mark.usefixtures("shared_target")
    def test_samples_are_tried_in_scratch_copies_and_the_green_one_is_committed(
        self, language: Language, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Two candidates at once: each is tested in its own copy of the project; only the green one lands."""
        setup(repo, language, server.url, samples=2)
        server.push(language.wrong, language.right)
        code, result = run_json(repo, capsys)
        assert code == 0, result
        assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == [language.code]
        assert git(repo, "status", "--porcelain").strip() == ""

    @pytest.mark.usefixtures("shared_target")
    def test_a_compile_error_is_repaired_on_the_second_attempt(
        self, language: Language, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Code that does not parse or compile is the model's to fix: the tool's error goes back to it."""
        setup(repo, language, server.url)
        server.push(language.reply(language.code, language.broken), language.right)
        code, result = run_json(repo, capsys)
        assert code == 0, result
        assert [attempt["outcome"] for attempt in result["attempts"]] == ["red", "green"]
        assert len(server.requests) == 2
        assert language.broken_says in server.requests[1].prompt_text
        assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == [language.code]

    @pytest.mark.usefixtures("shared_target")
    def test_a_reply_that_edits_the_tests_or_the_manifest_is_rejected(
        self, language: Language, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A test-only reply and a reply that rewrites package.json/Cargo.toml are rejected; the tests untouched."""
        setup(repo, language, server.url)
        test_edit = language.reply(language.test, "// nothing to test\n")
        manifest_edit = language.reply(language.manifest, "{}\n", fence="text") + language.right
        server.push(test_edit, manifest_edit, language.right)
        files = snapshot(repo)
        code, result = run_json(repo, capsys)
        assert code == 0, result
        outcomes = [attempt["outcome"] for attempt in result["attempts"]]
        assert outcomes == ["rejected", "rejected", "green"]
        assert "it is a test file" in server.requests[1].prompt_text
        assert f"{language.manifest} controls how the tests" in server.requests[2].prompt_text
        after = snapshot(repo)
        assert after[language.test] == files[language.test]
        assert after[language.manifest] == files[language.manifest]
        assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == [language.code]

    @pytest.mark.usefixtures("shared_target")
    def test_a_test_file_that_does_not_parse_is_the_projects_problem(
        self, language: Language, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A syntax error in a test file stops the pass before any model call, naming the runner and the file."""
        setup(repo, language, server.url)
        with (repo / language.test).open("a", encoding="utf-8") as test_file:
            test_file.write("fn broken( {\n" if language is RUST else 'test("broken", () => { assert.ok(1;\n')
        git(repo, "commit", "-q", "-am", "a broken test")
        code, result = run_json(repo, capsys)
        assert code == 1
        assert result["reason"].startswith(f"{language.tool} cannot ")
        assert f"({language.test})" in result["reason"]
        assert "pytest" not in result["reason"].splitlines()[0]
        assert str(repo) not in result["reason"]  # the tool's paths are the project's
        assert server.requests == []

    @pytest.mark.usefixtures("shared_target")
    def test_ask_apply_test_judges_a_change_with_the_projects_runner(
        self,
        language: Language,
        repo: Path,
        server: ScriptedServer,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """`ask --apply --test` runs node or cargo: a change that fixes tests is kept, one that breaks them is not."""
        monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # nothing piped in (pytest's stdin cannot be read)
        setup(repo, language, server.url)
        wrong = language.wrong.split(f"```{language.fence}\n", 1)[1].rsplit("```", 1)[0]
        (repo / language.code).parent.mkdir(parents=True, exist_ok=True)
        (repo / language.code).write_text(wrong, encoding="utf-8")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "a first try by hand")
        server.push(language.reply(language.code, language.broken), language.right)
        before, files = head(repo), snapshot(repo)
        capsys.readouterr()
        assert autodev(repo, "ask", "--json", "-f", language.code, "fix it", "--apply", "--test") == 1
        broken = json.loads(capsys.readouterr().out)["applied"]
        assert broken["kept"] is False
        assert language.test in broken["reason"]
        assert snapshot(repo) == files and head(repo) == before
        assert autodev(repo, "ask", "--json", "-f", language.code, "fix it again", "--apply", "--test") == 0
        fixed = json.loads(capsys.readouterr().out)["applied"]
        assert fixed["kept"] is True, fixed
        assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == [language.code]

    def test_a_project_without_tests_says_where_they_were_looked_for(
        self, language: Language, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        setup(repo, language, server.url)
        git(repo, "rm", "-q", language.test)
        git(repo, "commit", "-q", "-m", "no tests")
        code, result = run_json(repo, capsys)
        assert code == 1
        assert result["reason"].startswith("no test files found (")
        assert ("*.test.js" if language is JAVASCRIPT else "tests/*.rs") in result["reason"]
        assert "test_*.py" not in result["reason"]
        assert server.requests == []
