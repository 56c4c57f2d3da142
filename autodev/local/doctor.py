"""`autodev models doctor`: does the installed llama.cpp suit this machine, and how fast is it here?

Everything that loads llama.cpp runs in a child process (`autodev.local.measure`), so a build that traps is reported
with its signal instead of killing the doctor. The report is data (a pydantic model) for `--json`; the CLI only
formats it.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from autodev.local.catalog import CATALOG
from autodev.local.cpu import amx_advertised, amx_compiled, build_features, cpu_flags, cpu_model
from autodev.local.crash import REBUILD_COMMAND, signal_meaning
from autodev.local.files import ensure_model_file, installed_local_ladder
from autodev.local.launch import extra_buffers_wanted
from autodev.local.server import llama_server_available

MEASURE_TIMEOUT_S = 300.0
MEASURE_COMMAND = (sys.executable, "-m", "autodev.local.measure")

# ggml's feature names (llama_print_system_info) -> the Linux /proc/cpuinfo flag a CPU must advertise for them.
X86_FLAG_OF = {
    "SSE3": "pni",
    "SSSE3": "ssse3",
    "AVX": "avx",
    "AVX2": "avx2",
    "F16C": "f16c",
    "FMA": "fma",
    "BMI2": "bmi2",
    "AVX_VNNI": "avx_vnni",
    "AVX512": "avx512f",
    "AVX512_VBMI": "avx512vbmi",
    "AVX512_VNNI": "avx512_vnni",
    "AVX512_BF16": "avx512_bf16",
    "AMX_INT8": "amx_int8",
}
SHOWN_CPU_FLAGS = frozenset({*X86_FLAG_OF.values(), "amx_tile", "amx_bf16", "asimd", "asimddp", "sve", "sve2", "i8mm"})


class Speed(BaseModel):
    """One measurement by `python -m autodev.local.measure speed`."""

    model_config = ConfigDict(extra="ignore")

    model: str
    extra_buffers: bool
    threads: int
    load_s: float
    prompt_tokens: int
    prompt_tok_s: float
    gen_tokens: int
    gen_tok_s: float


class DoctorReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    python: str
    machine: str
    cpu: str
    cpu_flags: list[str]  # the flags that matter to ggml
    llama_cpp_python: str | None
    system_info: str | None
    compiled_features: list[str]
    amx_compiled: bool
    amx_advertised: bool
    workaround: str
    speed: Speed | None
    problems: list[str]

    @property
    def healthy(self) -> bool:
        return not self.problems


def diagnose(*, extra_buffers: str, models_directory: Path, measure: bool = True) -> DoctorReport:
    flags = cpu_flags()
    problems: list[str] = []
    info, info_problem = _build_info()
    if info_problem:
        problems.append(info_problem)
    system_info = info.get("system_info") if info else None
    features = build_features(system_info or "")
    problems += _missing_cpu_features(features, flags)
    keep, workaround = extra_buffers_wanted(extra_buffers, system_info or "", flags)
    speed = None
    if measure and info is not None:
        speed, speed_problem = _smallest_model_speed(models_directory, extra_buffers=keep)
        if speed_problem:
            problems.append(speed_problem)
    return DoctorReport(
        python=sys.version.split()[0],
        machine=platform.machine(),
        cpu=cpu_model(),
        cpu_flags=sorted(flags & SHOWN_CPU_FLAGS),
        llama_cpp_python=info.get("llama_cpp_python") if info else None,
        system_info=system_info,
        compiled_features=sorted(name for name, on in features.items() if on),
        amx_compiled=amx_compiled(system_info or ""),
        amx_advertised=amx_advertised(flags),
        workaround=workaround,
        speed=speed,
        problems=problems,
    )


def _build_info() -> tuple[dict[str, Any] | None, str | None]:
    if not llama_server_available():
        return None, "llama.cpp's server is not installed: pip install 'autodev[local]' (or make install)"
    result, problem = _measure(["info"])
    if problem:
        return None, f"llama.cpp does not load here: {problem}"
    return result, None


def _missing_cpu_features(features: dict[str, bool], flags: frozenset[str]) -> list[str]:
    """Instructions the build uses that this CPU does not advertise: each one a SIGILL waiting to happen."""
    if not flags or platform.machine().lower() not in {"x86_64", "amd64"}:
        return []
    missing = [name for name, flag in X86_FLAG_OF.items() if features.get(name) and flag not in flags]
    if not missing:
        return []
    return [
        f"this llama.cpp build uses {', '.join(missing)}, which this CPU does not advertise (a build made on "
        f"another machine?): rebuild it here: {REBUILD_COMMAND}"
    ]


def _smallest_model_speed(directory: Path, *, extra_buffers: bool) -> tuple[Speed | None, str | None]:
    installed = installed_local_ladder()
    if not installed:
        return None, None  # nothing installed to measure; not a fault of the build
    alias = installed[0]
    path = ensure_model_file(CATALOG[alias], directory)
    arguments = ["speed", str(path), "--extra-buffers", "on" if extra_buffers else "off"]
    result, problem = _measure([*arguments, "--prompt-tokens", "256", "--gen-tokens", "32"])
    if problem:
        return None, f"{alias} could not be run: {problem}"
    return Speed.model_validate(result), None


def _measure(arguments: list[str]) -> tuple[dict[str, Any], str | None]:
    """Run the measurement child; its JSON, or what went wrong in words."""
    command = [*MEASURE_COMMAND, *arguments]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=MEASURE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return {}, f"no result within {MEASURE_TIMEOUT_S:g} s"
    if done.returncode < 0:
        return {}, signal_meaning(-done.returncode)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-3:])
        return {}, f"exited with status {done.returncode}: {tail}"
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {}, f"no JSON in its output: {done.stdout[-200:]!r}"
    return result if isinstance(result, dict) else {}, None
