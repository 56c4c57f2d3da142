"""A bounded adversarial suite for autodev: each row a family of hostile trials, each trial contained or failed.

    python benchmarks/adversary.py [--quick] [--rows kill,hostile,specs,configs,concurrency,budgets,edits]
                                   [--seed N] [--jobs N] [--limit N] [--json] [--json-out FILE]

Every trial runs the real CLI in subprocesses, in a temporary git project of its own, with the scripted
OpenAI-compatible server as the model. It prints ``family | tried | contained | failed | seconds`` per row, then
one line per failed trial (what was tried, what went wrong), and exits 1 if any trial failed. The default run
has at least 100 kill -9 trials and 100 hostile replies; ``--quick`` a dozen or so of each. ``--seed`` fixes
the random moments and mutations.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from adversary.common import Options, RowResult

ROWS = {
    "kill": "adversary.kill",
    "hostile": "adversary.hostile",
    "specs": "adversary.fuzz_specs",
    "configs": "adversary.fuzz_configs",
    "concurrency": "adversary.concurrency",
    "budgets": "adversary.budgets",
    "edits": "adversary.edits",
}


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few trials per row (about 3 minutes)")
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated, from {','.join(ROWS)}")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=3, help="trials in parallel within a row")
    parser.add_argument(
        "--limit", type=int, default=0, help="cap on the generated trials of each row (0: the row's own count)"
    )
    parser.add_argument("--only", default="", help="hostile row: only the replies whose name contains this")
    parser.add_argument("--json", action="store_true", help="the rows and every trial as one JSON object")
    parser.add_argument("--json-out", type=Path, help="also write that JSON object to this file")
    args = parser.parse_args(argv)
    unknown = [row for row in args.rows.split(",") if row not in ROWS]
    if unknown:
        parser.error(f"unknown row(s) {', '.join(unknown)}; choose from {', '.join(ROWS)}")
    return args


def run_row(name: str, options: Options) -> RowResult:
    started = time.monotonic()
    module = importlib.import_module(ROWS[name])
    cases = module.run(options)
    return RowResult(family=name, cases=cases, seconds=time.monotonic() - started)


def table(results: list[RowResult]) -> str:
    lines = [f"{'family':<12} | {'tried':>5} | {'contained':>9} | {'failed':>6} | {'seconds':>7}", "-" * 52]
    for row in results:
        contained = len(row.cases) - len(row.failed)
        lines.append(
            f"{row.family:<12} | {len(row.cases):>5} | {contained:>9} | {len(row.failed):>6} | {row.seconds:>7.1f}"
        )
    failures = [(row.family, case) for row in results for case in row.failed]
    if failures:
        lines += ["", "failed:"]
        lines += [f"- [{family}] {case.name}: {'; '.join(case.problems)}" for family, case in failures]
    return "\n".join(lines)


def as_json(results: list[RowResult]) -> dict[str, object]:
    """The rows and every trial, for --json and --json-out."""
    return {
        "rows": [
            {
                "family": row.family,
                "tried": len(row.cases),
                "contained": len(row.cases) - len(row.failed),
                "failed": len(row.failed),
                "seconds": round(row.seconds, 1),
                "cases": [{"name": c.name, "ok": c.ok, "problems": c.problems, "note": c.note} for c in row.cases],
            }
            for row in results
        ]
    }


def main(argv: list[str]) -> int:
    args = parse(argv)
    options = Options(quick=args.quick, seed=args.seed, jobs=args.jobs, limit=args.limit, only=args.only)
    results = []
    for name in args.rows.split(","):
        results.append(run_row(name, options))
        row = results[-1]
        print(
            f"{name}: {len(row.cases)} trials, {len(row.failed)} failed, {row.seconds:.0f} s",
            file=sys.stderr,
            flush=True,
        )
        if args.json_out:  # after every row, so that a run cut short still leaves its finished rows
            args.json_out.write_text(json.dumps(as_json(results), indent=2) + "\n", encoding="utf-8")
    print(json.dumps(as_json(results), indent=2) if args.json else table(results))
    return 1 if any(row.failed for row in results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
