"""``cargo test`` in real subprocesses on one tiny crate, copied per test: outcomes, ignored tests, rustc's errors.

A compile takes a second or two, so the module makes few runs (LANG-1).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import write_files

from autodev.verify.adapters.cargo import CargoAdapter
from autodev.verify.runner import run_tests
from autodev.verify.verdict import failure_summary, judge

pytestmark = [
    pytest.mark.req("LANG-1"),
    pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo is not installed"),
]

CRATE = {
    "Cargo.toml": '[package]\nname = "roman"\nversion = "0.1.0"\nedition = "2021"\n',
    "src/lib.rs": """\
pub fn to_roman(n: u32) -> String {
    ["", "I", "II", "III"][n as usize].to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn it_works() {
        assert_eq!(super::to_roman(1), "I");
    }
}
""",
    "tests/roman.rs": """\
use roman::to_roman;

#[test]
fn one() {
    assert_eq!(to_roman(1), "I");
}

#[test]
fn three() {
    assert_eq!(to_roman(3), "IV", "three is III");
}

#[test]
#[ignore]
fn two() {
    assert_eq!(to_roman(2), "II");
}
""",
}


@pytest.fixture(scope="module")
def crate_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("crate")
    write_files(source, CRATE)
    return source


@pytest.fixture
def crate(crate_source: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "roman"
    shutil.copytree(crate_source, copy)
    return copy


def test_outcomes_a_failure_message_and_ignored_tests_skipped_unless_included(crate: Path) -> None:
    scratch = crate.parent / "scratch"
    result = run_tests(crate, "cargo test", timeout_s=240, scratch_dir=scratch)
    assert result.runner == "cargo" and result.used_junit and result.exit_code != 0
    assert {test_id: o.outcome for test_id, o in result.outcomes.items()} == {
        "src/lib.rs::tests::it_works": "passed",
        "tests/roman.rs::one": "passed",
        "tests/roman.rs::three": "failed",
        "tests/roman.rs::two": "skipped",
    }
    failed = result.outcomes["tests/roman.rs::three"]
    assert "three is III" in failed.message and "tests/roman.rs:" in failed.message
    assert 'left: "III"' in failed.details
    assert "FAILED tests/roman.rs::three" in failure_summary(result)
    assert judge(result, result, ["tests/roman.rs::one"]).green

    included = run_tests(
        crate, "cargo test", timeout_s=240, scratch_dir=scratch, runner=CargoAdapter(include_ignored=True)
    )
    assert included.command[-2:] == ["--", "--include-ignored"]
    assert included.outcomes["tests/roman.rs::two"].outcome == "passed"


def test_a_compile_error_is_a_load_failure_with_rustcs_first_error(crate: Path) -> None:
    (crate / "src" / "lib.rs").write_text("pub fn to_roman(n: u32) -> String {\n    undefined_thing\n}\n")
    result = run_tests(crate, ["cargo", "test"], timeout_s=240, scratch_dir=crate.parent / "scratch")
    assert [o.test_id for o in result.load_failures] == ["src/lib.rs", "tests/roman.rs"]
    failure = result.outcomes["tests/roman.rs"]
    assert failure.message.startswith("error[E0425]: cannot find value `undefined_thing`")
    assert "src/lib.rs:2:5" in failure.message
    assert "not found in this scope" in failure.details
    verdict = judge(result, result, ["tests/roman.rs::one"])
    assert not verdict.green and "tests/roman.rs::one" in verdict.reason
