"""No orphans: a command that started local model servers stops them when it is told to stop.

The real `autodev bench` runs in its own process on a real exercise; its one model is served through
`[local] server_command` by the stand-in llama.cpp server, which answers the readiness probe and then takes 30 s
per completion, so the SIGTERM lands while the bench waits for a model: the worst moment.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autodev.local.registry import pid_alive

pytestmark = [pytest.mark.req("LOCAL-4"), pytest.mark.slow]

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FAKE_SERVER = FIXTURES / "fake_llama_server.py"


def bench_config(tmp_path: Path, starts: Path) -> Path:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    command = [sys.executable, str(FAKE_SERVER), "slow", "{alias}", "{port}", str(starts), "{model}"]
    config = tmp_path / "bench.toml"
    config.write_text(
        '[llm.tiers]\ntier1 = ["stand-in"]\n\n'
        f'[llm.models.stand-in]\ngguf = "{model}"\ntimeout_s = 120\n\n'
        f"[local]\nserver_command = [{', '.join(repr(part) for part in command)}]\n",
        encoding="utf-8",
    )
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
