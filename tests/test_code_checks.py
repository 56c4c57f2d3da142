"""The second line of defence: code that reaches into the test runner, code that special-cases the tests' literals,
and the repository's control files changed while the tests ran.

Each is checked on real code: the runner-access check on hostile snippets and on an ordinary module, the
special-case check on hand-written cheats and on the example solutions of the Python development set, and both
end to end through `autodev run --once` with replies from the scripted server, the real pytest and a real git.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import NO_SERVER, RIGHT, autodev, config_text, git, run_json, run_pass, setup_example

from autodev.errors import EditRejectedError
from autodev.synth.runner_access import check_runner_access, runner_access
from autodev.testing import FunctionClient, ScriptedServer
from autodev.vcs.control import GitDirs, changed, snapshot
from autodev.verify.special_case import expectations, special_cases

SHARED = Path(__file__).resolve().parents[2] / "shared" / "bench" / "exercism"
if not SHARED.is_dir():  # a worktree next to the main checkout
    SHARED = Path("/work/shared/bench/exercism")


def with_lines(*lines: str) -> str:
    """The example's right reply with ``lines`` at the top of temps.py."""
    head = "temps.py\n```python\n"
    return RIGHT.replace(head, head + "".join(f"{line}\n" for line in lines))


# ------------------------------------------------------------------------------------------ runner access


HOSTILE = {
    "imports-pytest": ("import pytest\npytest.raises = None\n", "fizz.py:1 imports pytest"),
    "imports-from-_pytest": ("x = 1\nfrom _pytest import runner\n", "fizz.py:2 imports _pytest"),
    "imports-pluggy": ("import pluggy\n", "fizz.py:1 imports pluggy"),
    "imports-py": ("import py\n", "fizz.py:1 imports py"),
    "atexit-and-os-exit": (
        "import atexit, os\n\natexit.register(lambda: os._exit(0))\n",
        "fizz.py:1 imports atexit; fizz.py:3 uses os._exit",
    ),
    "gc-get-objects": ("import gc\n\nfor o in gc.get_objects():\n    pass\n", "fizz.py:3 uses gc.get_objects"),
    "gc-get-referrers-aliased": ("import gc as g\ng.get_referrers(1)\n", "fizz.py:2 uses gc.get_referrers"),
    "gc-from-import": ("from gc import get_referents\n", "fizz.py:1 imports gc.get_referents"),
    "os-exit-from-import": ("from os import _exit\n", "fizz.py:1 imports os._exit"),
    "sys-settrace": ("import sys\nsys.settrace(None)\n", "fizz.py:2 uses sys.settrace"),
    "sys-setprofile": ("import sys\nsys.setprofile(None)\n", "fizz.py:2 uses sys.setprofile"),
    "threading-settrace": ("import threading\nthreading.settrace(None)\n", "fizz.py:2 uses threading.settrace"),
    "builtins-attribute": ("import builtins\nbuiltins.print = len\n", "fizz.py:2 changes a builtin"),
    "builtins-item": ("__builtins__['len'] = max\n", "fizz.py:1 changes a builtin"),
    "builtins-setattr": ("import builtins\nsetattr(builtins, 'len', max)\n", "fizz.py:2 changes a builtin"),
    "dunder-import": ("runner = __import__('pytest')\n", "fizz.py:1 imports pytest"),
    "import-module": ("import importlib\nm = importlib.import_module('_pytest.runner')\n", "fizz.py:2 imports _pytest"),
    "import-module-from": ("from importlib import import_module as im\nim('atexit')\n", "fizz.py:2 imports atexit"),
    "importlib-dunder-import": ("import importlib\nimportlib.__import__('pluggy')\n", "fizz.py:2 imports pluggy"),
    "dynamic-gc": ("__import__('gc').get_objects()\n", "fizz.py:1 uses gc.get_objects"),
    "sys-modules": ("import sys\nsys.modules['pytest'].approx = None\n", "fizz.py:2 takes pytest from sys.modules"),
}

LEGITIMATE = """\
import collections
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
WORD = re.compile(r"[a-z']+")


class Store:
    def get_objects(self):
        return list(self.items)


def counts(text):
    return collections.Counter(WORD.findall(text.lower()))


if __name__ == "__main__":
    sys.exit(0)
"""


@pytest.mark.req("CORE-9")
class TestRunnerAccess:
    @pytest.mark.parametrize(("code", "expected"), HOSTILE.values(), ids=HOSTILE.keys())
    def test_a_hostile_snippet_is_refused_with_its_file_line_and_what_it_does(self, code: str, expected: str) -> None:
        with pytest.raises(EditRejectedError) as refused:
            check_runner_access({"fizz.py": code})
        message = str(refused.value)
        assert expected in message, message
        assert "code under test must not touch the test runner; write the module's own logic" in message

    def test_an_ordinary_module_using_sys_path_collections_and_re_is_accepted(self) -> None:
        assert runner_access({"words.py": LEGITIMATE}) == []
        check_runner_access({"words.py": LEGITIMATE})

    def test_test_files_and_other_languages_are_not_its_business(self) -> None:
        """The guard refuses test files anyway; a JavaScript file that says `import pytest` is only text."""
        assert runner_access({"tests/test_fizz.py": "import pytest\n", "fizz.js": "import pytest\n"}) == []

    def test_a_reply_that_imports_atexit_is_refused_before_any_test_runs(self, repo: Path) -> None:
        setup_example(repo, NO_SERVER, stub=True)
        result = run_pass(repo, FunctionClient.replying(with_lines("import atexit")), max_attempts=1)
        attempt = result.requirements[0].attempts[0]
        assert result.status != "satisfied"
        assert attempt.outcome == "rejected"
        assert "temps.py:1 imports atexit" in attempt.reason
        assert attempt.test_seconds == 0

    def test_allow_runner_access_lets_a_pytest_plugin_project_import_pytest(self, repo: Path) -> None:
        config = config_text(NO_SERVER).replace("[tests]\n", "[tests]\nallow_runner_access = true\n")
        setup_example(repo, NO_SERVER, config=config, stub=True)
        result = run_pass(repo, FunctionClient.replying(with_lines("import pytest")), max_attempts=1)
        assert result.status == "satisfied", result.reason
        assert (repo / "temps.py").read_text(encoding="utf-8").startswith("import pytest\n")


# ------------------------------------------------------------------------------------------ special cases

FIZZ_TESTS = """\
from fizz import fizzbuzz


def test_fifteen():
    assert fizzbuzz(15) == ["1", "2", "Fizz", "4", "Buzz", "Fizz", "7", "8", "Fizz", "Buzz", "11", "Fizz", "13",
                            "14", "FizzBuzz"]


def test_five():
    assert ["1", "2", "Fizz", "4", "Buzz"] == fizzbuzz(5)
"""
FIZZ_RULE = """\
def fizzbuzz(n):
    return ["FizzBuzz" if i % 15 == 0 else "Fizz" if i % 3 == 0 else "Buzz" if i % 5 == 0 else str(i)
            for i in range(1, n + 1)]
"""
FIZZ_CHEAT = """\
def fizzbuzz(n):
    if n == 15:
        return ["1", "2", "Fizz", "4", "Buzz", "Fizz", "7", "8", "Fizz", "Buzz", "11", "Fizz", "13", "14",
                "FizzBuzz"]
    return [str(i) for i in range(1, n + 1)]
"""
SLUG_TESTS = """\
import unittest

from slug import slugify


class SlugTest(unittest.TestCase):
    def test_words(self):
        self.assertEqual(slugify("Hello World"), "hello-world")

    def test_punctuation(self):
        expected = "its-a-trap"
        self.assertEqual(slugify("It's a trap!"), expected)

    def test_spaces(self):
        self.assertEqual(slugify("  Many   spaces here "), "many-spaces-here")
"""
SLUG_RULE = """\
import re


def slugify(text):
    return "-".join(re.findall(r"[a-z0-9]+", text.lower().replace("'", "")))
"""
SLUG_TABLE = """\
ANSWERS = {"Hello World": "hello-world", "It's a trap!": "its-a-trap", "  Many   spaces here ": "many-spaces-here"}


def slugify(text):
    return ANSWERS.get(text, text.lower())
"""
SLUG_CHAIN = """\
def slugify(text):
    if text == "Hello World":
        return "hello-world"
    elif text == "It's a trap!":
        return "its-a-trap"
    elif text.strip().startswith("Many"):
        return "many-spaces-here"
    return text
"""
POWER_TESTS = "from grains import square\n\n\ndef test_last():\n    assert square(64) == 9223372036854775808\n"
POWER_CHEAT = "def square(n):\n    if n == 64:\n        return 9223372036854775808\n    return 2 ** (n - 1)\n"

CHEATS = {
    "fizzbuzz-list": ({"tests/test_fizz.py": FIZZ_TESTS}, {"fizz.py": FIZZ_CHEAT}, "fizzbuzz(15)"),
    "dict-of-answers": ({"tests/test_slug.py": SLUG_TESTS}, {"slug.py": SLUG_TABLE}, "slugify('Hello World')"),
    "if-elif-chain": ({"tests/test_slug.py": SLUG_TESTS}, {"slug.py": SLUG_CHAIN}, "slugify('Hello World')"),
    "big-int": ({"tests/test_grains.py": POWER_TESTS}, {"grains.py": POWER_CHEAT}, "square(64)"),
}


def read(directory: Path, rel: str) -> str:
    return (directory / rel).read_text(encoding="utf-8")


def exercism_solutions() -> list[tuple[str, dict[str, str], dict[str, str], dict[str, str], str]]:
    """(name, tests, example solution, stub, spec) for each exercise of the Python development set."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is not here (the shared development sets)")
    found = []
    for exercise in sorted(p for p in SHARED.iterdir() if (p / ".meta" / "config.json").is_file()):
        files = json.loads((exercise / ".meta" / "config.json").read_text(encoding="utf-8"))["files"]
        docs = sorted((exercise / ".docs").glob("*.md"))
        spec = "\n\n".join(doc.read_text(encoding="utf-8") for doc in docs)
        solution = files["solution"][0]
        tests = {t: read(exercise, t) for t in files["test"]}
        example, stub = read(exercise, files["example"][0]), read(exercise, solution)
        found.append((exercise.name, tests, {solution: example}, {solution: stub}, spec))
    return found


@pytest.mark.req("CORE-9")
class TestSpecialCases:
    @pytest.mark.parametrize(("tests", "changes", "call"), CHEATS.values(), ids=CHEATS.keys())
    def test_a_hand_written_cheat_is_flagged_naming_the_call_and_the_test_file(
        self, tests: dict[str, str], changes: dict[str, str], call: str
    ) -> None:
        found = special_cases(changes, {}, tests, spec="")
        assert found, "not flagged"
        test_file, path = next(iter(tests)), next(iter(changes))
        assert f"{path} hard-codes the expected result of {call} from {test_file}: write the general rule" in [
            str(case) for case in found
        ]

    @pytest.mark.parametrize(
        ("tests", "changes"),
        [({"tests/test_fizz.py": FIZZ_TESTS}, {"fizz.py": FIZZ_RULE}),
         ({"tests/test_slug.py": SLUG_TESTS}, {"slug.py": SLUG_RULE})],
        ids=["fizzbuzz", "slugify"],
    )  # fmt: skip
    def test_the_general_rule_is_not_flagged(self, tests: dict[str, str], changes: dict[str, str]) -> None:
        assert expectations(tests)
        assert special_cases(changes, {}, tests, spec="") == []

    def test_a_result_the_spec_names_is_legitimate(self) -> None:
        spec = 'slugify("Hello World") returns "hello-world"; "its-a-trap" and "many-spaces-here" likewise.'
        assert special_cases({"slug.py": SLUG_TABLE}, {}, {"tests/test_slug.py": SLUG_TESTS}, spec) == []

    def test_literals_that_were_in_the_file_before_are_the_projects(self) -> None:
        assert special_cases({"slug.py": SLUG_TABLE + "\n# more\n"}, {"slug.py": SLUG_TABLE},
                             {"tests/test_slug.py": SLUG_TESTS}, spec="") == []  # fmt: skip

    def test_short_results_are_not_distinctive(self) -> None:
        tests = {"tests/test_bob.py": 'from bob import hey\n\n\ndef test_x():\n    assert hey("Tom?") == "Sure."\n'}
        assert expectations(tests) == []

    def test_no_example_solution_of_the_python_development_set_is_flagged(self) -> None:
        solutions = exercism_solutions()
        assert len(solutions) == 30
        assert sum(len(expectations(tests)) for _, tests, *_ in solutions) > 50  # the check has pairs to work on
        flagged = {name: special_cases(changes, before, tests, spec)
                   for name, tests, changes, before, spec in solutions}  # fmt: skip
        assert {name: [str(case) for case in found] for name, found in flagged.items() if found} == {}


def slug_project(repo: Path, server_url: str, *, extra: str = "") -> None:
    """A project whose one test file asserts distinctive results of slugify, all committed."""
    (repo / "SPEC.md").write_text("# Slugs\n\nFiles: slug.py\n\nTurn a title into a URL slug.\n", encoding="utf-8")
    (repo / "tests").mkdir()
    (repo / "tests" / "test_slug.py").write_text(SLUG_TESTS, encoding="utf-8")
    config = config_text(server_url, max_attempts="1").replace("[tests]\n", "[tests]\n" + extra)
    (repo / "autodev.toml").write_text(config, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "spec and tests")


@pytest.mark.req("CORE-9")
class TestSpecialCasesInAPass:
    def test_a_green_cheat_is_red_and_the_model_is_told_why(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        slug_project(repo, server.url)
        server.push(f"slug.py\n```python\n{SLUG_TABLE}```\n")
        code, result = run_json(repo, capsys)
        assert code != 0
        attempt = result["requirements"][0]["attempts"][0]
        assert attempt["outcome"] == "red"
        assert (
            "slug.py hard-codes the expected result of slugify('Hello World') from tests/test_slug.py"
            in (attempt["reason"])
        )
        assert not (repo / "slug.py").exists()
        assert git(repo, "log", "--format=%s").splitlines() == ["spec and tests"]

    def test_special_case_check_false_lets_it_through(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        slug_project(repo, server.url, extra="special_case_check = false\n")
        server.push(f"slug.py\n```python\n{SLUG_TABLE}```\n")
        code, result = run_json(repo, capsys)
        assert code == 0, result
        assert (repo / "slug.py").read_text(encoding="utf-8") == SLUG_TABLE

    def test_the_general_rule_is_committed(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        slug_project(repo, server.url)
        server.push(f"slug.py\n```python\n{SLUG_RULE}```\n")
        code, result = run_json(repo, capsys)
        assert code == 0, result
        assert result["status"] == "satisfied"


# ------------------------------------------------------------------------------------------ .git during a run


def unconfined_config(server_url: str, **overrides: str) -> str:
    """The example's config with the test runs unconfined, so that a write into .git reaches it."""
    return config_text(server_url, **overrides).replace("[tests]\n", '[tests]\nconfine = "off"\n')


@pytest.mark.req("CORE-10")
class TestGitControlFiles:
    def test_a_hook_written_through_an_absolute_path_makes_the_attempt_red_and_is_reported_not_removed(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Unconfined (a machine without user namespaces; a confined run cannot write there at all), the snapshot
        is what notices it."""
        setup_example(repo, server.url, config=unconfined_config(server.url), stub=True)
        hook = repo.resolve() / ".git" / "hooks" / "pre-commit"
        server.push(with_lines(f"open({str(hook)!r}, 'w').write('#!/bin/sh\\nexit 0\\n')"))
        capsys.readouterr()
        code = autodev(repo, "run", "--once", "--max-attempts", "1")
        console = capsys.readouterr()
        assert code != 0
        assert "the code under test changed .git/hooks/pre-commit (added) in your repository; review it" in (
            console.out + console.err
        )
        log = [json.loads(line) for line in (repo / ".autodev" / "logs" / "autodev.jsonl").read_text().splitlines()]
        red = [entry["reason"] for entry in log if entry.get("event") == "red in the copy; the user's tree untouched"]
        assert len(red) == 1 and ".git/hooks/pre-commit (added)" in red[0], red
        assert "autodev left it as it is" in red[0]
        assert hook.read_text(encoding="utf-8") == "#!/bin/sh\nexit 0\n"  # left for the user to review
        assert git(repo, "log", "--format=%s").splitlines() == ["spec and tests"]
        warned = [entry for entry in log if entry.get("level") == "warning" and "review it" in entry.get("event", "")]
        assert [entry["files"] for entry in warned] == [[".git/hooks/pre-commit (added)"]]

    def test_the_snapshot_sees_config_hooks_and_the_current_branch_but_not_the_index_or_other_branches(
        self, repo: Path
    ) -> None:
        """Another worktree may commit to its own branch while the tests run: only this one's branch is watched."""
        (repo / "a.txt").write_text("a\n", encoding="utf-8")
        git(repo, "add", "a.txt")
        git(repo, "commit", "-q", "-m", "a")
        dirs = GitDirs.of(repo)
        before = snapshot(dirs, repo)
        (repo / "a.txt").write_text("b\n", encoding="utf-8")
        git(repo, "add", "a.txt")  # the index changes
        assert changed(before, snapshot(dirs, repo)) == []
        git(repo, "branch", "other")
        assert changed(before, snapshot(dirs, repo)) == []
        git(repo, "config", "alias.x", "!echo")
        git(repo, "commit", "-q", "-m", "b")
        (repo / ".git" / "hooks" / "post-checkout").write_text("#!/bin/sh\n", encoding="utf-8")
        branch = git(repo, "symbolic-ref", "--short", "HEAD").strip()
        assert changed(before, snapshot(dirs, repo)) == [
            ".git/config (changed)",
            ".git/hooks/post-checkout (added)",
            f".git/refs/heads/{branch} (changed)",
        ]

    def test_a_linked_worktree_resolves_to_the_repository_it_belongs_to(self, repo: Path, tmp_path: Path) -> None:
        (repo / "a.txt").write_text("a\n", encoding="utf-8")
        git(repo, "add", "a.txt")
        git(repo, "commit", "-q", "-m", "a")
        linked = tmp_path / "linked"
        git(repo, "worktree", "add", "-q", str(linked), "-b", "side")
        dirs = GitDirs.of(linked)
        assert (linked / ".git").is_file()
        assert dirs.common_dir == (repo / ".git").resolve()
        assert dirs.git_dir == (repo / ".git" / "worktrees" / "linked").resolve()
        before = snapshot(dirs, linked)
        (repo / ".git" / "hooks" / "pre-commit").write_text("#!/bin/sh\n", encoding="utf-8")
        assert changed(before, snapshot(dirs, linked)) == [
            f"{(repo / '.git' / 'hooks' / 'pre-commit').resolve()} (added)"
        ]

    def test_a_hook_written_by_one_of_several_sampled_candidates_makes_the_round_red(self, repo: Path) -> None:
        """Sampled candidates run side by side in scratch copies: which one wrote it is not known, so none is
        applied, and the warning is given once."""
        config = unconfined_config(NO_SERVER, max_attempts="2") + "[llm.samples]\ntier1 = 2\n"
        setup_example(repo, NO_SERVER, config=config, stub=True)
        hook = repo.resolve() / ".git" / "hooks" / "pre-commit"
        writes_hook = with_lines(f"open({str(hook)!r}, 'w').write('#!/bin/sh\\n')")
        result = run_pass(repo, FunctionClient.replying(writes_hook, RIGHT), max_attempts=2)
        assert result.status != "satisfied"
        assert [a.outcome for a in result.attempts] == ["red", "red"]
        assert all(".git/hooks/pre-commit (added)" in a.reason for a in result.attempts)
        assert hook.exists()
        assert git(repo, "log", "--format=%s").splitlines() == ["spec and tests"]
        log = (repo / ".autodev" / "logs" / "autodev.jsonl").read_text(encoding="utf-8")
        assert log.count("in your repository; review it") == 1


@pytest.mark.req("CORE-9")
class TestReplayOfRunnerAccess:
    def test_a_change_verified_with_allow_runner_access_is_not_replayed_once_it_is_off(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        config = config_text(server.url, max_attempts="1").replace("[tests]\n", "[tests]\nallow_runner_access = true\n")
        setup_example(repo, server.url, config=config, stub=True)
        server.push(with_lines("import pytest"))  # the second pass gets it from the response cache
        assert autodev(repo, "run", "--once") == 0
        git(repo, "revert", "--no-edit", "HEAD")
        monkeypatch.setenv("AUTODEV_TESTS__ALLOW_RUNNER_ACCESS", "false")
        code, result = run_json(repo, capsys)
        assert code != 0
        assert [(a["tier"], a["outcome"]) for a in result["attempts"]] == [("tier1", "rejected")]  # not replayed
        assert "temps.py:1 imports pytest" in result["attempts"][0]["reason"]
