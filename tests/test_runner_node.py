"""``node --test`` in real subprocesses on a tiny slug project: outcomes, messages, load failures, timeouts (LANG-1)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from helpers import write_files

from autodev.verify.runner import run_tests
from autodev.verify.verdict import failure_summary, judge

pytestmark = [
    pytest.mark.req("LANG-1"),
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed"),
]

SLUG = "function slugify(s) { return s.trim().toLowerCase().replace(/\\s+/g, '-'); }\nmodule.exports = { slugify };\n"
SLUG_TEST = """\
const test = require('node:test');
const assert = require('node:assert');
const { slugify } = require('../slug.js');
test.describe('slugify', () => {
  test.it('lowercases', () => { assert.strictEqual(slugify('AB'), 'ab'); });
  test.it('dashes', () => { assert.strictEqual(slugify('a b'), 'a-b'); });
  test.it.skip('later', () => {});
});
"""


def test_all_passing(tmp_path: Path) -> None:
    write_files(tmp_path, {"slug.js": SLUG, "tests/slug.test.js": SLUG_TEST})
    result = run_tests(tmp_path, "node --test", timeout_s=60, scratch_dir=tmp_path / ".autodev")
    assert result.runner == "node" and result.used_junit and result.exit_code == 0
    assert {test_id: o.outcome for test_id, o in result.outcomes.items()} == {
        "tests/slug.test.js > slugify > lowercases": "passed",
        "tests/slug.test.js > slugify > dashes": "passed",
        "tests/slug.test.js > slugify > later": "skipped",
    }
    assert "✔ lowercases" in result.output  # the spec reporter still writes the output
    assert judge(result, result, ["tests/slug.test.js"]).green
    assert not list((tmp_path / ".autodev").iterdir())  # the report and the reporter went with the run


def test_a_failing_test_carries_its_message(tmp_path: Path) -> None:
    write_files(tmp_path, {"slug.js": SLUG.replace("'-'", "'_'"), "tests/slug.test.js": SLUG_TEST})
    result = run_tests(tmp_path, "node --test", timeout_s=60, scratch_dir=tmp_path / ".autodev")
    failed = result.outcomes["tests/slug.test.js > slugify > dashes"]
    assert failed.outcome == "failed"
    assert failed.message.startswith("AssertionError")
    assert "'a_b' !== 'a-b'" in failed.details
    assert "FAILED tests/slug.test.js > slugify > dashes" in failure_summary(result)
    assert not judge(result, result, ["tests/slug.test.js"]).green


def test_a_syntax_error_is_a_load_failure_of_the_test_file(tmp_path: Path) -> None:
    write_files(tmp_path, {"slug.js": "function slugify(s) { return s.; }\nmodule.exports = { slugify };\n",
                           "tests/slug.test.js": SLUG_TEST})  # fmt: skip
    result = run_tests(tmp_path, "node --test", timeout_s=60, scratch_dir=tmp_path / ".autodev")
    assert [o.test_id for o in result.load_failures] == ["tests/slug.test.js"]
    failure = result.load_failures[0]
    assert failure.message.startswith("SyntaxError")
    assert "slug.js:1" in failure.details  # where: the imported module the model writes
    assert not judge(result, result, ["tests/slug.test.js > slugify > lowercases"]).green


def test_a_timeout_kills_the_whole_group(tmp_path: Path) -> None:
    hang = """\
const test = require('node:test');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
test('hangs', () => {
  const child = spawn('sleep', ['300'], { stdio: 'ignore' });
  fs.writeFileSync('sleeper.pid', String(child.pid));
  while (true) {}
});
"""
    write_files(tmp_path, {"tests/hang.test.js": hang})
    started = time.monotonic()
    result = run_tests(tmp_path, "node --test", timeout_s=3, scratch_dir=tmp_path / ".autodev")
    assert result.timed_out and time.monotonic() - started < 15
    assert result.running is None  # node replays a file's events only after its process ends
    pid = int((tmp_path / "sleeper.pid").read_text())
    assert _gone(pid)


def _gone(pid: int, within_s: float = 3.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return not os.path.exists(f"/proc/{pid}")
