"""`autodev bench` on JavaScript (Jest + Babel) and Rust (cargo test) exercises: layout, shared runners, oracle."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import tomllib

from autodev.bench.exercise import ExerciseError, build_project, load_exercise, restore_tests
from autodev.bench.runner import BenchOptions, base_config, judge
from autodev.bench.tracks import (
    BenchSetupError,
    RunnerSetup,
    cache_root,
    detect_track,
    ensure_js_runner,
    js_runner_dir,
    js_runner_ready,
    union_dev_dependencies,
)
from autodev.cli.main import run_cli

pytestmark = pytest.mark.req("BENCH-3")

SHARED = Path(__file__).resolve().parents[2] / "shared" / "bench"
if not SHARED.is_dir():  # a worktree next to the main checkout
    SHARED = Path("/work/shared/bench")
JS_SET, RUST_SET = SHARED / "exercism-js", SHARED / "exercism-rust"


def copy_exercise(source: Path, tmp_path: Path) -> Path:
    if not source.is_dir():
        pytest.skip(f"{source} is not here (the shared development sets)")
    target = tmp_path / "set" / source.name
    shutil.copytree(source, target)
    return target


def tracked_files(root: Path) -> set[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True).stdout
    return set(listed.split())


def fake_npm(tmp_path: Path, *, fails: bool = False) -> Path:
    """An npm that 'installs' by making node_modules/.bin/jest, and counts its calls."""
    script = tmp_path / "npm"
    body = (
        'echo "npm ERR! network request failed" >&2; exit 1'
        if fails
        else 'mkdir -p node_modules/.bin && touch node_modules/.bin/jest && echo x >> "$CALLS"'
    )
    script.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


class TestPreparation:
    def test_a_javascript_exercise_keeps_its_layout_and_links_the_shared_runner(self, tmp_path: Path) -> None:
        exercise = load_exercise(copy_exercise(JS_SET / "leap", tmp_path))
        shared = tmp_path / "cache" / "js-runner"
        (shared / "node_modules" / ".bin").mkdir(parents=True)
        root = tmp_path / "project"
        build_project(exercise, root, js_runner=shared)

        assert exercise.track == "javascript"
        spec = (root / "SPEC.md").read_text(encoding="utf-8")
        assert "leap year" in spec.lower() and spec.rstrip().endswith("Files: `leap.js`")
        for name in ("leap.js", "package.json", "babel.config.js"):
            assert (root / name).read_bytes() == (exercise.directory / name).read_bytes()
        original = (exercise.directory / "leap.spec.js").read_text(encoding="utf-8")
        tests = (root / "leap.spec.js").read_text(encoding="utf-8")
        assert "xtest(" in original and "xtest(" not in tests  # every test runs, as Exercism's runner does
        assert tests == original.replace("xtest(", "test(")
        assert not (root / ".meta").exists() and not (root / ".docs").exists()
        config = tomllib.loads((root / "autodev.toml").read_text(encoding="utf-8"))
        jest = f"node {shared / 'node_modules' / 'jest' / 'bin' / 'jest.js'}"
        assert config == {"project": {"test_command": jest}, "tests": {"runner": "jest"}}
        link = root / "node_modules"
        assert link.is_symlink() and link.resolve() == (shared / "node_modules").resolve()
        assert "node_modules" not in tracked_files(root) and "leap.spec.js" in tracked_files(root)

    def test_a_rust_exercise_runs_its_ignored_tests(self, tmp_path: Path) -> None:
        exercise = load_exercise(copy_exercise(RUST_SET / "eliuds-eggs", tmp_path))
        root = tmp_path / "project"
        build_project(exercise, root)

        assert exercise.track == "rust"
        assert (root / "SPEC.md").read_text(encoding="utf-8").rstrip().endswith("Files: `src/lib.rs`, `Cargo.toml`")
        for name in ("src/lib.rs", "Cargo.toml", "tests/eliuds_eggs.rs"):
            assert (root / name).read_bytes() == (exercise.directory / name).read_bytes()
        config = tomllib.loads((root / "autodev.toml").read_text(encoding="utf-8"))
        assert config["tests"] == {"runner": "cargo", "include_ignored": True}
        assert config["project"]["test_command"] == "cargo test"
        assert not (root / "node_modules").exists()

        (root / "tests" / "eliuds_eggs.rs").write_text("// emptied by the pass\n", encoding="utf-8")
        restore_tests(exercise, root)
        original = (exercise.directory / "tests" / "eliuds_eggs.rs").read_bytes()
        assert (root / "tests" / "eliuds_eggs.rs").read_bytes() == original

    def test_the_pass_gets_the_track_runner_and_command(self, tmp_path: Path) -> None:
        exercise = load_exercise(copy_exercise(RUST_SET / "eliuds-eggs", tmp_path))
        config = base_config(BenchOptions(mode="oracle"), exercise, "http://127.0.0.1:1")
        assert config.project.test_command == "cargo test"
        assert config.tests.runner == "cargo" and config.tests.include_ignored

    def test_a_javascript_copy_without_the_shared_runner_is_refused(self, tmp_path: Path) -> None:
        exercise = load_exercise(copy_exercise(JS_SET / "leap", tmp_path))
        with pytest.raises(ExerciseError, match="shared runner"):
            build_project(exercise, tmp_path / "project")

    def test_the_track_is_read_from_the_files(self, tmp_path: Path) -> None:
        (tmp_path / "js").mkdir()
        (tmp_path / "js" / "package.json").write_text("{}", encoding="utf-8")
        (tmp_path / "rs").mkdir()
        (tmp_path / "rs" / "Cargo.toml").write_text("", encoding="utf-8")
        (tmp_path / "py").mkdir()
        assert [detect_track(tmp_path / name) for name in ("js", "rs", "py")] == ["javascript", "rust", "python"]

    def test_each_example_file_replaces_the_solution_file_of_its_kind(self, tmp_path: Path) -> None:
        exercise = load_exercise(copy_exercise(RUST_SET / "alphametics", tmp_path))
        files = exercise.reference_files()
        assert list(files) == ["src/lib.rs", "Cargo.toml"]
        assert "itertools" in files["Cargo.toml"] and "fn solve" in files["src/lib.rs"]
        reply = exercise.reference_reply()
        assert reply.startswith("src/lib.rs\n```rust\n") and "Cargo.toml\n```toml\n" in reply


class TestSharedJavaScriptRunner:
    def packages(self, tmp_path: Path, versions: list[str]) -> list[Path]:
        paths = []
        for index, version in enumerate(versions):
            path = tmp_path / f"ex{index}" / "package.json"
            path.parent.mkdir(parents=True)
            path.write_text(json.dumps({"devDependencies": {"jest": version, f"only{index}": "1.0.0"}}), "utf-8")
            paths.append(path)
        return paths

    def test_the_union_of_the_dev_dependencies_pins_what_they_name(self, tmp_path: Path) -> None:
        union = union_dev_dependencies(self.packages(tmp_path, ["^30.2.0", "^30.2.0", "^29.7.0"]))
        assert union == {"jest": "^30.2.0", "only0": "1.0.0", "only1": "1.0.0", "only2": "1.0.0"}

    def test_npm_runs_once_then_the_install_is_reused_offline(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        calls = tmp_path / "calls"
        monkeypatch.setenv("CALLS", str(calls))
        packages, npm, directory = self.packages(tmp_path, ["^30.2.0"]), fake_npm(tmp_path), tmp_path / "runner"
        first = ensure_js_runner(packages, directory, npm=str(npm))
        second = ensure_js_runner(packages, directory, npm=str(npm))
        assert first[:2] == (directory, True) and second == (directory, False, 0.0)
        assert calls.read_text(encoding="utf-8").count("x") == 1
        manifest = json.loads((directory / "package.json").read_text(encoding="utf-8"))
        assert manifest["devDependencies"] == {"jest": "^30.2.0", "only0": "1.0.0"}
        assert js_runner_ready(directory, manifest["devDependencies"])
        assert not js_runner_ready(directory, {"jest": "^31.0.0"})  # new devDependencies: npm runs again

    def test_a_failed_install_says_what_to_run(self, tmp_path: Path) -> None:
        directory = tmp_path / "runner"
        with pytest.raises(BenchSetupError) as caught:
            ensure_js_runner(self.packages(tmp_path, ["^30.2.0"]), directory, npm=str(fake_npm(tmp_path, fails=True)))
        message = str(caught.value)
        assert "network request failed" in message and f"cd {directory} && npm install" in message
        assert "later runs are offline" in message

    def test_a_missing_npm_says_what_to_install(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
        with pytest.raises(BenchSetupError, match=r"npm is not on PATH: install Node\.js"):
            ensure_js_runner(self.packages(tmp_path, ["^30.2.0"]), tmp_path / "runner")

    def test_the_cache_follows_xdg_and_cargo_gets_its_target_only_for_test_runs(self, tmp_path: Path) -> None:
        env = {"XDG_CACHE_HOME": str(tmp_path), "PATH": "/usr/bin"}
        assert cache_root(env) == tmp_path / "autodev" / "bench"
        assert js_runner_dir({"HOME": "/nowhere"}).parts[-3:] == ("autodev", "bench", "js-runner")
        setup = RunnerSetup(cargo_target=tmp_path / "target")
        assert setup.test_env(env) == {**env, "CARGO_TARGET_DIR": str(tmp_path / "target")}
        assert "CARGO_TARGET_DIR" not in os.environ or os.environ["CARGO_TARGET_DIR"] != str(tmp_path / "target")
        js = RunnerSetup(js_runner=tmp_path / "js").test_env({**env, "NODE_PATH": "/elsewhere"})
        assert js["NODE_PATH"] == f"{tmp_path / 'js' / 'node_modules'}{os.pathsep}/elsewhere"


def oracle(exercises: Path, out: Path) -> list[dict[str, Any]]:
    assert run_cli(["bench", str(exercises), "--oracle", "--out", str(out)]) == 0
    lines = (out / "results.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


class TestRealOracle:
    @pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo is not installed")
    def test_a_rust_example_passes_cargo_test_with_its_ignored_tests(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        copy_exercise(RUST_SET / "eliuds-eggs", tmp_path)
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        capsys.readouterr()
        assert run_cli(["bench", str(tmp_path / "set"), "--oracle", "--json", "--out", str(tmp_path / "out")]) == 0
        printed = json.loads(capsys.readouterr().out)
        [row] = printed["results"]
        assert row["language"] == "rust" and row["reference_passed"] is True, row
        target = tmp_path / "cache" / "autodev" / "bench" / "cargo-target"
        assert (target / "debug").is_dir() and not (tmp_path / "set" / "eliuds-eggs" / "target").exists()
        totals = printed["summary"]["strategies"][0]["by_language"]
        assert totals["rust"]["exercises"] == 1 and totals["rust"]["reference_passed"] == 1
        assert f"CARGO_TARGET_DIR={target}" in printed["summary"]["run"]["setup"]

    def test_a_javascript_example_passes_jest(self, tmp_path: Path) -> None:
        exercise = load_exercise(JS_SET / "leap") if JS_SET.is_dir() else pytest.skip("no JavaScript set")
        packages = [path / "package.json" for path in JS_SET.iterdir() if (path / "package.json").is_file()]
        if shutil.which("node") is None or not js_runner_ready(js_runner_dir(), union_dev_dependencies(packages)):
            pytest.skip("the shared JavaScript runner is not installed (`autodev bench ../shared/bench/exercism-js`)")
        copy_exercise(exercise.directory, tmp_path)
        [row] = oracle(tmp_path / "set", tmp_path / "out")
        assert row["language"] == "javascript" and row["reference_passed"] is True, row

    def test_a_javascript_copy_without_its_node_modules_link_still_runs_jest(self, tmp_path: Path) -> None:
        """The pass tests candidates in scratch copies that leave node_modules out: the command and NODE_PATH
        reach the shared install anyway, and every test runs (none left skipped by xtest)."""
        exercise = load_exercise(JS_SET / "pig-latin") if JS_SET.is_dir() else pytest.skip("no JavaScript set")
        packages = [path / "package.json" for path in JS_SET.iterdir() if (path / "package.json").is_file()]
        if shutil.which("node") is None or not js_runner_ready(js_runner_dir(), union_dev_dependencies(packages)):
            pytest.skip("the shared JavaScript runner is not installed (`autodev bench ../shared/bench/exercism-js`)")
        setup = RunnerSetup(js_runner=js_runner_dir())
        root = tmp_path / "project"
        build_project(exercise, root, js_runner=setup.js_runner)
        (root / "node_modules").unlink()
        config = base_config(BenchOptions(mode="oracle", setup=setup), exercise, None)
        for name, text in exercise.reference_files().items():
            (root / name).write_text(text, encoding="utf-8")
        passed, verdict = judge(exercise, root, config, setup, timeout_s=120, scratch_dir=tmp_path / "scratch")
        assert passed, verdict.output
        assert len(verdict.passed_ids) > 20 and not verdict.skipped_ids and verdict.runner == "jest"
