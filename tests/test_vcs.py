"""The git layer on real repositories: what counts as uncommitted, and commits of only autodev's files."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest
from helpers import git

from autodev import vcs
from autodev.errors import NotARepositoryError, VcsError
from autodev.vcs import GitRepo, init_repository

pytestmark = pytest.mark.req("CORE-2")


def write(root: Path, rel: str, text: str) -> Path:
    target = root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def commit_all(root: Path, *rels: str, message: str = "setup") -> None:
    git(root, "add", "--", *rels)
    git(root, "commit", "-q", "-m", message)


def staged_names(root: Path) -> list[str]:
    return git(root, "diff", "--cached", "--name-only").split()


def files_in_head(root: Path) -> list[str]:
    return git(root, "show", "--stat", "--name-only", "--format=", "HEAD").split()


def isolate_global_config(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"):
        monkeypatch.delenv(name, raising=False)


class TestOpen:
    def test_finds_the_work_tree_top_from_a_subdirectory(self, repo: Path) -> None:
        """Opening from deep inside the project (even a path not created yet) finds the repository's top."""
        (repo / "src" / "pkg").mkdir(parents=True)
        opened = GitRepo.open(repo / "src" / "pkg" / "not_yet.py")
        assert opened.root.resolve() == repo.resolve()

    def test_outside_any_repository_says_how_to_fix_it(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A directory outside git raises NotARepositoryError naming the path and `autodev init`."""
        outside = tmp_path / "plain"
        outside.mkdir()
        monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
        with pytest.raises(NotARepositoryError) as caught:
            GitRepo.open(outside)
        assert str(caught.value) == (
            f"{outside} is not inside a git repository; run `autodev init` (or `git init`) first"
        )

    def test_a_bare_repository_is_refused(self, tmp_path: Path) -> None:
        """A bare repository has no work tree to write into, so it is not accepted."""
        bare = tmp_path / "bare.git"
        git(tmp_path, "init", "-q", "--bare", str(bare))
        with pytest.raises(NotARepositoryError, match="work tree"):
            GitRepo.open(bare)


class TestHeadSha:
    def test_none_before_the_first_commit_then_the_commit(self, repo: Path) -> None:
        """An unborn branch has no HEAD commit; after a commit head_sha is that commit's full SHA."""
        opened = GitRepo.open(repo)
        assert opened.head_sha() is None
        write(repo, "a.txt", "a\n")
        commit_all(repo, "a.txt")
        assert opened.head_sha() == git(repo, "rev-parse", "HEAD").strip()


class TestUncommitted:
    def test_reports_every_kind_of_uncommitted_file_and_only_those(self, repo: Path) -> None:
        """Modified, staged, deleted, untracked and ignored files count; clean and absent ones do not."""
        for rel in ("clean.py", "modified.py", "staged.py", "deleted.py"):
            write(repo, rel, f"# {rel}\n")
        commit_all(repo, "clean.py", "modified.py", "staged.py", "deleted.py")
        write(repo, "modified.py", "changed\n")
        write(repo, "staged.py", "changed\n")
        git(repo, "add", "staged.py")
        (repo / "deleted.py").unlink()
        write(repo, "new/untracked.py", "new\n")
        (repo / ".git" / "info" / "exclude").write_text("*.log\n", encoding="utf-8")
        write(repo, "debug.log", "noise\n")
        asked = [
            "clean.py",
            "modified.py",
            "staged.py",
            "deleted.py",
            "new/untracked.py",
            "debug.log",
            "absent.py",
        ]
        assert GitRepo.open(repo).uncommitted(asked) == [
            "modified.py",
            "staged.py",
            "deleted.py",
            "new/untracked.py",
            "debug.log",
        ]

    def test_works_before_the_first_commit(self, repo: Path) -> None:
        """With no HEAD yet, staged and untracked files are uncommitted and an absent file is not."""
        write(repo, "staged.py", "s\n")
        git(repo, "add", "staged.py")
        write(repo, "untracked.py", "u\n")
        assert GitRepo.open(repo).uncommitted(["staged.py", "untracked.py", "absent.py"]) == [
            "staged.py",
            "untracked.py",
        ]

    def test_a_staged_deletion_is_uncommitted(self, repo: Path) -> None:
        """`git rm` of a committed file is a change the user has not committed yet."""
        write(repo, "gone.py", "g\n")
        commit_all(repo, "gone.py")
        git(repo, "rm", "-q", "gone.py")
        assert GitRepo.open(repo).uncommitted(["gone.py"]) == ["gone.py"]

    def test_paths_are_literal_not_globs(self, repo: Path) -> None:
        """A file named `[ab].py` is asked about itself, not about a.py, which the glob would match."""
        write(repo, "[ab].py", "literal\n")
        write(repo, "a.py", "a\n")
        commit_all(repo, "[ab].py", "a.py")
        write(repo, "a.py", "changed\n")
        assert GitRepo.open(repo).uncommitted(["[ab].py"]) == []

    def test_unusual_file_names_are_matched(self, repo: Path) -> None:
        """Names with spaces and non-ASCII letters, which git quotes in plain output, still match."""
        write(repo, "dir with space/naïve file.py", "x\n")
        assert GitRepo.open(repo).uncommitted(["dir with space/naïve file.py"]) == ["dir with space/naïve file.py"]

    def test_a_directory_counts_when_something_inside_is_uncommitted(self, repo: Path) -> None:
        """Asking about a directory covers the files under it."""
        write(repo, "pkg/mod.py", "x\n")
        assert GitRepo.open(repo).uncommitted(["pkg", "other"]) == ["pkg"]


class TestStatusPorcelain:
    def test_lists_untracked_files_individually(self, repo: Path) -> None:
        """-uall: a new file deep in a new directory shows by its own path, not as the directory."""
        write(repo, "deep/er/file.txt", "x\n")
        assert GitRepo.open(repo).status_porcelain() == "?? deep/er/file.txt\n"


class TestCommitPaths:
    def test_commits_only_the_given_paths_and_leaves_the_users_staging_alone(self, repo: Path) -> None:
        """New, modified and deleted files are committed; the user's own staged changes stay staged, out."""
        write(repo, "base.txt", "base\n")
        write(repo, "lib.py", "old\n")
        write(repo, "old.py", "obsolete\n")
        commit_all(repo, "base.txt", "lib.py", "old.py")
        write(repo, "user.txt", "the user's new file\n")
        write(repo, "base.txt", "the user's edit\n")
        git(repo, "add", "user.txt", "base.txt")
        write(repo, "gen.py", "generated\n")
        write(repo, "lib.py", "new\n")
        (repo / "old.py").unlink()

        sha = GitRepo.open(repo).commit_paths(["gen.py", "lib.py", "old.py"], "Add gen", {})

        assert sha == git(repo, "rev-parse", "HEAD").strip()
        assert sorted(files_in_head(repo)) == ["gen.py", "lib.py", "old.py"]
        assert sorted(staged_names(repo)) == ["base.txt", "user.txt"]
        assert git(repo, "status", "--porcelain", "--", "gen.py", "lib.py", "old.py") == ""
        assert git(repo, "show", "HEAD:lib.py") == "new\n"

    def test_message_ends_with_parseable_trailers(self, repo: Path) -> None:
        """Trailers follow a blank line as `Key: value` lines that `git interpret-trailers --parse` reads."""
        write(repo, "a.py", "a\n")
        GitRepo.open(repo).commit_paths(
            ["a.py"],
            "Implement R1\n\nBody text.",
            {"Autodev-Requirement": "R1", "Autodev-Model": "ollama/qwen2.5-coder:1.5b"},
        )
        body = git(repo, "log", "-1", "--format=%B")
        parsed = subprocess.run(
            ["git", "interpret-trailers", "--parse"],
            input=body,
            capture_output=True,
            text=True,
            check=True,
            cwd=repo,
        ).stdout
        assert body.startswith("Implement R1\n\nBody text.\n\n")
        assert parsed == "Autodev-Requirement: R1\nAutodev-Model: ollama/qwen2.5-coder:1.5b\n"

    def test_first_commit_in_an_empty_repository(self, repo: Path) -> None:
        """The very first commit works, and a file the user staged meanwhile stays staged and out of it."""
        write(repo, "a.py", "a\n")
        write(repo, "mine.txt", "mine\n")
        git(repo, "add", "mine.txt")
        sha = GitRepo.open(repo).commit_paths(["a.py"], "First", {"Autodev-Requirement": "R1"})
        assert git(repo, "rev-list", "HEAD").split() == [sha]
        assert git(repo, "ls-tree", "-r", "--name-only", "HEAD").split() == ["a.py"]
        assert staged_names(repo) == ["mine.txt"]

    def test_uses_the_configured_identity(self, repo: Path) -> None:
        """A configured identity is used as it is; the fallback never overrides it."""
        write(repo, "a.py", "a\n")
        GitRepo.open(repo).commit_paths(["a.py"], "First", {})
        assert git(repo, "log", "-1", "--format=%an <%ae>|%cn <%ce>") == (
            "Test User <test@example.com>|Test User <test@example.com>\n"
        )

    def test_falls_back_to_autodev_identity_without_writing_config(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """With no identity configured anywhere, autodev commits as itself and writes no git config."""
        isolate_global_config(monkeypatch, tmp_path / "home")
        root = tmp_path / "anon"
        root.mkdir()
        git(root, "init", "-q", "-b", "main")
        git(root, "config", "commit.gpgsign", "false")
        config_before = (root / ".git" / "config").read_bytes()
        write(root, "a.py", "a\n")

        GitRepo.open(root).commit_paths(["a.py"], "First", {})

        assert git(root, "log", "-1", "--format=%an <%ae>|%cn <%ce>") == (
            "autodev <autodev@localhost>|autodev <autodev@localhost>\n"
        )
        assert (root / ".git" / "config").read_bytes() == config_before
        assert not (tmp_path / "home" / "gitconfig").exists()

    def test_a_rejecting_hook_raises_with_its_message_and_restores_the_index(self, repo: Path) -> None:
        """With hooks on, a pre-commit hook's refusal is a VcsError with git's stderr; HEAD and index unchanged."""
        write(repo, "lib.py", "old\n")
        commit_all(repo, "lib.py")
        write(repo, "user.txt", "user\n")
        git(repo, "add", "user.txt")
        hooks = repo / git(repo, "rev-parse", "--git-path", "hooks").strip()
        hooks.mkdir(parents=True, exist_ok=True)
        hook = hooks / "pre-commit"
        hook.write_text("#!/bin/sh\necho 'lint says no' >&2\nexit 1\n", encoding="utf-8")
        hook.chmod(0o755)
        write(repo, "lib.py", "new\n")
        write(repo, "gen.py", "generated\n")
        head_before = git(repo, "rev-parse", "HEAD")
        index_before = git(repo, "ls-files", "--stage")

        with pytest.raises(VcsError, match="lint says no"):
            GitRepo.open(repo).commit_paths(["lib.py", "gen.py"], "Try", {}, run_hooks=True)

        assert git(repo, "rev-parse", "HEAD") == head_before
        assert git(repo, "ls-files", "--stage") == index_before
        assert staged_names(repo) == ["user.txt"]
        assert (repo / "gen.py").read_text(encoding="utf-8") == "generated\n"

    def test_nothing_changed_is_an_error_not_an_empty_commit(self, repo: Path) -> None:
        """Committing a file identical to HEAD raises VcsError and creates no commit."""
        write(repo, "a.py", "a\n")
        commit_all(repo, "a.py")
        head_before = git(repo, "rev-parse", "HEAD")
        with pytest.raises(VcsError):
            GitRepo.open(repo).commit_paths(["a.py"], "Nothing", {})
        assert git(repo, "rev-parse", "HEAD") == head_before

    def test_a_path_that_neither_exists_nor_is_tracked_is_refused(self, repo: Path) -> None:
        """A path git has never seen and that is not on disk cannot be committed."""
        with pytest.raises(VcsError, match="neither exist nor are tracked"):
            GitRepo.open(repo).commit_paths(["ghost.py"], "Ghost", {})

    def test_an_ignored_file_autodev_wrote_is_committed(self, repo: Path) -> None:
        """Paths given are committed even when an ignore rule covers them: the caller chose them."""
        (repo / ".git" / "info" / "exclude").write_text("*.gen\n", encoding="utf-8")
        write(repo, "table.gen", "data\n")
        GitRepo.open(repo).commit_paths(["table.gen"], "Add table", {})
        assert files_in_head(repo) == ["table.gen"]

    def test_bad_trailer_key_is_refused_before_anything_is_staged(self, repo: Path) -> None:
        """A trailer key with a colon or space would corrupt the trailer block, so it is rejected up front."""
        write(repo, "a.py", "a\n")
        with pytest.raises(ValueError, match="trailer key"):
            GitRepo.open(repo).commit_paths(["a.py"], "Bad", {"Bad Key:": "x"})
        assert staged_names(repo) == []


class TestEnsureExcluded:
    def test_appends_once_and_never_touches_gitignore(self, repo: Path) -> None:
        """The pattern lands in info/exclude exactly once; .gitignore keeps its bytes."""
        gitignore = write(repo, ".gitignore", "build/")
        exclude = repo / ".git" / "info" / "exclude"
        exclude.write_text("# mine\n*.log", encoding="utf-8")
        opened = GitRepo.open(repo)

        assert opened.ensure_excluded() is True
        assert opened.ensure_excluded() is False

        assert exclude.read_text(encoding="utf-8") == (
            "# mine\n*.log\n.autodev/*\n!.autodev/workflows/\n!.autodev/commands/\n"
        )
        assert gitignore.read_text(encoding="utf-8") == "build/"
        write(repo, ".autodev/ledger.json", "{}")
        assert ".autodev" not in opened.status_porcelain()

    def test_the_old_line_is_replaced_and_workflows_and_commands_can_be_committed(self, repo: Path) -> None:
        """The `.autodev/` autodev once wrote hid everything under it; now only its state is hidden."""
        exclude = repo / ".git" / "info" / "exclude"
        exclude.write_text("*.log\n.autodev/\n", encoding="utf-8")
        opened = GitRepo.open(repo)
        assert opened.ensure_excluded() is True
        assert ".autodev/\n" not in exclude.read_text(encoding="utf-8").replace(".autodev/*", "")
        write(repo, ".autodev/ledger.json", "{}")
        write(repo, ".autodev/workflows/triage.toml", 'description = "mine"\n')
        write(repo, ".autodev/commands/fix.md", "Fix it.\n")
        shown = opened.status_porcelain()
        assert "ledger.json" not in shown and ".autodev/workflows/" in shown and ".autodev/commands/" in shown

    def test_does_not_create_a_gitignore(self, repo: Path) -> None:
        """A project without .gitignore does not get one."""
        GitRepo.open(repo).ensure_excluded()
        assert not (repo / ".gitignore").exists()

    def test_in_a_linked_worktree_uses_the_repositorys_exclude_file(self, repo: Path, tmp_path: Path) -> None:
        """From a worktree the pattern goes to the shared info/exclude, and hides .autodev there too."""
        write(repo, "a.py", "a\n")
        commit_all(repo, "a.py")
        linked = tmp_path / "linked"
        git(repo, "worktree", "add", "-q", str(linked), "-b", "side")
        opened = GitRepo.open(linked)

        assert opened.ensure_excluded() is True

        common_exclude = repo / ".git" / "info" / "exclude"
        assert ".autodev/*" in common_exclude.read_text(encoding="utf-8").splitlines()
        write(linked, ".autodev/journal", "{}")
        assert opened.status_porcelain() == ""


class TestIsIgnored:
    def test_follows_gits_ignore_rules(self, repo: Path) -> None:
        """Ignored files are ignored; plain files and tracked files matching a pattern are not."""
        write(repo, ".gitignore", "*.log\n")
        write(repo, "kept.log", "tracked anyway\n")
        git(repo, "add", "-f", "kept.log")
        opened = GitRepo.open(repo)
        assert opened.is_ignored("debug.log") is True
        assert opened.is_ignored("main.py") is False
        assert opened.is_ignored("kept.log") is False


class TestInitRepository:
    def test_creates_a_repository_on_branch_main(self, tmp_path: Path) -> None:
        """init_repository makes the directory a repository whose unborn branch is main."""
        target = tmp_path / "fresh" / "project"
        opened = init_repository(target)
        assert opened.root.resolve() == target.resolve()
        assert git(target, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
        assert opened.head_sha() is None


class TestHistory:
    def test_head_commit_of_any_directory_or_none(self, repo: Path, tmp_path: Path) -> None:
        """The commit checked out, asked from a subdirectory; None before a first commit and outside git."""
        write(repo, "src/a.txt", "a\n")
        assert vcs.head_commit(repo) is None
        commit_all(repo, "src/a.txt")
        assert vcs.head_commit(repo / "src") == git(repo, "rev-parse", "HEAD").strip()
        outside = tmp_path / "outside"
        outside.mkdir()
        assert vcs.head_commit(outside) is None
        assert vcs.head_commit(tmp_path / "missing") is None

    def test_trailer_log_newest_first_with_every_value_of_every_key(self, repo: Path) -> None:
        """Each commit touching the directory, its trailers' values per key; commits elsewhere are left out."""
        write(repo, "app/a.txt", "1\n")
        commit_all(repo, "app/a.txt", message="first\n\nReq: A-1\nModel: small")
        write(repo, "other/b.txt", "2\n")
        commit_all(repo, "other/b.txt", message="elsewhere\n\nReq: B-1")
        write(repo, "app/a.txt", "3\n")
        commit_all(repo, "app/a.txt", message="second\n\nReq: A-2\nReq: A-3")
        log = vcs.trailer_log(repo / "app", ("Req", "Model"))
        assert [(commit.trailers["Req"], commit.trailers["Model"]) for commit in log] == [
            (["A-2", "A-3"], []),
            (["A-1"], ["small"]),
        ]
        assert log[0].sha == git(repo, "rev-parse", "HEAD").strip()

    def test_no_history_is_an_empty_log(self, repo: Path, tmp_path: Path) -> None:
        """Before the first commit, outside git and for a missing directory there is nothing to read."""
        assert vcs.trailer_log(repo, ("Req",)) == []
        assert vcs.trailer_log(tmp_path, ("Req",)) == []
        assert vcs.trailer_log(tmp_path / "missing", ("Req",)) == []


class TestCommitAll:
    def test_commits_everything_as_the_given_identity_unsigned(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A laid-out project is committed whole, as the given identity, even where git would sign commits."""
        isolate_global_config(monkeypatch, tmp_path / "home")
        (tmp_path / "home" / "gitconfig").write_text("[commit]\n\tgpgsign = true\n", encoding="utf-8")
        root = tmp_path / "laid-out"
        init_repository(root)
        write(root, "SPEC.md", "# spec\n")
        write(root, "tests/test_x.py", "def test_x(): pass\n")
        sha = vcs.commit_all(root, "exercise", name="autodev bench", email="bench@autodev.invalid")
        assert sha == git(root, "rev-parse", "HEAD").strip()
        assert sorted(files_in_head(root)) == ["SPEC.md", "tests/test_x.py"]
        assert (
            git(root, "log", "-1", "--format=%an <%ae>|%s").strip() == "autodev bench <bench@autodev.invalid>|exercise"
        )
        assert git(root, "status", "--porcelain") == ""


def _runs_git(node: ast.AST) -> bool:
    """A literal argument list starting with "git": how a subprocess call would run it."""
    if not isinstance(node, (ast.List, ast.Tuple)) or not node.elts:
        return False
    first = node.elts[0]
    return isinstance(first, ast.Constant) and first.value == "git"


def test_no_module_outside_vcs_runs_git() -> None:
    """Every git command goes through autodev.vcs: no other module builds a git command line."""
    package = Path(__file__).resolve().parent.parent / "autodev"
    offenders = [
        f"{path.relative_to(package).as_posix()}:{node.lineno}"
        for path in sorted(package.rglob("*.py"))
        if path.parent.name != "vcs"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if _runs_git(node)
    ]
    assert offenders == []


@pytest.mark.req("CORE-4")
class TestHooksInAutodevsCommits:
    """Code under test can write .git/hooks; a hook that autodev's own commit ran would run what it wrote."""

    def _plant(self, repo: Path, out: Path) -> None:
        hooks = repo / git(repo, "rev-parse", "--git-path", "hooks").strip()
        hooks.mkdir(parents=True, exist_ok=True)
        hook = hooks / "pre-commit"
        hook.write_text(f"#!/bin/sh\nenv > {out}\n", encoding="utf-8")
        hook.chmod(0o755)

    def test_no_hook_runs_by_default(self, repo: Path, tmp_path: Path) -> None:
        write(repo, "a.py", "a\n")
        commit_all(repo, "a.py")
        self._plant(repo, tmp_path / "env.txt")
        write(repo, "a.py", "b\n")
        GitRepo.open(repo).commit_paths(["a.py"], "autodev: change", {})
        assert not (tmp_path / "env.txt").exists()
        assert git(repo, "log", "-1", "--format=%s").strip() == "autodev: change"

    def test_with_run_hooks_they_run_without_the_callers_credentials(
        self, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-1")
        monkeypatch.setenv("DATABASE_URL", "postgres://app:hunter2@db/app")
        monkeypatch.setenv("AUTODEV_TEST_VISIBLE", "yes")
        write(repo, "a.py", "a\n")
        commit_all(repo, "a.py")
        self._plant(repo, tmp_path / "env.txt")
        write(repo, "a.py", "b\n")
        GitRepo.open(repo).commit_paths(["a.py"], "autodev: change", {}, run_hooks=True)
        seen = (tmp_path / "env.txt").read_text(encoding="utf-8")
        assert "AUTODEV_TEST_VISIBLE=yes" in seen
        assert "sk-secret-1" not in seen and "hunter2" not in seen
