"""benchmarks/adversary.py runs end to end: one hostile reply through a real pass, and the table it prints."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "adversary.py"

pytestmark = [pytest.mark.req("BENCH-1"), pytest.mark.slow]


def adversary(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--rows", "hostile", "--limit", "1", "--jobs", "1", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_one_hostile_reply_prints_a_row_and_exits_1_exactly_when_it_failed() -> None:
    """The table has the header and one hostile row of one trial; failed trials are listed and mean exit 1."""
    done = adversary()
    assert "family       | tried | contained | failed | seconds" in done.stdout, done.stdout + done.stderr
    row = re.search(r"^hostile\s+\|\s+1\s+\|\s+(\d)\s+\|\s+(\d)\s+\|", done.stdout, re.MULTILINE)
    assert row is not None, done.stdout
    failed = int(row.group(2))
    assert int(row.group(1)) + failed == 1
    assert done.returncode == (1 if failed else 0), done.stderr
    assert ("\nfailed:\n- [hostile] " in done.stdout) == bool(failed)


def test_unknown_row_is_a_usage_error() -> None:
    """A misspelt row name exits 2 naming the rows there are, before any trial."""
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--rows", "kil"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "unknown row(s) kil" in done.stderr
    assert "kill, hostile" in done.stderr


def test_json_lists_every_trial_with_its_problems() -> None:
    """--json prints one object: the row's counts and each trial with ok and its problems."""
    done = adversary("--json")
    rows = json.loads(done.stdout)["rows"]
    assert [row["family"] for row in rows] == ["hostile"]
    (case,) = rows[0]["cases"]
    assert case["ok"] == (not case["problems"])
    assert rows[0]["failed"] == (0 if case["ok"] else 1)
