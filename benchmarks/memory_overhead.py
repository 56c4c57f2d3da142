"""What project memory, commands and the loop's reload checks cost per call, on a tree the size the walk allows.

Builds a synthetic project in a temporary directory: ``--dirs`` directories (2,000 by default, the walk's limit),
a root AGENTS.md and CLAUDE.md (which imports a file), one nested AGENTS.md every 100 directories, and five
command files. Then times, ``--runs`` times each, and prints the medians in milliseconds:

- ``find_memory``: the walk and the reading, as a pass does once and `autodev ask` once per question;
- ``memory_section``: the budgeted text for one target at a hosted budget (4,000 tokens) and a tight one (300);
- ``find_commands``: every command file read and parsed (`autodev cmd`, chat start, a loop reload);
- ``SourceWatch.changed``: the stat calls the loop makes on every idle second;
- ``load_effective_config``: every configuration level read and merged (a loop reload, every command start).

    .venv/bin/python benchmarks/memory_overhead.py [--dirs 2000] [--runs 21]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from autodev.commands import find_commands
from autodev.config import Config
from autodev.config_layers import load_effective_config
from autodev.loop.reload import SourceWatch
from autodev.memory import find_memory
from autodev.synth.memory_prompt import memory_section

RULES = "".join(f"- Rule {n}: keep functions short and name them for what they return.\n" for n in range(40))


def build(root: Path, dirs: int) -> None:
    (root / "AGENTS.md").write_text(RULES, encoding="utf-8")
    (root / "CLAUDE.md").write_text("See @docs/style.md\n", encoding="utf-8")
    (root / "docs").mkdir()
    (root / "docs" / "style.md").write_text(RULES, encoding="utf-8")
    (root / "autodev.toml").write_text('[llm.tiers]\ntier1 = ["local/qwen2.5-coder-0.5b"]\n', encoding="utf-8")
    for n in range(dirs):
        directory = root / "src" / f"pkg{n // 50}" / f"mod{n}"
        directory.mkdir(parents=True)
        (directory / "code.py").write_text("x = 1\n", encoding="utf-8")
        if n % 100 == 0:
            (directory / "AGENTS.md").write_text(f"Rules for mod{n}.\n", encoding="utf-8")
    commands = root / ".autodev" / "commands"
    commands.mkdir(parents=True)
    for n in range(5):
        (commands / f"c{n}.md").write_text(f"---\ndescription: command {n}\n---\nDo $ARGUMENTS\n", encoding="utf-8")


def median_ms(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dirs", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp) / "project"
        root.mkdir()
        build(root, args.dirs)
        env = {"XDG_CONFIG_HOME": str(Path(temp) / "config-home"), "HOME": temp}
        memory = find_memory(root)
        watch = SourceWatch(root, env)
        watch.look(Config(), memory)
        target = ["src/pkg0/mod0/code.py"]
        rows = {
            "find_memory": median_ms(lambda: find_memory(root), args.runs),
            "memory_section (4000 tokens)": median_ms(lambda: memory_section(memory, target, 4000), args.runs),
            "memory_section (300 tokens)": median_ms(lambda: memory_section(memory, target, 300), args.runs),
            "find_commands": median_ms(lambda: find_commands(root, env), args.runs),
            "SourceWatch.changed": median_ms(lambda: watch.changed(Config(), memory), args.runs),
            "load_effective_config": median_ms(lambda: load_effective_config(root, env), args.runs),
        }
        print(f"{args.dirs} directories, {len(memory.files)} memory files, median of {args.runs} runs")
        for name, ms in rows.items():
            print(f"{name:32} {ms:8.2f} ms")


if __name__ == "__main__":
    main()
