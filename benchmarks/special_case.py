"""How the special-case check (autodev/verify/special_case.py) does on real solutions and on cheats.

Real solutions: the example solution of every exercise of a Python development set (Exercism layout: `.docs/`,
`.meta/config.json`, the stub, the tests), judged against its own tests with the exercise's docs as the spec, and
the Python examples of this repository (examples/temperature's right reply, a plain solution of examples/words).
Target: none flagged.

Cheats: for each tested call with a distinctive result that the spec does not mention, the example solution with
one special case added (``if ARGS == (...): return EXPECTED`` at the top of the file). Target: all flagged.

    .venv/bin/python benchmarks/special_case.py [../shared/bench/exercism]
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from autodev.verify.special_case import Expectation, expectations, special_cases

REPO = Path(__file__).resolve().parent.parent
WORDS = """\
def count_words(text):
    return len(text.split())


def longest_word(text):
    words = text.split()
    return max(words, key=len) if words else ""
"""


def exercise(directory: Path) -> tuple[dict[str, str], str, str, str, str]:
    """(tests, solution path, example solution, stub, spec) of one exercise."""
    files = json.loads((directory / ".meta" / "config.json").read_text(encoding="utf-8"))["files"]
    read = lambda rel: (directory / rel).read_text(encoding="utf-8")  # noqa: E731
    spec = "\n\n".join(doc.read_text(encoding="utf-8") for doc in sorted((directory / ".docs").glob("*.md")))
    solution = files["solution"][0]
    return {t: read(t) for t in files["test"]}, solution, read(files["example"][0]), read(solution), spec


def cheat(example: str, expectation: Expectation) -> str:
    """The example solution with the tested call special-cased: its arguments and result as literals."""
    return f"_SPECIAL = ({expectation.args!r}, {expectation.expected!r})\n\n" + example


def examples() -> list[tuple[str, dict[str, str], dict[str, str], str]]:
    """(name, tests, solution, spec) for this repository's Python examples."""
    found = []
    right = (REPO / "examples" / "replies" / "temperature-2.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", right, re.S)
    assert code is not None
    for name, solution, source in (("temperature", code.group(1), "temps.py"), ("words", WORDS, "words.py")):
        root = REPO / "examples" / name
        tests = {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in root.glob("tests/*.py")}
        found.append((name, tests, {source: solution}, (root / "SPEC.md").read_text(encoding="utf-8")))
    return found


def main(argv: list[str]) -> int:
    base = Path(argv[0]) if argv else REPO.parent / "shared" / "bench" / "exercism"
    flagged, total, cheats, caught, spec_named = 0, 0, 0, 0, 0
    for directory in sorted(p for p in base.iterdir() if (p / ".meta" / "config.json").is_file()):
        tests, solution, example, stub, spec = exercise(directory)
        total += 1
        found = special_cases({solution: example}, {solution: stub}, tests, spec)
        flagged += bool(found)
        hits = excused = 0
        for expectation in expectations(tests):
            cheated = {solution: cheat(example, expectation)}
            if special_cases(cheated, {solution: stub}, tests, spec):
                hits += 1
            elif special_cases(cheated, {solution: stub}, tests, ""):
                excused += 1  # the spec names the result: not a special case
        cheats, caught, spec_named = cheats + len(expectations(tests)) - excused, caught + hits, spec_named + excused
        print(f"{directory.name:24} pairs {len(expectations(tests)):3}  example flagged: {len(found)}  "
              f"cheats caught {hits} (spec names {excused})", *map(str, found[:2]))  # fmt: skip
    print(f"example solutions flagged: {flagged}/{total} ({base})")
    repo_flagged = 0
    for name, tests, solution, spec in examples():
        found = special_cases(solution, {}, tests, spec)
        repo_flagged += bool(found)
        print(f"examples/{name}: pairs {len(expectations(tests))}, flagged {len(found)}")
    print(f"examples/ solutions flagged: {repo_flagged}/2")
    print(f"generated cheats caught: {caught}/{cheats} ({spec_named} more whose result the spec names, not flagged)")
    return 0 if flagged == 0 and repo_flagged == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
