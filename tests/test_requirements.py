"""Several requirements in one pass: dependency order, one commit each, rebuilds of what changed, the ledger.

Real git and real pytest collection (which tests prove which requirement). The passes run in process with the
model a function; the tests' outcomes come from math_outcomes, which reads the files, except where the test is
about what real runs report. One test runs the CLI over HTTP with real pytest end to end.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import NO_SERVER, git, run_pass

from autodev.cli.main import run_cli
from autodev.results import PassResult
from autodev.testing import FunctionClient, FunctionTestRunner, Outcomes, ScriptedServer
from autodev.verify.junit import TestOutcome

pytestmark = pytest.mark.req("SPEC-2")

SPEC = """# Tiny math

A library of small functions, one module each.

## MATH-1: Add
Depends: MATH-3
Files: add.py

Acceptance:
- add(a, b) returns a + b

## MATH-2: Multiply
Files: mul.py

Acceptance:
- mul(a, b) returns a * b

## MATH-3: Negate
Files: neg.py

Acceptance:
- neg(a) returns -a
"""

TESTS = {
    "tests/test_add.py": 'import pytest\n\nfrom add import add\n\n\n@pytest.mark.req("MATH-1")\ndef test_add():\n'
    "    assert add(2, 3) == 5\n",
    "tests/test_mul.py": 'from mul import mul\n\n\ndef test_mul():\n    """MATH-2: products."""\n'
    "    assert mul(2, 3) == 6\n",
    "tests/test_neg.py": "from neg import neg\n\n\ndef test_neg():\n    assert neg(2) == -2\n",
}
REPLIES = {
    "add": "add.py\n```python\ndef add(a, b):\n    return a + b\n```\n",
    "mul": "mul.py\n```python\ndef mul(a, b):\n    return a * b\n```\n",
    "neg": "neg.py\n```python\ndef neg(a):\n    return -a\n```\n",
}


# Each test id: the module it imports and what it asserts about it.
CHECKS: dict[str, tuple[str, Callable[[dict[str, Any]], bool]]] = {
    "tests/test_add.py::test_add": ("add", lambda ns: ns["add"](2, 3) == 5),
    "tests/test_mul.py::test_mul": ("mul", lambda ns: ns["mul"](2, 3) == 6),
    "tests/test_mul.py::test_mul_three": ("mul", lambda ns: ns["mul"](2, 3, 4) == 24),
    "tests/test_neg.py::test_neg": ("neg", lambda ns: ns["neg"](2) == -2),
    "tests/test_sub.py::test_sub": ("sub", lambda ns: ns["sub"](5, 3) == 2),
}


def math_outcomes(root: Path) -> Outcomes:
    """What pytest reports for these tests, from the files: a test runs when its file defines it, and a module
    that is missing or does not compile is its test file's collection error. Runs only the suite's own replies."""
    outcomes: dict[str, TestOutcome] = {}
    for test_id, (module, check) in CHECKS.items():
        test_file, name = test_id.split("::")
        path = root / test_file
        if not path.is_file() or f"def {name}(" not in path.read_text(encoding="utf-8"):
            continue
        namespace = _load(root / f"{module}.py")
        if isinstance(namespace, str):
            outcomes[test_file] = TestOutcome(test_id=test_file, outcome="error", message=namespace)
            continue
        try:
            passed = check(namespace)
        except Exception as error:
            outcomes[test_id] = TestOutcome(test_id=test_id, outcome="failed", message=f"{type(error).__name__}")
            continue
        outcomes[test_id] = TestOutcome(test_id=test_id, outcome="passed" if passed else "failed")
    return outcomes


def _load(path: Path) -> dict[str, Any] | str:
    if not path.is_file():
        return f"ModuleNotFoundError: No module named '{path.stem}'"
    namespace: dict[str, Any] = {}
    try:
        exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)  # noqa: S102 - the suite's replies
    except SyntaxError as error:
        return f"SyntaxError: {error.msg}"
    return namespace


def math_runner() -> FunctionTestRunner:
    return FunctionTestRunner(math_outcomes)


def config(api_base: str) -> str:
    return (
        f'[project]\ntest_command = "{sys.executable} -m pytest"\n[synthesis]\nmax_attempts = 2\n'
        f'[llm.tiers]\ntier1 = ["scripted"]\n[llm.models.scripted]\nmodel = "openai/scripted"\n'
        f'api_base = "{api_base}"\n'
    )


def write_project(repo: Path, api_base: str) -> None:
    (repo / "SPEC.md").write_text(SPEC, encoding="utf-8")
    for path, text in TESTS.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text, encoding="utf-8")
    (repo / "pytest.ini").write_text("[pytest]\nmarkers =\n    req: the requirement a test proves\n")
    (repo / "autodev.toml").write_text(config(api_base), encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "spec and tests")


@pytest.fixture
def project(repo: Path) -> Path:
    write_project(repo, NO_SERVER)
    return repo


def build_all(project: Path, client: FunctionClient) -> PassResult:
    """The first pass, with the three right replies in the order the requirements are worked on."""
    result = run_pass(project, client, test_runner=math_runner())
    assert result.status == "satisfied", result.reason
    return result


def status_rows(project: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert run_cli(["-C", str(project), "status", "--json"]) == 0
    return {row["id"]: row for row in json.loads(capsys.readouterr().out)["requirements"]}


def subjects(project: Path) -> list[str]:
    return git(project, "log", "--format=%(trailers:key=Autodev-Requirement,valueonly)").split()


def ledger(project: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((project / ".autodev" / "ledger.json").read_text(encoding="utf-8"))
    return data["requirements"]


class TestEndToEnd:
    def test_three_requirements_build_three_commits_in_dependency_order(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """MATH-1 depends on MATH-3: the order is MATH-2, MATH-3, MATH-1 (file order breaks ties), one commit each."""
        write_project(repo, server.url)
        server.push(REPLIES["mul"], REPLIES["neg"], REPLIES["add"])
        capsys.readouterr()
        code = run_cli(["-C", str(repo), "run", "--once", "--json"])
        result = json.loads(capsys.readouterr().out)
        assert code == 0, result["reason"]
        assert [r["requirement"] for r in result["requirements"]] == ["MATH-2", "MATH-3", "MATH-1"]
        assert subjects(repo) == ["MATH-1", "MATH-3", "MATH-2"]  # newest first
        assert {rid: entry["status"] for rid, entry in ledger(repo).items()} == {
            "MATH-1": "satisfied",
            "MATH-2": "satisfied",
            "MATH-3": "satisfied",
        }


class TestSeveralRequirements:
    def test_a_requirement_whose_dependency_fails_is_blocked_without_a_call(self, project: Path) -> None:
        """MATH-3 stays red: MATH-1, which depends on it, is blocked naming it, and no model is asked for it."""
        wrong_neg = "neg.py\n```python\ndef neg(a):\n    return a\n```\n"
        broken_neg = "neg.py\n```python\ndef neg(a)\n    return a\n```\n"
        client = FunctionClient.replying(REPLIES["mul"], wrong_neg, broken_neg)
        result = run_pass(project, client, test_runner=math_runner())
        assert result.status == "failed"
        statuses = {r.requirement: (r.status, r.reason) for r in result.requirements}
        assert statuses["MATH-2"][0] == "satisfied"
        assert statuses["MATH-3"][0] == "failed"
        assert statuses["MATH-1"] == ("blocked", "depends on MATH-3, which is not satisfied")
        assert len(client.calls) == 3

    def test_a_dependency_on_an_unknown_id_does_not_block(self, project: Path) -> None:
        """An unknown Depends: ID is spec check's error to report; the work itself goes on."""
        (project / "SPEC.md").write_text(SPEC.replace("Depends: MATH-3", "Depends: MATH-99"), encoding="utf-8")
        git(project, "commit", "-q", "-am", "a typo in Depends")
        build_all(project, FunctionClient.replying(REPLIES["add"], REPLIES["mul"], REPLIES["neg"]))

    def test_editing_one_requirement_rebuilds_only_that_one(self, project: Path) -> None:
        """A changed requirement with a changed failing test gets one model call; the others keep their commits."""
        client = FunctionClient.replying(
            REPLIES["mul"],
            REPLIES["neg"],
            REPLIES["add"],
            "mul.py\n```python\ndef mul(a, b, c=1):\n    return a * b * c\n```\n",
        )
        build_all(project, client)
        before = git(project, "log", "--format=%H").split()
        (project / "SPEC.md").write_text(SPEC.replace("- mul(a, b) returns a * b", "- mul(a, b, c=1)"))
        (project / "tests" / "test_mul.py").write_text(
            TESTS["tests/test_mul.py"] + '\n\ndef test_mul_three():\n    """MATH-2."""\n    assert mul(2, 3, 4) == 24\n'
        )
        git(project, "commit", "-q", "-am", "MATH-2 takes a third factor")
        result = run_pass(project, client, test_runner=math_runner())
        assert result.status == "satisfied", result.reason
        assert len(client.calls) == 4
        built = [r.requirement for r in result.requirements if r.commit and r.attempts]
        assert built == ["MATH-2"]
        assert git(project, "log", "--format=%H").split()[2:] == before

    def test_a_deleted_requirement_is_marked_removed_and_its_code_stays(self, project: Path) -> None:
        """MATH-2 gone from the spec: the ledger says removed, mul.py and its commit stay, no model call."""
        client = FunctionClient.replying(REPLIES["mul"], REPLIES["neg"], REPLIES["add"])
        build_all(project, client)
        spec = SPEC.split("## MATH-2")[0] + "## MATH-3" + SPEC.split("## MATH-3")[1]
        (project / "SPEC.md").write_text(spec, encoding="utf-8")
        git(project, "commit", "-q", "-am", "drop MATH-2")
        head = git(project, "rev-parse", "HEAD")
        result = run_pass(project, client, test_runner=math_runner())
        assert result.status == "satisfied"  # the requirements that remain are all satisfied
        assert ledger(project)["MATH-2"]["status"] == "removed"
        assert {r.requirement: r.status for r in result.requirements}["MATH-2"] == "removed"
        assert (project / "mul.py").is_file()
        assert git(project, "rev-parse", "HEAD") == head
        assert len(client.calls) == 3

    def test_a_failing_test_without_a_requirement_becomes_a_work_item(self, project: Path) -> None:
        """tests/test_sub.py claims no requirement: "make tests/test_sub.py pass" is worked on and committed."""
        client = FunctionClient.replying(
            REPLIES["mul"], REPLIES["neg"], REPLIES["add"], "sub.py\n```python\ndef sub(a, b):\n    return a - b\n```\n"
        )
        build_all(project, client)
        (project / "tests" / "test_sub.py").write_text(
            "from sub import sub\n\n\ndef test_sub():\n    assert sub(5, 3) == 2\n"
        )
        git(project, "add", "-A")
        git(project, "commit", "-q", "-m", "a test nobody asked for")
        result = run_pass(project, client, test_runner=math_runner())
        assert result.status == "satisfied", result.reason
        assert subjects(project)[0] == "tests:tests/test_sub.py"
        assert (project / "sub.py").is_file()

    def test_a_corrupt_ledger_is_moved_aside_and_rebuilt(self, project: Path) -> None:
        """Garbage in ledger.json: the pass still works, the old file is kept aside, the new one is valid."""
        client = FunctionClient.replying(REPLIES["mul"], REPLIES["neg"], REPLIES["add"])
        build_all(project, client)
        (project / ".autodev" / "ledger.json").write_text("{not json", encoding="utf-8")
        result = run_pass(project, client, test_runner=math_runner())
        assert result.status == "satisfied"
        assert len(client.calls) == 3  # the tests still pass: nothing to rebuild
        assert sorted(ledger(project)) == ["MATH-1", "MATH-2", "MATH-3"]
        assert list((project / ".autodev").glob("ledger.json.corrupt*"))

    def test_status_lists_every_requirement(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """autodev status --json after a pass: one object per requirement with its status, reason and tests."""
        build_all(project, FunctionClient.replying(REPLIES["mul"], REPLIES["neg"], REPLIES["add"]))
        rows = status_rows(project, capsys)
        assert set(rows) == {"MATH-1", "MATH-2", "MATH-3"}
        assert all(row["status"] == "satisfied" and row["tests"] for row in rows.values())
        assert all(row["tests_passing"] == len(row["tests"]) for row in rows.values())

    def test_status_counts_the_tests_that_still_fail(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A requirement left failing (in real pytest runs) shows 0 of its tests passing and the reason, in text
        and JSON."""
        client = FunctionClient.replying(
            REPLIES["mul"], REPLIES["neg"], REPLIES["add"], "mul.py\n```python\nBROKEN = (\n```\n"
        )
        assert run_pass(project, client).status == "satisfied"
        (project / "tests" / "test_mul.py").write_text(TESTS["tests/test_mul.py"].replace("== 6", "== 7"))
        git(project, "commit", "-q", "-am", "an impossible product")
        assert run_pass(project, client).status == "failed"
        rows = status_rows(project, capsys)
        assert (rows["MATH-2"]["status"], rows["MATH-2"]["tests_passing"]) == ("failing", 0)
        assert rows["MATH-1"]["tests_passing"] == 1
        assert run_cli(["-C", str(project), "status"]) == 0
        assert "MATH-2             failing    tests 0/1" in capsys.readouterr().out

    def test_spec_show_lists_the_parsed_requirements(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """spec show --json: ID, title, file and dependencies as written."""
        assert run_cli(["-C", str(project), "spec", "show", "--json"]) == 0
        shown = {item["id"]: item for item in json.loads(capsys.readouterr().out)}
        assert shown["MATH-1"]["depends"] == ["MATH-3"]
        assert shown["MATH-2"]["title"] == "Multiply"
