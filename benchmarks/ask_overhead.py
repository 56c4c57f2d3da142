"""Time to first token of `autodev ask` against calling LiteLLM directly: autodev's own overhead per question.

Both run as fresh processes against the same scripted OpenAI-compatible server (in this process), which streams
a 40-word answer with a pause between words, so that the first token is not the whole answer:

- direct: `python -c "import litellm; litellm.completion(..., stream=True)"`, printing the first content piece;
- autodev: `python -m autodev -C PROJECT ask --no-cache "QUESTION"` in a project whose autodev.toml names the
  same server (a hosted-style model: no local server, no spec, no tests).

For each, the time from starting the process to the first byte of the answer on its stdout is measured, N times;
the medians and their difference (autodev's overhead) are printed.

    .venv/bin/python benchmarks/ask_overhead.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autodev.testing import ScriptedReply, ScriptedServer

ANSWER = " ".join(f"word{n}" for n in range(40))
QUESTION = "say forty words"
DIRECT = """\
import os, sys
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
import litellm
stream = litellm.completion(model="openai/scripted", api_base=sys.argv[1], api_key="sk-local",
                            messages=[{"role": "user", "content": sys.argv[2]}], stream=True)
for chunk in stream:
    piece = chunk.choices[0].delta.content if chunk.choices else None
    if piece:
        sys.stdout.write(piece)
        sys.stdout.flush()
"""


def project(root: Path, url: str) -> Path:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    config = (
        f'[llm.tiers]\ntier1 = ["scripted"]\n[llm.models.scripted]\nmodel = "openai/scripted"\napi_base = "{url}"\n'
    )
    (root / "autodev.toml").write_text(config, encoding="utf-8")
    return root


def first_byte_s(argv: list[str]) -> float:
    """Seconds from starting ``argv`` to the first byte on its stdout; the process must then succeed."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    first = process.stdout.read(1)
    elapsed = time.perf_counter() - started
    rest = process.stdout.read()
    _, err = process.communicate(timeout=60)
    if process.returncode != 0 or not (first + rest).decode().startswith("word0"):
        raise SystemExit(f"{argv[:4]} failed ({process.returncode}): {err.decode()[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    env_python = sys.executable
    slow = ScriptedServer(responder=lambda request: ScriptedReply(content=ANSWER, chunk_delay_s=0.02))
    with slow as server, tempfile.TemporaryDirectory(prefix="ask-overhead-") as scratch:
        if True:
            root = project(Path(scratch), server.url)
            direct = [env_python, "-c", DIRECT, server.url, QUESTION]
            ask = [env_python, "-m", "autodev", "-C", str(root), "ask", "--no-cache", QUESTION]
            first_byte_s(direct), first_byte_s(ask)  # warm the file cache: the first run of each pays for the disk
            timings: dict[str, list[float]] = {"direct": [], "autodev": []}
            for _ in range(args.runs):  # interleaved, so that a slow moment of the machine hits both
                timings["direct"].append(first_byte_s(direct))
                timings["autodev"].append(first_byte_s(ask))
    medians = {name: statistics.median(values) for name, values in timings.items()}
    print(f"runs: {args.runs} each, python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    for name, values in timings.items():
        print(
            f"{name:8} time to first token: median {medians[name]:.3f} s (min {min(values):.3f}, max {max(values):.3f})"
        )
    print(f"overhead: {medians['autodev'] - medians['direct']:+.3f} s")
    print(json.dumps({"medians_s": medians, "overhead_s": medians["autodev"] - medians["direct"], "runs": timings}))


if __name__ == "__main__":
    main()
