"""The time an attempt adds by being judged in a copy of the project (autodev/verify/copy.py): sync and apply.

A project of 1,000 files and 50 MB is built in a temporary directory (a git-less tree: 900 small source files in
30 packages, 100 data files of 0.5 MB); the copy lives under its .autodev/scratch/, as in a pass. Three times are
measured, each the median of N runs:

- first: a new copy (the first attempt of a process): every file copied, then the attempt's change written;
- resync: one source file changed by the user, the copy synced again and the change written (every later attempt);
- damaged: the same after the code under test deleted a data file and rewrote a test file in the copy.

The pristine check after the run (tests and configuration) is timed too.

    .venv/bin/python benchmarks/trial_copy.py [--runs 9] [--dir /path/on/another/filesystem]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from autodev.verify.copy import ProjectCopy

SOURCE_FILES = 900
DATA_FILES = 100
DATA_BYTES = 512 * 1024
CHANGE = {"pkg00/mod000.py": "VALUE = 'changed by the attempt'\n"}


def build(root: Path) -> tuple[int, int]:
    """The project: returns (files, bytes)."""
    files = total = 0
    for n in range(SOURCE_FILES):
        package = root / f"pkg{n % 30:02d}"
        package.mkdir(parents=True, exist_ok=True)
        text = f"# module {n}\n" + "".join(f"def f{k}(x):\n    return x + {k}\n\n" for k in range(40))
        name = f"test_mod{n:03d}.py" if n % 10 == 0 else f"mod{n:03d}.py"
        (package / name).write_text(text, encoding="utf-8")
        files, total = files + 1, total + len(text)
    data = root / "data"
    data.mkdir()
    for n in range(DATA_FILES):
        blob = bytes([n % 251]) * DATA_BYTES
        (data / f"blob{n:03d}.bin").write_bytes(blob)
        files, total = files + 1, total + len(blob)
    (root / "pyproject.toml").write_text("[project]\nname = 'big'\n", encoding="utf-8")
    return files + 1, total


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--dir", type=Path, default=None, help="where to build the project (default: the temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="autodev-trial-copy-", dir=args.dir) as tmp:
        root = Path(tmp) / "project"
        root.mkdir()
        files, size = build(root)
        place = root / ".autodev" / "scratch" / "copy"
        first, resync, damaged, check = [], [], [], []
        reflinked = 0
        for run in range(args.runs):
            shutil.rmtree(place, ignore_errors=True)
            copy = ProjectCopy(root, place)

            def attempt(copy: ProjectCopy = copy) -> None:
                nonlocal reflinked
                reflinked = max(reflinked, copy.sync().reflinked)
                copy.write(CHANGE)

            first.append(timed(attempt))
            n = 31 + 10 * run  # never a test module (n % 10 == 0)
            edited = root / f"pkg{n % 30:02d}" / f"mod{n:03d}.py"
            edited.write_text(edited.read_text(encoding="utf-8") + f"# edit {run}\n", encoding="utf-8")
            resync.append(timed(attempt))
            (place / "data" / "blob007.bin").unlink()
            (place / "pkg00" / "test_mod000.py").write_text("def test_nothing():\n    pass\n", encoding="utf-8")
            check.append(timed(partial(copy.tampered, [], CHANGE)))
            damaged.append(timed(attempt))
        reflinks = "yes" if reflinked else "no (copy_file_range)"
        print(f"project: {files} files, {size / 1e6:.1f} MB, {args.runs} runs, reflinks: {reflinks}")
        print(f"first sync + apply:            median {statistics.median(first):7.1f} ms")
        print(f"re-sync after one edit + apply: median {statistics.median(resync):7.1f} ms")
        print(f"re-sync after damage + apply:   median {statistics.median(damaged):7.1f} ms")
        print(f"pristine check after the run:   median {statistics.median(check):7.1f} ms")


if __name__ == "__main__":
    main()
