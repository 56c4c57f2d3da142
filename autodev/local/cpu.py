"""What this machine's CPU advertises, and what a llama.cpp build was compiled to use.

Both are plain strings from the operating system and from ggml; nothing here loads a model. The launcher uses them
to decide the AMX work-around, and `autodev models doctor` prints them.
"""

from __future__ import annotations

import platform
import re
import subprocess
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
AMX_FLAGS = frozenset({"amx_tile", "amx_int8", "amx_bf16"})


def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str]:
    """The CPU's feature flags: /proc/cpuinfo on Linux (x86 `flags`, ARM `Features`), sysctl on macOS."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return _sysctl_flags()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in {"flags", "Features"}:
            return frozenset(value.split())
    return frozenset()


def cpu_model(cpuinfo: Path = CPUINFO) -> str:
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or platform.machine()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in {"model name", "Model", "cpu model"}:
            return value.strip()
    return platform.machine()


def _sysctl_flags() -> frozenset[str]:
    try:
        done = subprocess.run(
            ["sysctl", "-n", "machdep.cpu.features", "machdep.cpu.leaf7_features"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    return frozenset(flag.lower() for flag in done.stdout.split())


def build_features(system_info: str) -> dict[str, bool]:
    """ggml's `llama_print_system_info()` ("CPU : SSE3 = 1 | AVX2 = 1 | ... |") as feature -> compiled in."""
    features: dict[str, bool] = {}
    for name, value in re.findall(r"([A-Z][A-Z0-9_]*) = (\d+)", system_info):
        features[name] = value != "0"
    return features


def amx_compiled(system_info: str) -> bool:
    features = build_features(system_info)
    return any(features.get(name, False) for name in ("AMX_INT8", "AMX_TILE", "AMX_BF16", "AMX"))


def amx_advertised(flags: frozenset[str]) -> bool:
    return bool(flags & AMX_FLAGS)
