"""Prompt-processing and generation speed of each bundled model, with ggml's extra weight buffers on and off.

    .venv/bin/python benchmarks/local_speed.py [--models local/smollm2-135m,...] [--repeat 3] [--python OTHER_PYTHON]

"On" is what autodev uses where the build has no AMX code (the Makefile's build); "off" is the run-time work-around
(`[local] extra_buffers = "off"`, which "auto" applies where AMX code would trap). Both columns come from one run on
one machine, each the best of --repeat measurements, every one in a fresh child process (`autodev.local.measure`).
--python measures another llama-cpp-python installation (another build of it) beside this one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from autodev.local.catalog import CATALOG, DEFAULT_LADDER
from autodev.local.cpu import cpu_model
from autodev.local.files import ensure_model_file, missing_parts, models_dir

ROOT = Path(__file__).resolve().parent.parent


def measure(python: str, model: Path, extra_buffers: str, prompt_tokens: int, gen_tokens: int) -> dict[str, float]:
    command = [python, "-m", "autodev.local.measure", "speed", str(model), "--extra-buffers", extra_buffers]
    command += ["--prompt-tokens", str(prompt_tokens), "--gen-tokens", str(gen_tokens)]
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}  # another venv finds this checkout's measure module
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False, env=environment)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr[-500:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def best(python: str, model: Path, extra_buffers: str, repeat: int, prompt: int, gen: int) -> tuple[float, float]:
    runs = [measure(python, model, extra_buffers, prompt, gen) for _ in range(repeat)]
    return max(r["prompt_tok_s"] for r in runs), max(r["gen_tok_s"] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(DEFAULT_LADDER))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--prompt-tokens", type=int, default=512)
    parser.add_argument("--gen-tokens", type=int, default=64)
    parser.add_argument("--python", action="append", default=[], help="another interpreter with llama-cpp-python")
    options = parser.parse_args()
    pythons = [sys.executable, *options.python]
    directory = models_dir(None, os.environ)
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; prompt {options.prompt_tokens} tokens, "
          f"generation {options.gen_tokens} tokens; best of {options.repeat}")  # fmt: skip
    header = (
        "| model | llama.cpp build | prompt tok/s, buffers on | prompt tok/s, off | gen tok/s, on | gen tok/s, off |"
    )
    print(header)
    print("|---|---|---|---|---|---|")
    for alias in options.models.split(","):
        if missing_parts(CATALOG[alias]):
            print(f"| {alias} | not installed | | | | |")
            continue
        path = ensure_model_file(CATALOG[alias], directory)
        for python in pythons:
            on = best(python, path, "on", options.repeat, options.prompt_tokens, options.gen_tokens)
            off = best(python, path, "off", options.repeat, options.prompt_tokens, options.gen_tokens)
            print(f"| {alias} | {python} | {on[0]:.1f} | {off[0]:.1f} | {on[1]:.1f} | {off[1]:.1f} |", flush=True)


if __name__ == "__main__":
    main()
