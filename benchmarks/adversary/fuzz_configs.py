"""Row 4, fuzzed configs: autodev.toml mutated (types, NUL, deep nesting, huge, FIFO, link to /dev/zero, a
directory, a BOM, invalid UTF-8) must give exit 2 with a one-line message, never a traceback, never a hang.

Most mutants go through `autodev config show` (it loads and validates the file, nothing else); the named special
cases also through `autodev run --once` and `autodev status`. A mutant that is still a valid configuration may
exit 0 (or 1 for `run`); a BOM in front of a valid file is expected to be read as the file (editors write it).
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path

from adversary import common
from adversary.common import Case, Options
from adversary.fuzz_specs import NO_SERVER

TIMEOUT_S = 30
BASE = common.config_text(NO_SERVER)
VALUES = [
    "5",
    "-1",
    "0",
    "1e309",
    "nan",
    "inf",
    "true",
    '""',
    '"\\u0000"',
    "[]",
    "{}",
    "[[]]",
    '"x"',
    "2**64",
    "18446744073709551617",
    '"' + "x" * 10000 + '"',
    "1979-05-27T07:32:00Z",
    "[1, 'a']",
    '"\\ud800"',
]


def _write(text: str | bytes) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        path.write_bytes(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)

    return make


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _directory(path: Path) -> None:
    path.mkdir()


def _dangling(path: Path) -> None:
    path.symlink_to(path.parent / "missing.toml")


SPECIAL: dict[str, Callable[[Path], None]] = {
    "NUL in test_command": _write(BASE.replace(" -m pytest", " -m pytest\\u0000rm")),
    "raw NUL byte in the file": _write(BASE.replace("[tests]", "[tests]\x00")),
    "5,000-deep list": _write(BASE + "[extra]\nx = " + "[" * 5000 + "]" * 5000 + "\n"),
    "5,000-deep inline tables": _write(BASE + "deep = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n"),
    "FIFO named autodev.toml": _fifo,
    "link to /dev/zero": _dev_zero,
    "directory named autodev.toml": _directory,
    "dangling symlink": _dangling,
    "BOM before a valid file": _write("\ufeff" + BASE),
    "invalid UTF-8": _write(BASE.encode() + b"\n# \xff\xfe\x80\n"),
    "20 MB file": _write(BASE + "# " + "x" * 20_000_000 + "\n"),
    "test_command a number": _write(BASE.replace('test_command = "', 'test_command = 5\n# "')),
    "max_attempts a string": _write(BASE.replace("max_attempts = 1", 'max_attempts = "1"')),
    "tiers a number": _write(BASE.replace('tier1 = ["scripted"]', "tier1 = 1")),
    "unknown section": _write(BASE + "[nonsense]\nx = 1\n"),
    "duplicate key": _write(BASE + "[tests]\ntimeout_s = 3\n"),
    "empty file": _write(""),
    "only a BOM": _write("\ufeff"),
    "lone surrogate escape": _write(BASE.replace('model = "openai/scripted"', 'model = "openai/\\ud800"')),
}


# The crashes of the earlier adversarial run: also through `status` and `run --once` in a --quick run.
HISTORICAL = frozenset(
    {
        "NUL in test_command",
        "5,000-deep list",
        "FIFO named autodev.toml",
        "link to /dev/zero",
        "directory named autodev.toml",
        "BOM before a valid file",
    }
)


def mutate(rng: random.Random) -> str:
    lines = BASE.splitlines()
    for _ in range(rng.randint(1, 3)):
        kind = rng.randrange(5)
        at = rng.randrange(len(lines))
        if kind == 0 and "=" in lines[at]:
            key = lines[at].split("=", 1)[0]
            lines[at] = f"{key}= {rng.choice(VALUES)}"
        elif kind == 1:
            lines.insert(at, rng.choice(["[", "]", "[[llm.tiers]]", "=", "a.b.c = 1", "[llm.models.x]", '"""']))
        elif kind == 2:
            del lines[at]
        elif kind == 3:
            line = lines[at]
            cut = rng.randrange(len(line) + 1)
            lines[at] = line[:cut] + chr(rng.randrange(0, 0x250)) + line[cut:]
        else:
            lines.insert(at, lines[rng.randrange(len(lines))])
    return "\n".join(lines) + "\n"


def plans(options: Options) -> list[tuple[str, str]]:
    rng = random.Random(options.seed)  # noqa: S311 - a seeded, repeatable trial plan
    count = options.count(8, 80)
    items = [
        (f"special: {name}", "special" if name in HISTORICAL or not options.quick else "special-light")
        for name in SPECIAL
    ]
    items += [(f"mutant #{n}", mutate(rng)) for n in range(count)]
    return items


def one(item: object) -> Case:
    name, text = item  # type: ignore[misc]
    problems = []
    with common.trial("config") as tr:
        common.make_project(tr.project, NO_SERVER)
        config = tr.project / "autodev.toml"
        config.unlink()
        if text.startswith("special"):
            SPECIAL[name.removeprefix("special: ")](config)
        else:
            config.write_text(text, encoding="utf-8")
        commands = [("config", "show")]
        if text == "special":
            commands += [
                ("status",),
                ("run", "--once", "--json", "--max-attempts", "1", "--model", "openai/adversary-none"),
            ]
        for command in commands:
            done = common.run_autodev(tr, *command, timeout=TIMEOUT_S if command[0] != "run" else 90)
            problems += [f"{' '.join(command)}: {p}" for p in _problems(name, command, done)]
    return Case(name=name, problems=problems)


def _problems(name: str, command: tuple[str, ...], done: common.Done) -> list[str]:
    if done.timed_out:
        return [f"hang (> {done.seconds:.0f} s)"]
    if done.traceback:
        tail = [line for line in done.stderr.strip().splitlines() if line.strip()]
        return [f"traceback: {tail[-1][:100] if tail else ''}"]
    if name == "special: BOM before a valid file" and done.code == 2:
        return [f"a BOM before a valid file is refused: {done.stderr.strip()[:100]}"]
    allowed = (0, 1, 2) if command[0] == "run" else (0, 2)
    if done.code not in allowed:
        return [f"exit {done.code}, not one of {allowed}: {done.stderr.strip()[-100:]}"]
    if done.code == 2 and "error" not in done.stderr.lower():
        return ["exit 2 without an error message"]
    return []


def run(options: Options) -> list[Case]:
    return common.run_cases(list(plans(options)), one, options.jobs)
