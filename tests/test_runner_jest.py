"""jest for real, when it can be installed from npm's local cache (``npm install --offline``); skipped otherwise.

It costs an install of jest (seconds, ~50 MB), so it is marked slow (LANG-1).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import write_files

from autodev.verify.runner import run_tests

pytestmark = [
    pytest.mark.req("LANG-1"),
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed"),
]

SLUG = "function slugify(s) { return s.toLowerCase().replace(/\\s+/g, '-'); }\nmodule.exports = { slugify };\n"
SLUG_TEST = """\
const { slugify } = require('../slug.js');
describe('slugify', () => {
  test('lowercases', () => { expect(slugify('AB')).toBe('ab'); });
  test('dashes', () => { expect(slugify('a b')).toBe('a_b'); });
});
"""


@pytest.fixture(scope="module")
def jest_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("jest")
    write_files(root, {"package.json": json.dumps({"name": "slug", "private": True, "scripts": {"test": "jest"}})})
    try:
        installed = subprocess.run(
            ["npm", "install", "--offline", "--no-audit", "--no-fund", "--silent", "jest"],
            cwd=root, capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.skip("installing jest from npm's cache took too long")
    if installed.returncode != 0 or not (root / "node_modules" / ".bin" / "jest").exists():
        pytest.skip("jest is not in npm's local cache (npm install --offline jest failed)")
    return root


def test_npm_test_runs_jest_with_its_json_report(jest_project: Path) -> None:
    files = {"slug.js": SLUG, "tests/slug.test.js": SLUG_TEST, "tests/broken.test.js": "const x = ;\n"}
    write_files(jest_project, files)
    result = run_tests(jest_project, "npm test", timeout_s=120, scratch_dir=jest_project.parent / "scratch")
    assert result.runner == "jest" and result.used_junit
    assert {test_id: o.outcome for test_id, o in result.outcomes.items()} == {
        "tests/slug.test.js > slugify > lowercases": "passed",
        "tests/slug.test.js > slugify > dashes": "failed",
        "tests/broken.test.js": "error",
    }
    assert "Expected" in result.outcomes["tests/slug.test.js > slugify > dashes"].details
    assert result.load_failures[0].message.startswith("SyntaxError")
