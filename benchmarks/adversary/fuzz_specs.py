"""Row 3, fuzzed specs: random mutations and garbage of SPEC.md and of the repository's specs/*.md.

Each mutant becomes the SPEC.md of a small project and goes through `autodev spec check` (most without
collecting tests, some with); a few also through `autodev run --once` with no model reachable (the api_base is
a closed port and AUTODEV_NO_NETWORK is set). A crash is a Python traceback or an exit code outside 0, 1, 2; a
hang is a run past its timeout.
"""

from __future__ import annotations

import random

from adversary import common
from adversary.common import REPO, Case, Options

CHECK_TIMEOUT_S = 30
RUN_TIMEOUT_S = 90
NO_SERVER = "http://127.0.0.1:9/v1"

GARBAGE = [
    "\x00",
    "\ufeff",
    "\ud800",
    "\u202e",
    "## ",
    "# ",
    "Files: ",
    "Files: ../../etc/passwd",
    "Files: /etc/passwd",
    "Files: .git/config",
    "Files: " + "a/" * 300 + "x.py",
    "Depends: ",
    "Depends: SPEC-1, SPEC-1",
    "Depends: " + ", ".join(f"X-{n}" for n in range(500)),
    "## X-1: a\nDepends: X-1\n",
    "## A-1: a\nDepends: A-2\n## A-2: b\nDepends: A-1\n",
    "```",
    "```python\n",
    "- " * 2000,
    "  " * 5000 + "- deep",
    "\r",
    "\r\n",
    "<!--",
    "-->",
    "[link](",
    "\t",
    "\u2028",
    "é" * 1000,
    "😀" * 500,
    "x" * 200_000,
]


def bases() -> list[tuple[str, str]]:
    found = [("SPEC.md", (common.EXAMPLE / "SPEC.md").read_text(encoding="utf-8"))]
    for path in sorted((REPO / "specs").glob("*.md")):
        found.append((f"specs/{path.name}", path.read_text(encoding="utf-8")))
    return found


def mutate(text: str, rng: random.Random) -> bytes:
    """One to four random edits: garbage inserted, lines cut or repeated, bytes flipped, the text cut short."""
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(6)
        at = rng.randrange(len(text) + 1)
        if kind == 0:
            text = text[:at] + rng.choice(GARBAGE) + text[at:]
        elif kind == 1:
            lines = text.splitlines(keepends=True)
            if lines:
                del lines[rng.randrange(len(lines))]
            text = "".join(lines)
        elif kind == 2:
            lines = text.splitlines(keepends=True)
            if lines:
                line = rng.choice(lines)
                lines.insert(rng.randrange(len(lines) + 1), line * rng.randint(1, 50))
            text = "".join(lines)
        elif kind == 3:
            text = text[:at]
        elif kind == 4:
            text = text[:at] + "".join(chr(rng.randrange(0x20, 0x3000)) for _ in range(rng.randint(1, 40))) + text[at:]
        else:
            data = bytearray(text.encode("utf-8", "surrogatepass"))
            for _ in range(rng.randint(1, 8)):
                if data:
                    data[rng.randrange(len(data))] = rng.randrange(256)
            return bytes(data)
    return text.encode("utf-8", "surrogatepass")


def plans(options: Options) -> list[tuple[int, str, str]]:
    """(number, base, command) per mutant: most `spec check --no-tests`, every 10th with tests, a few `run`."""
    rng = random.Random(options.seed)  # noqa: S311 - a seeded, repeatable trial plan
    count = options.count(12, 120)
    runs = options.count(2, 10)
    items = []
    for number in range(count + runs):
        base = rng.choice(bases())[0]
        command = "run" if number >= count else ("check" if number % 10 == 0 else "check-no-tests")
        items.append((number, base, command))
    return items


def one(item: object) -> Case:
    number, base, command = item  # type: ignore[misc]
    rng = random.Random(f"{number}-{base}")  # noqa: S311 - a seeded, repeatable trial plan
    text = dict(bases())[base]
    data = mutate(text, rng)
    name = f"#{number} {base} mutated ({len(data)} bytes), {command}"
    with common.trial("spec") as tr:
        common.make_project(tr.project, NO_SERVER)
        (tr.project / "SPEC.md").write_bytes(data)
        common.git(tr.project, "add", "SPEC.md")
        common.git(tr.project, "commit", "-qm", "mutated spec")
        if command == "run":
            done = common.run_autodev(tr, "run", "--once", "--json", timeout=RUN_TIMEOUT_S)
        else:
            extra = ["--no-tests"] if command == "check-no-tests" else []
            done = common.run_autodev(tr, "spec", "check", *extra, timeout=CHECK_TIMEOUT_S)
        return Case(name=name, problems=crash_problems(done), note=f"exit {done.code}")


def crash_problems(done: common.Done) -> list[str]:
    if done.timed_out:
        return [f"hang: no exit within {done.seconds:.0f} s"]
    if done.traceback:
        tail = [line for line in (done.stderr + done.stdout).strip().splitlines() if line.strip()]
        return [f"traceback (exit {done.code}): {tail[-1][:120] if tail else ''}"]
    if done.code not in (0, 1, 2):
        return [f"exit {done.code} (not 0, 1 or 2): {done.stderr.strip()[-120:]}"]
    return []


def run(options: Options) -> list[Case]:
    return common.run_cases(list(plans(options)), one, options.jobs)
