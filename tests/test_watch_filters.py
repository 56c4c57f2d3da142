"""Which paths may trigger a pass: watch patterns, fixed ignores, virtualenvs and the project's .gitignore."""

from __future__ import annotations

from pathlib import Path

import pytest

from autodev.watch.filters import PathFilter, read_gitignores

pytestmark = pytest.mark.req("LOOP-1")

DEFAULT_PATTERNS = ("*.md", "tests/**")


def touch(root: Path, rel: str, data: bytes = b"x") -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


class TestPathFilter:
    @pytest.mark.parametrize(
        "rel",
        ["SPEC.md", "docs/design.md", "a/b/c/notes.md", "tests/test_x.py", "tests/unit/data/fixture.json"],
    )
    def test_watch_patterns_match_with_gitignore_syntax(self, tmp_path: Path, rel: str) -> None:
        """`*.md` matches at any depth; `tests/**` matches everything under the root's tests directory."""
        assert PathFilter(tmp_path, DEFAULT_PATTERNS).is_relevant(rel)

    @pytest.mark.parametrize("rel", ["src/app.py", "sub/tests/test_x.py", "README.txt", "tests"])
    def test_paths_outside_the_patterns_are_not_relevant(self, tmp_path: Path, rel: str) -> None:
        """Code files, a nested tests directory and the bare directory name do not match."""
        assert not PathFilter(tmp_path, DEFAULT_PATTERNS).is_relevant(rel)

    def test_negated_watch_pattern_takes_paths_back_out(self, tmp_path: Path) -> None:
        """`!pattern` in watch_patterns excludes, as in .gitignore."""
        path_filter = PathFilter(tmp_path, ("tests/**", "!tests/fixtures/**"))
        assert path_filter.is_relevant("tests/test_x.py")
        assert not path_filter.is_relevant("tests/fixtures/big.json")

    @pytest.mark.parametrize(
        "rel",
        [
            ".git/COMMIT_EDITMSG.md",
            ".autodev/notes.md",
            ".venv/lib/README.md",
            "venv/README.md",
            "lib/python3.11/site-packages/pkg/README.md",
            "tests/__pycache__/test_x.cpython-311.pyc",
            "tests/.pytest_cache/README.md",
            ".pytest_cache/README.md",
            ".mypy_cache/x.md",
            ".ruff_cache/README.md",
            "tests/.hypothesis/examples/x",
            "node_modules/pkg/README.md",
            "pytest-cache-files-x1y2z3/README.md",
        ],
    )
    def test_tool_directories_are_always_ignored(self, tmp_path: Path, rel: str) -> None:
        """Files under tool and cache directories never trigger, even where a pattern matches them."""
        path_filter = PathFilter(tmp_path, DEFAULT_PATTERNS)
        assert not path_filter.is_relevant(rel)
        assert path_filter.is_ignored(rel)

    @pytest.mark.parametrize("rel", ["autodev.egg-info/README.md", "tests/pkg.egg-info/SOURCES.txt"])
    def test_setuptools_metadata_directories_are_ignored(self, tmp_path: Path, rel: str) -> None:
        """NAME.egg-info is rewritten by every `pip install -e .`; its files never trigger a pass."""
        path_filter = PathFilter(tmp_path, ("*.md", "tests/**"))
        assert not path_filter.is_relevant(rel)
        assert path_filter.is_ignored(rel.rsplit("/", 1)[0], is_dir=True)

    @pytest.mark.parametrize("rel", ["env/notes.md", "build/README.md", "dist/CHANGES.md", "app/env/SPEC.md"])
    def test_directories_a_project_may_name_its_own_are_watched(self, tmp_path: Path, rel: str) -> None:
        """env/, build/ and dist/ are tool names the project may also use itself: edits there are seen."""
        assert PathFilter(tmp_path, DEFAULT_PATTERNS).is_relevant(rel)

    @pytest.mark.parametrize(
        "rel",
        [
            ".SPEC.md.swp",
            "tests/.test_x.py.swo",
            "SPEC.md~",
            "tests/.#test_x.py",
            "#SPEC.md#",
            "tests/4913",
            "SPEC.md___jb_tmp___",
            "tests/test_x.py___jb_old___",
            "tests/.test_x.py.0123456789ab.autodev-tmp",
        ],
    )
    def test_editor_and_autodev_temporary_files_are_ignored(self, tmp_path: Path, rel: str) -> None:
        """Swap, backup, lock and safe-write files of vim, emacs and JetBrains, and autodev's own temp files."""
        assert not PathFilter(tmp_path, ("*", "tests/**")).is_relevant(rel)

    def test_virtualenv_under_any_name_is_ignored(self, tmp_path: Path) -> None:
        """A directory with pyvenv.cfg is a virtualenv, whatever it is called."""
        touch(tmp_path, "tests/myenv/pyvenv.cfg")
        touch(tmp_path, "tests/myenv/lib/notes.md")
        path_filter = PathFilter(tmp_path, DEFAULT_PATTERNS)
        assert not path_filter.is_relevant("tests/myenv/lib/notes.md")
        assert path_filter.is_ignored("tests/myenv", is_dir=True)
        assert path_filter.is_relevant("tests/test_x.py")

    def test_config_file_is_always_relevant(self, tmp_path: Path) -> None:
        """autodev.toml at the root is relevant even when no pattern matches and .gitignore lists it."""
        path_filter = PathFilter(tmp_path, (), {"": ["autodev.toml"]})
        assert path_filter.is_config("autodev.toml")
        assert path_filter.is_relevant("autodev.toml")
        assert not path_filter.is_config("sub/autodev.toml")
        assert not path_filter.is_relevant("sub/autodev.toml")

    def test_root_gitignore_applies_at_any_depth(self, tmp_path: Path) -> None:
        """Unanchored .gitignore patterns match in every directory; anchored ones only at the root."""
        path_filter = PathFilter(tmp_path, DEFAULT_PATTERNS, {"": ["build/", "/scratch.md", "*.generated.md"]})
        assert not path_filter.is_relevant("build/out.md")
        assert not path_filter.is_relevant("tests/build/out.py")
        assert not path_filter.is_relevant("scratch.md")
        assert path_filter.is_relevant("docs/scratch.md")
        assert not path_filter.is_relevant("docs/api.generated.md")

    def test_nested_gitignore_applies_below_its_directory_and_overrides(self, tmp_path: Path) -> None:
        """A deeper .gitignore matches relative to its directory and wins over the root's rules."""
        path_filter = PathFilter(
            tmp_path,
            DEFAULT_PATTERNS,
            {"": ["*.log.md"], "tests": ["/out/", "!keep.log.md"]},
        )
        assert not path_filter.is_relevant("tests/out/result.py")
        assert path_filter.is_relevant("out/result.md")
        assert path_filter.is_relevant("tests/keep.log.md")
        assert not path_filter.is_relevant("docs/other.log.md")

    def test_excluded_directory_cannot_be_reincluded(self, tmp_path: Path) -> None:
        """As in git: once a directory is ignored, a negation for a file inside it has no effect."""
        path_filter = PathFilter(tmp_path, DEFAULT_PATTERNS, {"": ["tests/generated/", "!tests/generated/keep.py"]})
        assert not path_filter.is_relevant("tests/generated/keep.py")

    def test_load_reads_gitignores_and_info_exclude(self, tmp_path: Path) -> None:
        """The project's .gitignore files (root and nested) and .git/info/exclude are all honoured."""
        touch(tmp_path, ".gitignore", b"drafts/\n")
        touch(tmp_path, "tests/.gitignore", b"snapshots/\n")
        touch(tmp_path, ".git/info/exclude", b"private.md\n")
        path_filter = PathFilter.load(tmp_path, DEFAULT_PATTERNS)
        assert not path_filter.is_relevant("drafts/idea.md")
        assert not path_filter.is_relevant("tests/snapshots/a.txt")
        assert not path_filter.is_relevant("private.md")
        assert path_filter.is_relevant("public.md")

    def test_root_gitignore_overrides_info_exclude(self, tmp_path: Path) -> None:
        """git reads .git/info/exclude before .gitignore, so a .gitignore negation wins."""
        touch(tmp_path, ".gitignore", b"!private.md\n")
        touch(tmp_path, ".git/info/exclude", b"private.md\n")
        assert PathFilter.load(tmp_path, DEFAULT_PATTERNS).is_relevant("private.md")

    def test_gitignore_inside_an_ignored_directory_is_not_read(self, tmp_path: Path) -> None:
        """A .gitignore inside an ignored tree (here a vendored package) cannot un-ignore anything."""
        touch(tmp_path, ".gitignore", b"vendor/\n")
        touch(tmp_path, "vendor/.gitignore", b"!*\n")
        touch(tmp_path, "node_modules/pkg/.gitignore", b"*.md\n")
        assert set(read_gitignores(tmp_path)) == {""}

    def test_walk_relevant_lists_exactly_the_relevant_files(self, tmp_path: Path) -> None:
        """The reconcile walk agrees with is_relevant and skips ignored trees."""
        for rel in [
            "SPEC.md",
            "autodev.toml",
            "docs/guide.md",
            "tests/test_a.py",
            "tests/__pycache__/test_a.pyc",
            "src/app.py",
            ".git/HEAD.md",
            ".venv/README.md",
            "env/pyvenv.cfg",
            "env/README.md",
            "drafts/idea.md",
            ".SPEC.md.swp",
        ]:
            touch(tmp_path, rel)
        touch(tmp_path, ".gitignore", b"drafts/\n")
        path_filter = PathFilter.load(tmp_path, DEFAULT_PATTERNS)
        assert list(path_filter.walk_relevant()) == ["SPEC.md", "autodev.toml", "docs/guide.md", "tests/test_a.py"]
        assert list(path_filter.walk_relevant("tests")) == ["tests/test_a.py"]
        assert list(path_filter.walk_relevant(".venv")) == []
