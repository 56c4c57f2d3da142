"""Measurements of the installed llama.cpp, run in a child process: `python -m autodev.local.measure info|speed`.

A child process, because loading llama.cpp costs memory and time autodev's own process should not pay, and because a
build that traps (SIGILL) must kill the measurement, not autodev: the parent reads one JSON line, or an exit status
it can explain. `autodev models doctor` and `benchmarks/local_speed.py` are the parents.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Code-like text, as autodev's prompts are: the prompt is cut from it at the wanted token count.
_SAMPLE = "".join(
    f'def step_{n}(values: list[int]) -> int:\n    """Sum of the values above {n}."""\n'
    f"    return sum(v for v in values if v > {n})\n\n"
    for n in range(400)
)


def llama_system_info() -> str:
    """ggml's CPU features as compiled into this llama.cpp ("CPU : SSE3 = 1 | AVX2 = 1 | ... |")."""
    import llama_cpp.llama_cpp as library

    return str(library.llama_print_system_info().decode("utf-8", errors="replace").strip())


def build_info() -> dict[str, Any]:
    import llama_cpp

    return {"llama_cpp_python": llama_cpp.__version__, "system_info": llama_system_info()}


def speed(model: str, *, extra_buffers: bool, threads: int, prompt_tokens: int, gen_tokens: int) -> dict[str, Any]:
    """Prompt processing and generation, in tokens per second, as llama.cpp does them for one request."""
    import llama_cpp.llama_cpp as library
    from llama_cpp import Llama

    from autodev.local.launch import without_extra_buffers

    if not extra_buffers:
        without_extra_buffers(library)
    started = time.perf_counter()
    llm = Llama(model_path=model, n_ctx=prompt_tokens + gen_tokens + 64, n_threads=threads, verbose=False, seed=0)
    load_s = time.perf_counter() - started
    tokens = llm.tokenize(_SAMPLE.encode(), add_bos=True)[:prompt_tokens]
    llm.eval(tokens[:16])  # warm-up: first-use costs are not prompt processing
    llm.reset()  # type: ignore[no-untyped-call]
    started = time.perf_counter()
    llm.eval(tokens)
    prompt_s = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(gen_tokens):
        llm.eval([llm.sample(temp=0.0)])
    gen_s = time.perf_counter() - started
    return {
        "model": Path(model).name,
        "extra_buffers": extra_buffers,
        "threads": threads,
        "load_s": round(load_s, 3),
        "prompt_tokens": len(tokens),
        "prompt_tok_s": round(len(tokens) / prompt_s, 2),
        "gen_tokens": gen_tokens,
        "gen_tok_s": round(gen_tokens / gen_s, 2),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m autodev.local.measure")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("info", help="llama-cpp-python's version and ggml's system info, as JSON")
    measured = commands.add_parser("speed", help="tokens per second of one GGUF model, as JSON")
    measured.add_argument("model")
    measured.add_argument("--extra-buffers", choices=("on", "off"), default="on")
    measured.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    measured.add_argument("--prompt-tokens", type=int, default=512)
    measured.add_argument("--gen-tokens", type=int, default=64)
    options = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if options.command == "info":
        result = build_info()
    else:
        result = speed(
            options.model,
            extra_buffers=options.extra_buffers == "on",
            threads=options.threads,
            prompt_tokens=options.prompt_tokens,
            gen_tokens=options.gen_tokens,
        )
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
