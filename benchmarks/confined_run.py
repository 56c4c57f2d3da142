"""The time confinement adds to one test run (autodev/verify/confine.py): a trivial command through run_tests,
confined and unconfined, the median of N runs each.

A small project in a temporary directory (a git repository, a copy under .autodev/scratch/ as in a pass); the
command is ``python -c pass`` run by the ``command`` runner, so what is measured is the start of a run: the
launcher's interpreter, the namespaces and mounts, the fork, against a plain start. Both run with the scratch
HOME; a third line shows the run with the user's HOME and no confinement (the behaviour before either).

    .venv/bin/python benchmarks/confined_run.py [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autodev.verify.confine import Confinement, describe, probe
from autodev.verify.copy import ProjectCopy
from autodev.verify.runner import run_tests

COMMAND = [sys.executable, "-c", "pass"]


def project(root: Path) -> ProjectCopy:
    root.mkdir()
    (root / "app.py").write_text("VALUE = 1\n", encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    copy = ProjectCopy(root, root / ".autodev" / "scratch" / "copy")
    copy.sync()
    return copy


def median_ms(copy: ProjectCopy, confinement: Confinement, runs: int) -> float:
    scratch = copy.project / ".autodev" / "tmp"
    times = []
    for _ in range(runs + 1):  # the first warms the caches (and the probe): not counted
        started = time.perf_counter()
        run = run_tests(copy.root, COMMAND, timeout_s=60, scratch_dir=scratch, runner="command", confine=confinement)
        times.append(time.perf_counter() - started)
        if run.exit_code != 0:
            raise SystemExit(f"the run failed: {run.output}")
    return statistics.median(times[1:]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    if not probe().available:
        raise SystemExit(f"confinement is not available here: {probe().reason}")
    with tempfile.TemporaryDirectory() as place:
        copy = project(Path(place) / "project")
        confined = Confinement(project=copy.project)
        print(f"tests confined: {describe(confined)}")
        rows = [
            ("confined, scratch HOME", confined),
            ("unconfined, scratch HOME", Confinement(mode="off", project=copy.project)),
            ("unconfined, user's HOME", Confinement(mode="off", home="user", project=copy.project)),
        ]
        results = {label: median_ms(copy, confinement, args.runs) for label, confinement in rows}
    for label, ms in results.items():
        print(f"{label:26} median {ms:7.1f} ms over {args.runs} runs")
    added = results["confined, scratch HOME"] - results["unconfined, scratch HOME"]
    print(f"confinement adds {added:.1f} ms a run")


if __name__ == "__main__":
    main()
