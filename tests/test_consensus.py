"""Several candidates of one round: which green one is tried in the tree, and a merge when none is green.

End to end: `autodev run --once --json` in process, LiteLLM over HTTP to the scripted server, real git and real
pytest (or node) runs in scratch copies. The probe derivation, the agreement choice and the merge pair are also
tested as the pure functions they are.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from helpers import EXAMPLE, autodev, config_text, git, log_events, run_json, write_files

from autodev.cli.steps import step_line
from autodev.core.consensus import Green, changed_lines, choose
from autodev.progress import Decided
from autodev.route import EscalationPolicy, Failure, TierPlan, merge_pair
from autodev.testing import ScriptedServer
from autodev.verify.junit import TestOutcome
from autodev.verify.probes import derive_probes, probe_modules, probe_outputs, probe_path, variants

pytestmark = pytest.mark.req("ROUTE-6")

SPEC = "# Calculator\n\nArithmetic helpers.\n\nFiles: calc.py\n\n- `double(n)` returns twice `n`.\n"
TESTS = "from calc import double\n\n\ndef test_double():\n    assert double(3) == 6\n"
# Green on the test, wrong elsewhere (double(4) == 7): the smallest change, and the first.
PLUS_THREE = "def double(n):\n    return n + 3\n"
TIMES_TWO = 'def double(n):\n    """Twice n."""\n    return n * 2\n'
PLUS_ITSELF = 'def double(n):\n    """Twice n."""\n    twice = n + n\n    return twice\n'

TWO_SPEC = (
    "# Calculator\n\nArithmetic helpers.\n\nFiles: calc.py\n\n"
    "- `add(a, b)` returns `a + b`.\n- `sub(a, b)` returns `a - b`.\n"
)
TWO_TESTS = (
    "from calc import add, sub\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n"
    "def test_sub():\n    assert sub(5, 3) == 2\n"
)
ADD_ONLY = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return 0\n"
SUB_ONLY = "def add(a, b):\n    return 0\n\n\ndef sub(a, b):\n    return a - b\n"
BOTH = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"


def reply(code: str, path: str = "calc.py", fence: str = "python") -> str:
    return f"{path}\n```{fence}\n{code}```\n"


def python_project(root: Path, server_url: str, *, spec: str, tests: str, consensus: str, **config: str) -> None:
    text = config_text(server_url, **config) + "[llm.samples]\ntier1 = " + config.get("samples", "3") + "\n"
    write_files(root, {"SPEC.md": spec, "tests/test_calc.py": tests, "autodev.toml": text + consensus})
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "spec and tests")


def events_named(root: Path, event: str) -> list[dict[str, Any]]:
    return [entry for entry in log_events(root) if entry.get("event") == event]


def committed(root: Path, path: str) -> str:
    return git(root, "show", f"HEAD:{path}")


class TestChoosingAmongGreenCandidates:
    def test_the_candidate_the_others_agree_with_on_untested_inputs_is_committed(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Three green candidates; the first and smallest is wrong off the tests (n + 3), the other two agree with
        each other on the probes: the smaller of those two is committed, and the log and attempts say why."""
        python_project(repo, server.url, spec=SPEC, tests=TESTS, consensus="[llm.consensus]\nprobe_inputs = 3\n")
        server.push(reply(PLUS_THREE), reply(TIMES_TWO), reply(PLUS_ITSELF))
        code, result = run_json(repo, capsys)
        assert code == 0, result
        assert committed(repo, "calc.py") == TIMES_TWO
        chosen = events_named(repo, "candidate chosen")
        assert [(c["candidate"], c["green"]) for c in chosen] == [(2, 3)]
        assert chosen[0]["reason"] == "agrees with 1 of 2 others on 3 probes; smallest change of the 2 that do"
        reasons = [attempt["reason"] for attempt in result["attempts"]]
        assert reasons[0] == "green, not chosen: agrees with 0 of 2 others on 3 probes"
        assert reasons[1].startswith("tests pass; committed")
        assert reasons[2] == "green, not chosen: a larger change (4 changed lines against 3)"
        assert not list(repo.rglob("*autodev_probe*"))  # the probes ran in scratch copies only
        assert git(repo, "status", "--porcelain").strip() == ""

    def test_without_probes_the_smallest_change_is_committed(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """probe_inputs = 0: of three green candidates the smallest change wins, here the wrong n + 3 (probes are
        what would have caught it)."""
        python_project(repo, server.url, spec=SPEC, tests=TESTS, consensus="[llm.consensus]\nprobe_inputs = 0\n")
        server.push(reply(PLUS_ITSELF), reply(TIMES_TWO), reply(PLUS_THREE))
        code, result = run_json(repo, capsys)
        assert code == 0, result
        assert committed(repo, "calc.py") == PLUS_THREE
        chosen = events_named(repo, "candidate chosen")
        assert chosen[0]["reason"] == "probe_inputs = 0; smallest change of 3 green (2 changed lines)"
        assert chosen[0]["candidate"] == 3
        assert [attempt["outcome"] for attempt in result["attempts"]] == ["red", "red", "green"]

    def test_a_single_green_candidate_is_chosen_as_the_only_one(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """One of two candidates green: it is committed, no probe runs, and the log says it was the only one."""
        python_project(repo, server.url, spec=SPEC, tests=TESTS, consensus="", samples="2")
        server.push(reply("def double(n):\n    return n\n"), reply(TIMES_TWO))
        code, result = run_json(repo, capsys)
        assert code == 0, result
        assert committed(repo, "calc.py") == TIMES_TWO
        assert [c["reason"] for c in events_named(repo, "candidate chosen")] == ["only green candidate"]
        assert not events_named(repo, "probes run")

    @pytest.mark.skipif(not shutil.which("node"), reason="no node")
    def test_targets_that_are_not_python_get_the_smallest_change(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A JavaScript target: no probes; two green candidates, the smaller one is committed though it came last."""
        shutil.copytree(EXAMPLE.parent / "slugify-js", repo, dirs_exist_ok=True)
        config = (
            '[tests]\ntimeout_s = 120\n[llm.samples]\ntier1 = 2\n[llm.tiers]\ntier1 = ["scripted"]\n'
            f'[llm.models.scripted]\nmodel = "openai/scripted"\napi_base = "{server.url}"\ntimeout_s = 20\n'
        )
        (repo / "autodev.toml").write_text(config, encoding="utf-8")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "spec and tests")
        right = (EXAMPLE.parent / "replies" / "slugify-js-2.md").read_text(encoding="utf-8")
        longer = right.replace("export function", "// the slug of a title\n// accents dropped\nexport function")
        server.push(longer, right)
        code, result = run_json(repo, capsys)
        assert code == 0, result
        assert "// the slug" not in committed(repo, "src/slug.js")
        chosen = events_named(repo, "candidate chosen")
        assert chosen[0]["candidate"] == 2
        assert chosen[0]["reason"].startswith("no probes for targets that are not Python; smallest change of 2 green")


class TestMerging:
    def test_two_red_candidates_passing_different_tests_are_merged_and_the_merge_committed(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """add right in one, sub right in the other: the third request is the merge prompt showing both with what
        each passes and fails; its green answer is committed, and the route says merge."""
        python_project(repo, server.url, spec=TWO_SPEC, tests=TWO_TESTS, consensus="", samples="2", max_attempts="3")
        server.push(reply(ADD_ONLY), reply(SUB_ONLY), reply(BOTH))
        code, result = run_json(repo, capsys)
        assert code == 0, result
        assert len(server.requests) == 3
        prompt = server.requests[2].prompt_text
        assert "Candidate A passes test_add, fails test_sub:\ncalc.py\n```python\n" + ADD_ONLY in prompt
        assert "Candidate B passes test_sub, fails test_add:\ncalc.py\n```python\n" + SUB_ONLY in prompt
        assert prompt.rstrip().endswith("Combine what each candidate gets right: write calc.py so that all the "
                                        "tests pass.")  # fmt: skip
        assert committed(repo, "calc.py") == BOTH
        assert [attempt["outcome"] for attempt in result["attempts"]] == ["red", "red", "green"]
        merges = [entry for entry in events_named(repo, "route") if entry.get("action") == "merge"]
        assert [entry["reason"] for entry in merges] == [
            "merge at tier1: two candidates pass different tests (1 and 1 of 2, 2 together): one attempt given both"
        ]
        assert any(step.startswith("merge: merge at tier1") for step in result["requirements"][0]["route"])
        capsys.readouterr()
        assert autodev(repo, "metrics", "--json") == 0
        metrics = json.loads(capsys.readouterr().out)
        assert metrics["totals"]["merges"] == 1 and metrics["totals"]["attempts"] == 3
        assert autodev(repo, "metrics") == 0
        assert "merge rounds: 1 (two red candidates passing different tests" in capsys.readouterr().out

    def test_the_attempt_limit_leaves_no_room_for_a_merge(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """max_attempts = 2 is used up by the two samples: no merge request, the requirement fails."""
        python_project(repo, server.url, spec=TWO_SPEC, tests=TWO_TESTS, consensus="", samples="2", max_attempts="2")
        server.push(reply(ADD_ONLY), reply(SUB_ONLY), reply(BOTH))
        code, result = run_json(repo, capsys)
        assert code == 1, result
        assert len(server.requests) == 2
        assert not [entry for entry in events_named(repo, "route") if entry.get("action") == "merge"]

    def test_merge_false_repairs_instead(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """[llm.consensus] merge = false: the next request is the ordinary prompt with the failure, not a merge."""
        python_project(repo, server.url, spec=TWO_SPEC, tests=TWO_TESTS, consensus="[llm.consensus]\nmerge = false\n",
                       samples="2", max_attempts="3")  # fmt: skip
        server.push(reply(ADD_ONLY), reply(SUB_ONLY), reply(BOTH))
        code, result = run_json(repo, capsys)
        assert code == 0, result
        assert "Candidate A" not in server.requests[2].prompt_text
        assert not [entry for entry in events_named(repo, "route") if entry.get("action") == "merge"]


class TestProbeDerivation:
    def test_each_kind_of_value_is_varied_and_what_cannot_be_is_not(self) -> None:
        """Numbers +1, -1, *2; strings shortened and extended; sequences and dicts lose or repeat an element."""
        assert variants(5) == [6, 4, 10]
        assert variants(0) == [1, -1]  # 0 * 2 is 0 itself
        assert variants("abc") == ["ab", "abcc"]
        assert variants("") == ["a"]
        assert variants([1, 2]) == [[1], [2], [1, 2, 1]]
        assert variants((1,)) == [(), (1, 1)]
        assert variants({"a": 1, "b": 2}) == [{"a": 1}]
        assert variants(True) == [] and variants(None) == [] and variants(object()) == []

    def test_probes_vary_one_argument_of_imported_calls_in_turn_and_skip_tested_inputs(self) -> None:
        """Calls take turns; a variant the tests already try is left out; a fixture's method or a helper defined in
        the test file is not called."""
        tests = {
            "tests/test_calc.py": (
                "from calc import add, clamp\n\n\ndef helper(x):\n    return x\n\n\n"
                "def test_calls(box):\n    assert add(2, 3) == 5\n    assert add(3, 3) == 6\n"
                "    assert clamp('hello', limit=3) == 'hel'\n    assert box.size(2) == 2\n"
                "    assert helper(2) == 2\n"
            )
        }
        calls = [probe.call for probe in derive_probes(tests, 5)]
        assert calls == ["add(1, 3)", "add(4, 3)", "clamp('hell', limit=3)", "add(2, 4)", "add(6, 3)"]
        assert derive_probes(tests, 0) == []

    def test_the_probe_module_sits_beside_its_test_file_with_its_imports(self) -> None:
        """The module copies the test file's imports, is named for the same collection pattern, and each probe
        test reports its result through an AssertionError."""
        assert probe_path("tests/test_calc.py") == "tests/test_calc_autodev_probe.py"
        assert probe_path("calc_test.py") == "autodev_probe_calc_test.py"
        tests = {"tests/test_calc.py": TESTS}
        probes = derive_probes(tests, 2)
        modules = probe_modules(tests, probes)
        assert list(modules) == ["tests/test_calc_autodev_probe.py"]
        text = modules["tests/test_calc_autodev_probe.py"]
        assert "from calc import double" in text
        assert "def test_autodev_probe_0():\n    _autodev_report(double(4))" in text
        assert "def test_autodev_probe_1():\n    _autodev_report(double(2))" in text

    def test_outputs_are_read_from_the_probe_tests_outcomes(self) -> None:
        """Each probe's kind and message in order; a probe without a result says so; no probe at all: None."""
        outcomes = {
            "tests/test_calc.py::test_double": TestOutcome(test_id="t", outcome="passed"),
            "tests/test_calc_autodev_probe.py::test_autodev_probe_1": TestOutcome(
                test_id="p", outcome="failed", message="AssertionError: probe ab 8"
            ),
        }
        assert probe_outputs(outcomes, 2) == ("no result", "failed: AssertionError: probe ab 8")
        at = {"t.py::test_autodev_probe_0": TestOutcome(test_id="p", outcome="failed", message="<X at 0x7f3a9c1d2e50>")}
        assert probe_outputs(at, 1) == ("failed: <X at 0x*>",)  # an address is not an output
        tests_only = {"tests/test_calc.py::test_double": outcomes["tests/test_calc.py::test_double"]}
        assert probe_outputs(tests_only, 2) is None


class TestAgreementChoice:
    def test_the_majority_wins_over_a_smaller_and_earlier_candidate(self) -> None:
        """Two of three agree: the one that disagrees is not chosen, though it is the smallest and first."""
        choice = choose([Green(1, ("x",)), Green(5, ("y",)), Green(3, ("y",))], probes=1)
        assert choice.index == 2
        assert choice.reason == "agrees with 1 of 2 others on 1 probes; smallest change of the 2 that do"
        assert choice.others == {
            0: "green, not chosen: agrees with 0 of 2 others on 1 probes",
            1: "green, not chosen: a larger change (5 changed lines against 3)",
        }

    def test_a_unanimous_choice_names_the_agreement(self) -> None:
        """All agree: the smallest change, and the reason says they all agree."""
        choice = choose([Green(4, ("a", "b")), Green(2, ("a", "b"))], probes=2)
        assert (choice.index, choice.reason) == (1, "all 2 green agree on 2 probes; smallest change (2 changed lines)")

    def test_no_agreement_or_no_probes_falls_back_to_the_smallest_then_the_earliest(self) -> None:
        """All disagree: smallest change; equal sizes: the earliest; one green: it, said so."""
        choice = choose([Green(3, ("a",)), Green(2, ("b",)), Green(2, ("c",))], probes=1)
        assert (choice.index, choice.reason) == (1, "no two of 3 green agree on 1 probes; smallest change of 3 green "
                                                    "(2 changed lines)")  # fmt: skip
        assert choice.others[2] == "green, not chosen: a change as small (2 changed lines) as an earlier candidate's"
        assert choose([Green(2), Green(2)], why_no_probes="probe_inputs = 0").index == 0
        assert choose([Green(9)]).reason == "only green candidate"

    def test_the_console_says_which_candidate_was_chosen_and_why(self) -> None:
        step = Decided(action="choose", tier="tier1", reason="candidate 2: agrees with 1 of 2 others on 3 probes")
        assert step_line(step, started=True) == ("  chose candidate 2: agrees with 1 of 2 others on 3 probes", "")

    def test_changed_lines_count_additions_and_removals_against_the_current_text(self) -> None:
        assert changed_lines({"a.py": "x = 1\ny = 2\n"}, {"a.py": "x = 1\ny = 3\n"}) == 2
        assert changed_lines({"a.py": None}, {"a.py": "x = 1\ny = 2\n"}) == 2


class TestMergePolicy:
    def test_a_merge_pair_needs_each_to_pass_a_test_the_other_fails(self) -> None:
        """Incomparable sets only; of several pairs the one passing most together, then the earliest."""
        a, b, c = frozenset({"t1"}), frozenset({"t2"}), frozenset({"t1", "t2", "t3"})
        assert merge_pair([a, b]) == (0, 1)
        assert merge_pair([a, c]) is None  # c holds all a passes
        assert merge_pair([a, frozenset()]) is None
        assert merge_pair([a, b, frozenset({"t3", "t4"})]) == (0, 2)

    def test_the_policy_merges_at_the_same_tier_while_attempts_remain(self) -> None:
        """A mergeable round: a merge at the same tier, its reason logged; the attempt limit comes first."""
        tiers = [TierPlan(name="tier1", models=["s"], samples=2), TierPlan(name="tier2", models=["b"])]
        failure = Failure(signature="x", cheap=False, why="only 1 of 2 tests pass", passed=1, total=2)
        policy = EscalationPolicy(tiers, start=0, max_attempts=3)
        decision = policy.after_failure(failure, attempts=2, mergeable="two candidates pass different tests")
        assert (decision.action, decision.tier) == ("merge", 0)
        assert decision.reason == "merge at tier1: two candidates pass different tests"
        spent = EscalationPolicy(tiers, start=0, max_attempts=2)
        assert spent.after_failure(failure, attempts=2, mergeable="two").action == "stop"
        assert EscalationPolicy(tiers, start=0, max_attempts=3).after_failure(failure, attempts=2).action == "escalate"
