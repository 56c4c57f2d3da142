"""Local servers through the real command line: crashes are diagnosed once, and no server outlives its command.

Models are served through `[local] server_command` by the stand-in llama.cpp server (tests/fixtures), in real
processes on real ports; the projects, git, pytest and LiteLLM's HTTP path are real. In the bench test the stand-in
answers the readiness probe and then takes 30 s per completion, so the signal lands while the bench waits for a
model: the worst moment.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import git

from autodev.cli.main import run_cli
from autodev.local.registry import pid_alive

pytestmark = [pytest.mark.req("LOCAL-4"), pytest.mark.slow]

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FAKE_SERVER = FIXTURES / "fake_llama_server.py"
WORDS = Path(__file__).resolve().parent.parent / "examples" / "words"


def served_by_stand_in(mode: str, model: Path, starts: Path) -> str:
    """autodev.toml lines: one tier, one GGUF model served by the stand-in in ``mode``."""
    model.write_bytes(b"GGUF")
    command = [sys.executable, str(FAKE_SERVER), mode, "{alias}", "{port}", str(starts), "{model}"]
    return (
        '[llm.tiers]\ntier1 = ["stand-in"]\n\n'
        f'[llm.models.stand-in]\ngguf = "{model}"\ntimeout_s = 120\n\n'
        f"[local]\nserver_command = [{', '.join(repr(part) for part in command)}]\n"
    )


def test_a_server_dying_of_sigill_on_its_first_completion_is_diagnosed_once(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`autodev run --once` with a build that traps: the pass fails with the signal, its meaning and the fix, and
    the server was started exactly once although the router retries and repairs (no restart loop)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    shutil.copytree(WORDS, repo, dirs_exist_ok=True)
    starts = tmp_path / "starts.txt"
    (repo / "autodev.toml").write_text(served_by_stand_in("sigill-first", tmp_path / "m.gguf", starts), "utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "spec and tests")
    code = run_cli(["-C", str(repo), "-q", "run", "--once", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 1
    assert "died from SIGILL on its first completion" in json.dumps(result)
    assert "CPU instructions that this machine does not allow" in json.dumps(result)
    assert len(starts.read_text(encoding="utf-8").split()) == 1
    assert git(repo, "status", "--porcelain").strip() == ""


def bench_config(tmp_path: Path, starts: Path) -> Path:
    config = tmp_path / "bench.toml"
    config.write_text(served_by_stand_in("slow", tmp_path / "model.gguf", starts), encoding="utf-8")
    return config


def wait_for(condition: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.timeout(180)
@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_bench_mid_exercise_leaves_no_server(tmp_path: Path, signal_number: signal.Signals) -> None:
    """SIGTERM or SIGINT while the bench waits for the model: the bench exits 130 and its server is gone (by pid)."""
    starts = tmp_path / "starts.txt"
    config = bench_config(tmp_path, starts)
    environment = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    log = tmp_path / "cache" / "autodev" / "models" / "servers" / "stand-in.log"
    command = [sys.executable, "-m", "autodev", "-q", "bench", str(FIXTURES / "exercism"), "--config", str(config)]
    command += ["--only", "grains", "--tries", "1", "--out", str(tmp_path / "out")]
    bench = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: log.exists() and "completion 2" in log.read_text(encoding="utf-8"), 120, "the model call")
        (server,) = (int(line) for line in starts.read_text(encoding="utf-8").split())
        assert pid_alive(server)
        bench.send_signal(signal_number)
        output, _ = bench.communicate(timeout=60)
        assert bench.returncode == 130, output.decode(errors="replace")
        wait_for(lambda: not pid_alive(server), 10, f"server {server} to stop")
    finally:
        bench.kill()
        bench.wait()
        for line in starts.read_text(encoding="utf-8").split() if starts.exists() else []:
            if pid_alive(int(line)):
                os.killpg(int(line), signal.SIGKILL)
