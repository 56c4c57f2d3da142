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
    if not cpuinfo.is_file():
        return _sysctl_flags()
    return frozenset((_cpuinfo_value(cpuinfo, {"flags", "Features"}) or "").split())


def cpu_model(cpuinfo: Path = CPUINFO) -> str:
    if not cpuinfo.is_file():
        return platform.processor() or platform.machine()
    return _cpuinfo_value(cpuinfo, {"model name", "Model", "cpu model"}) or platform.machine()


def _cpuinfo_value(cpuinfo: Path, keys: set[str]) -> str | None:
    """The value of the first line whose key is one of ``keys`` (the first processor's, as all are alike)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in keys:
            return value.strip()
    return None


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
