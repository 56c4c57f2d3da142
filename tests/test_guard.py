"""Paths a model writes are confined to the project and kept away from tests and control files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodev.errors import EditRejectedError
from autodev.synth.guard import PROTECTED_FILE_NAMES, check_writable, confine, is_test_path

pytestmark = pytest.mark.req("CORE-3")


@pytest.fixture
def project(repo: Path, tmp_path: Path) -> Path:
    """A real git repository with the kinds of links and files a hostile reply could aim at."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret\n")
    (repo / "src").mkdir()
    (repo / "src" / "temps.py").write_text("X = 1\n")
    (repo / "tests").mkdir()
    (repo / "tests" / "test_temps.py").write_text("def test_x(): pass\n")
    (repo / "out").symlink_to(outside, target_is_directory=True)
    (repo / "secret_link.txt").symlink_to(outside / "secret.txt")
    (repo / "dangling.py").symlink_to(outside / "missing.py")
    (repo / "loop.py").symlink_to(repo / "loop.py")
    (repo / "gitdir").symlink_to(repo / ".git", target_is_directory=True)
    (repo / "alias.py").symlink_to(repo / "src" / "temps.py")
    (repo / "src" / "sneaky.py").symlink_to(Path("..") / "tests" / "test_temps.py")
    return repo


@pytest.fixture(scope="module")
def hostile_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A project full of links that point outside it, shared by the property test's examples."""
    base = tmp_path_factory.mktemp("hostile")
    outside = base / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "file.py").write_text("x\n")
    root = base / "root"
    (root / "inside").mkdir(parents=True)
    (root / "out").symlink_to(outside, target_is_directory=True)
    (root / "inside" / "up").symlink_to(Path("..") / "..", target_is_directory=True)
    (root / "file.py").symlink_to(outside / "file.py")
    (root / "abs").symlink_to("/", target_is_directory=True)
    (root / "loop").symlink_to(root / "loop")
    (root / "dangling").symlink_to(outside / "nowhere" / "x.py")
    (root / "here").symlink_to(root, target_is_directory=True)
    yield root


class TestConfine:
    """confine(root, rel): an absolute path inside root, or EditRejectedError."""

    @pytest.mark.parametrize(
        ("rel", "reason"),
        [
            ("", "empty"),
            ("   ", "empty"),
            ("a\x00b.py", "control character"),
            ("a\nb.py", "control character"),
            (" temps.py", "space"),
            ("src\\temps.py", "backslash"),
            ("/etc/passwd", "absolute"),
            ("//server/share/x.py", "absolute"),
            ("\\\\server\\share\\x.py", "backslash"),
            ("C:/Windows/x.py", "Windows drive"),
            ("c:x.py", "Windows drive"),
            ("~/x.py", "'~'"),
            ("~root/.bashrc", "'~'"),
            ("../x.py", "'..'"),
            ("src/../../x.py", "'..'"),
            ("src/..", "'..'"),
            (".git/config", "git or autodev"),
            (".GIT/hooks/pre-commit", "git or autodev"),
            ("src/.git/x", "git or autodev"),
            (".git./config", "git or autodev"),
            (".autodev/ledger.json", "git or autodev"),
            (".Autodev/journal", "git or autodev"),
            (".", "project directory itself"),
            ("./", "directory"),
            ("src/", "directory"),
            ("src", "directory"),
            ("x" * 300 + ".py", "longer than 255 bytes"),
            ("a/" * 600 + "x.py", "longer than 1024"),
        ],
    )
    def test_rejects_unsafe_spellings(self, project: Path, rel: str, reason: str) -> None:
        """Every unsafe spelling of a path is rejected, naming the problem and suggesting a relative path."""
        with pytest.raises(EditRejectedError) as caught:
            confine(project, rel)
        assert reason in str(caught.value)
        assert "relative path such as 'src/module.py'" in str(caught.value)

    @pytest.mark.parametrize(
        ("rel", "reason"),
        [
            ("out/x.py", "outside the project"),
            ("out/secret.txt", "outside the project"),
            ("secret_link.txt", "outside the project"),
            ("dangling.py", "outside the project"),
            ("loop.py", "cannot be resolved"),
            ("gitdir/config", "into .git"),
            ("src/temps.py/inner.py", "is a file, not a directory"),
        ],
    )
    def test_rejects_paths_that_resolve_badly(self, project: Path, rel: str, reason: str) -> None:
        """Symbolic links cannot lead a write outside the project or into .git, nor can a file hold a file."""
        with pytest.raises(EditRejectedError, match=reason):
            confine(project, rel)

    def test_rejects_a_fifo(self, project: Path) -> None:
        """A named pipe is not a file to write: opening it would block the daemon."""
        os.mkfifo(project / "pipe.py")
        with pytest.raises(EditRejectedError, match="not a regular file"):
            confine(project, "pipe.py")

    @pytest.mark.parametrize(
        ("rel", "expected"),
        [
            ("temps.py", "temps.py"),
            ("./src//temps.py", "src/temps.py"),
            ("new/deep/dir/module.py", "new/deep/dir/module.py"),
            ("..hidden.py", "..hidden.py"),
            ("a..b.py", "a..b.py"),
            ("src/.github/workflow.yml", "src/.github/workflow.yml"),
            ("alias.py", "src/temps.py"),
        ],
    )
    def test_returns_the_resolved_file_inside_root(self, project: Path, rel: str, expected: str) -> None:
        """Safe paths come back absolute and resolved: a link inside the project gives its target."""
        assert confine(project, rel) == project.resolve() / expected

    def test_accepts_a_root_given_through_a_symlink(self, project: Path, tmp_path: Path) -> None:
        """A root reached through a symbolic link still confines to the real project directory."""
        link = tmp_path / "project_link"
        link.symlink_to(project, target_is_directory=True)
        assert confine(link, "src/temps.py") == project.resolve() / "src" / "temps.py"

    _PIECES = st.sampled_from(
        [
            *["..", ".", "", "out", "up", "inside", "file.py", "abs", "loop", "dangling", "here", "x.py"],
            *[".git", "~", "C:", "\\", "/", "tmp", "sub", "passwd", "etc"],
        ]
    )

    @settings(max_examples=400, deadline=None)
    @given(rel=st.one_of(st.text(max_size=40), st.lists(_PIECES, max_size=8).map("/".join)))
    def test_never_returns_a_path_outside_root(self, hostile_root: Path, rel: str) -> None:
        """For any string, with real links pointing outside, the result is a real file path inside root."""
        base = hostile_root.resolve()
        try:
            result = confine(hostile_root, rel)
        except EditRejectedError:
            return
        assert result.is_absolute()
        assert result != base
        assert result.is_relative_to(base)
        assert Path(os.path.realpath(result)) == result


class TestIsTestPath:
    """is_test_path(rel): whether a path belongs to the tests."""

    @pytest.mark.parametrize(
        "rel",
        [
            "test_temps.py",
            "temps_test.py",
            "src/pkg/test_models.py",
            "tests/helpers.py",
            "tests/data/input.txt",
            "src/tests/x.py",
            "test/x.py",
            "Tests/x.py",
            "TEST_temps.py",
            "conftest.py",
            "sub/conftest.py",
            "tests.py",
            "./tests//x.py",
        ],
    )
    def test_recognizes_tests(self, rel: str) -> None:
        """pytest's file patterns, conftest.py, Django's tests.py and anything in a tests directory."""
        assert is_test_path(rel)

    @pytest.mark.parametrize(
        "rel",
        [
            "temps.py",
            "testing.py",
            "attest.py",
            "src/contest.py",
            "test_data.json",
            "tests",
            "mytests/x.py",
            "",
        ],
    )
    def test_leaves_other_files_alone(self, rel: str) -> None:
        """Names that merely contain "test" are ordinary files."""
        assert not is_test_path(rel)


class TestCheckWritable:
    """check_writable(root, rel, protected=...): the normalized path, if the model may write it."""

    def test_returns_the_normalized_relative_path(self, project: Path) -> None:
        """A writable path comes back normalized, as a posix path relative to the project."""
        assert check_writable(project, "./src//temps.py") == "src/temps.py"
        assert check_writable(project, "new_module.py") == "new_module.py"

    @pytest.mark.parametrize("name", sorted(PROTECTED_FILE_NAMES))
    def test_rejects_protected_file_names_at_any_depth(self, project: Path, name: str) -> None:
        """Files that change how tests run or how autodev works are off limits, wherever they are."""
        for rel in (name, f"sub/{name}", name.upper()):
            with pytest.raises(EditRejectedError, match="controls how the tests run or how autodev works"):
                check_writable(project, rel)

    @pytest.mark.parametrize("rel", ["tests/test_temps.py", "test_new.py", "src/tests/helper.py", "a_test.py"])
    def test_rejects_test_files(self, project: Path, rel: str) -> None:
        """The tests are the specification: the model is told to change the code instead."""
        with pytest.raises(EditRejectedError, match="change the code, not the tests"):
            check_writable(project, rel)

    def test_rejects_paths_listed_as_protected(self, project: Path) -> None:
        """Spec and test files passed in ``protected`` cannot be written, however the path is spelled."""
        protected = ["SPEC.md", "./specs/", "checks/acceptance.py"]
        for rel in ("SPEC.md", "./spec.md", "specs/api.md", "checks//acceptance.py"):
            with pytest.raises(EditRejectedError, match="tests or specification"):
                check_writable(project, rel, protected=protected)
        assert check_writable(project, "specs_helper.py", protected=protected) == "specs_helper.py"

    def test_rejects_a_link_that_leads_into_the_tests(self, project: Path) -> None:
        """A symbolic link inside the project cannot be used to overwrite a test file."""
        with pytest.raises(EditRejectedError, match="not the tests"):
            check_writable(project, "src/sneaky.py")

    def test_rejects_what_confine_rejects(self, project: Path) -> None:
        """Everything unsafe for confine is unsafe for check_writable too."""
        with pytest.raises(EditRejectedError, match=r"'\.\.'"):
            check_writable(project, "../escape.py")
        with pytest.raises(EditRejectedError, match="outside the project"):
            check_writable(project, "out/x.py")
