"""What a dead server means, what the CPU and the build say, and the launcher's own decisions (pure or one process)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autodev.local import doctor
from autodev.local.cpu import amx_advertised, amx_compiled, build_features, cpu_flags
from autodev.local.crash import REBUILD_COMMAND, describe_exit
from autodev.local.launch import extra_buffers_wanted, parse, without_extra_buffers
from autodev.local.registry import pid_alive

pytestmark = pytest.mark.req("LOCAL-4")

# Shapes of llama_print_system_info() as llama-cpp-python 0.3.36 prints it.
WITH_AMX = "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 1 | REPACK = 1 |"
WITHOUT_AMX = "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | AVX512 = 1 | REPACK = 1 |"
AMX_CPU = frozenset({"avx2", "avx512f", "amx_tile", "amx_int8", "amx_bf16"})
PLAIN_CPU = frozenset({"avx2", "avx512f"})


class TestDescribeExit:
    def test_sigill_names_the_signal_its_meaning_the_fix_and_the_log(self, tmp_path: Path) -> None:
        log = tmp_path / "server.log"
        log.write_text("loading model\nllama_model_load: done\n", encoding="utf-8")
        message = describe_exit("local/tiny", -signal.SIGILL, log, when="on its first completion")
        assert "local/tiny died from SIGILL on its first completion" in message
        assert "CPU instructions that this machine does not allow" in message
        assert REBUILD_COMMAND in message
        assert str(log) in message and "llama_model_load: done" in message

    def test_sigkill_points_at_memory(self, tmp_path: Path) -> None:
        message = describe_exit("local/tiny", -signal.SIGKILL, tmp_path / "absent.log", when="during a request")
        assert "SIGKILL during a request" in message and "memory" in message

    def test_an_exit_status_and_a_vanished_server_say_so(self, tmp_path: Path) -> None:
        assert "exited with status 3 while starting" in describe_exit("m", 3, tmp_path / "x", when="while starting")
        assert "not started by this process" in describe_exit("m", None, tmp_path / "x", when="during a request")


class TestCpuAndBuild:
    def test_build_features_are_read_from_the_system_info(self) -> None:
        features = build_features(WITH_AMX)
        assert features["AVX512"] and features["AMX_INT8"] and features["REPACK"]
        assert amx_compiled(WITH_AMX)
        assert not amx_compiled(WITHOUT_AMX)
        assert not amx_compiled("CPU : AMX_INT8 = 0 |")

    def test_x86_and_arm_flags_are_read_from_cpuinfo(self, tmp_path: Path) -> None:
        x86 = tmp_path / "x86"
        x86.write_text("processor\t: 0\nflags\t\t: fpu avx2 amx_tile\n\nprocessor\t: 1\n", encoding="utf-8")
        arm = tmp_path / "arm"
        arm.write_text("processor\t: 0\nFeatures\t: fp asimd asimddp sve\n", encoding="utf-8")
        assert cpu_flags(x86) == {"fpu", "avx2", "amx_tile"}
        assert amx_advertised(cpu_flags(x86))
        assert cpu_flags(arm) == {"fp", "asimd", "asimddp", "sve"}
        assert not amx_advertised(cpu_flags(arm))

    def test_doctor_flags_instructions_the_cpu_does_not_advertise(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A build made for an AVX-512 machine, run on an AVX2-only one: a problem naming AVX512 and the fix."""
        monkeypatch.setattr(doctor.platform, "machine", lambda: "x86_64")
        problems = doctor._missing_cpu_features(build_features(WITHOUT_AMX), frozenset({"pni", "ssse3", "avx", "avx2"}))
        assert len(problems) == 1
        assert "AVX512" in problems[0] and "F16C" in problems[0] and REBUILD_COMMAND in problems[0]
        everything = frozenset(doctor.X86_FLAG_OF.values())
        assert doctor._missing_cpu_features(build_features(WITHOUT_AMX), everything) == []

    def test_a_measurement_killed_by_sigill_is_a_problem_with_its_fix(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The measuring child dies as an AMX build would on an AMX machine: the doctor reports it, it does not die."""
        suicide = "import os, signal; os.kill(os.getpid(), signal.SIGILL)"
        monkeypatch.setattr(doctor, "MEASURE_COMMAND", (sys.executable, "-c", suicide))
        result, problem = doctor._measure(["info"])
        assert result == {}
        assert problem is not None and problem.startswith("died from SIGILL")
        assert "pip install --force-reinstall" in problem


class TestLauncher:
    def test_auto_turns_extra_buffers_off_only_for_amx_code_on_an_amx_cpu(self) -> None:
        assert extra_buffers_wanted("auto", WITH_AMX, AMX_CPU)[0] is False
        assert extra_buffers_wanted("auto", WITHOUT_AMX, AMX_CPU)[0] is True
        assert extra_buffers_wanted("auto", WITH_AMX, PLAIN_CPU)[0] is True
        assert extra_buffers_wanted("on", WITH_AMX, AMX_CPU)[0] is True
        assert extra_buffers_wanted("off", WITHOUT_AMX, PLAIN_CPU)[0] is False

    def test_models_loaded_after_the_patch_skip_extra_buffers(self) -> None:
        """The patched default parameters are what llama-cpp-python's Llama() reads for every model it loads."""

        class Params:
            use_extra_bufts = True

        class Library:
            @staticmethod
            def llama_model_default_params() -> Params:
                return Params()

        without_extra_buffers(Library)
        assert Library.llama_model_default_params().use_extra_bufts is False

    def test_arguments_after_the_separator_go_to_the_server(self) -> None:
        options, server_args = parse(["--parent", "42", "--extra-buffers", "off", "--", "--model", "m.gguf"])
        assert (options.parent, options.extra_buffers) == (42, "off")
        assert server_args == ["--model", "m.gguf"]

    def test_the_server_exits_when_the_process_that_started_it_is_gone(self, tmp_path: Path) -> None:
        """The parent watch: a server whose parent died (kill -9 leaves no chance to stop it) exits by itself."""
        pid_file = tmp_path / "pid"
        watched = (
            "import os, sys, time; from autodev.local.launch import watch_parent; "
            f"open({str(pid_file)!r}, 'w').write(str(os.getpid())); watch_parent(os.getppid(), 0.05); time.sleep(60)"
        )
        starter = f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {watched!r}]); time.sleep(60)"
        parent = subprocess.Popen([sys.executable, "-c", starter])
        try:
            deadline = time.monotonic() + 20
            while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
                time.sleep(0.05)
            server = int(pid_file.read_text())
            assert pid_alive(server)
            parent.kill()
            parent.wait()
            deadline = time.monotonic() + 10
            while pid_alive(server) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not pid_alive(server)
        finally:
            parent.kill()
            parent.wait()
