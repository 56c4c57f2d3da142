"""A bundled model's local server with llama-cpp-python's ``logits_all`` on (its server's default) and off (autodev's).

    .venv/bin/python benchmarks/server_logits.py [--models local/qwen2.5-coder-0.5b,...] [--prompt-tokens 2000]

With ``logits_all`` on, llama-cpp-python computes the vocabulary's logits for every prompt token and copies them
into an n_ctx x n_vocab array (8,192 x 151,936 floats for Qwen2.5: up to 5 GB): work and memory only logprobs
need, and autodev asks for none. For each model and setting a fresh server is started through autodev's own launcher
(as `autodev run` starts it), one prompt of about --prompt-tokens tokens is sent twice with a different first line
(so the second is not served from the prompt cache), and the script prints the seconds of each request, the
server's resident memory afterwards, and whether both settings gave the same greedy reply.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from autodev.local.catalog import CATALOG, DEFAULT_LADDER
from autodev.local.cpu import cpu_model
from autodev.local.files import ensure_model_file, missing_parts, models_dir
from autodev.local.server import ServerSettings, llama_server_command

# Code-like text, as autodev's prompts are (a test file): about 11 tokens per line for Qwen2.5's tokenizer.
_LINE = "    def test_case_{n}(self):\n        self.assertEqual(convert({n}), {square})\n"


def _prompt(tokens: int, first_line: str) -> str:
    lines = [_LINE.format(n=n, square=n * n) for n in range(tokens // 11)]
    return f"{first_line}\nclass Test:\n{''.join(lines)}\nWrite convert so that the tests pass."


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_ready(port: int, deadline_s: float) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the server on port {port} did not become ready in {deadline_s:.0f} s")


def _complete(port: int, alias: str, prompt: str) -> tuple[float, str]:
    body = {"model": alias, "messages": [{"role": "user", "content": prompt}], "max_tokens": 32, "temperature": 0}
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=900) as response:  # noqa: S310 (loopback http only)
        answer = json.loads(response.read())
    return time.perf_counter() - started, str(answer["choices"][0]["message"]["content"])


def _rss_mib(pid: int) -> float:
    """The resident memory of the launcher's process tree (the launcher runs the server in its own process)."""
    total = 0
    for line in subprocess.run(
        ["ps", "-o", "pid=,ppid=,rss=", "-A"], capture_output=True, text=True
    ).stdout.splitlines():
        child, parent, rss = (int(field) for field in line.split())
        if child == pid or parent == pid:
            total += rss
    return total / 1024


def measure(alias: str, model: Path, logits_all: bool, prompt_tokens: int, threads: int) -> dict[str, object]:
    port = _free_port()
    command = llama_server_command(alias, model, port, ServerSettings(threads=threads))
    if logits_all:  # llama-cpp-python's own default: autodev's command says False
        flag = command.index("--logits_all")
        command[flag + 1] = "True"
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_ready(port, 120)
        first_s, reply = _complete(port, alias, _prompt(prompt_tokens, "# one"))
        second_s, _ = _complete(port, alias, _prompt(prompt_tokens, "# two"))
        return {"first_s": first_s, "second_s": second_s, "rss_mib": _rss_mib(server.pid), "reply": reply}
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(DEFAULT_LADDER))
    parser.add_argument("--prompt-tokens", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    options = parser.parse_args()
    directory = models_dir(None, os.environ)
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores, {options.threads} threads; a prompt of about "
          f"{options.prompt_tokens} tokens, 32 generated; two requests per server, the second new")  # fmt: skip
    print("| model | logits_all | 1st request s | 2nd request s | server RSS MiB | same reply |")
    print("|---|---|---|---|---|---|")
    for alias in options.models.split(","):
        if missing_parts(CATALOG[alias]):
            print(f"| {alias} | not installed | | | | |")
            continue
        path = ensure_model_file(CATALOG[alias], directory)
        on = measure(alias, path, True, options.prompt_tokens, options.threads)
        off = measure(alias, path, False, options.prompt_tokens, options.threads)
        same = "yes" if on["reply"] == off["reply"] else "no"
        for label, row in (("on", on), ("off (autodev)", off)):
            seconds = f"{row['first_s']:.1f} | {row['second_s']:.1f}"
            print(f"| {alias} | {label} | {seconds} | {row['rss_mib']:.0f} | {same} |", flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
