"""Caps that hold: across processes (a reservation in spend.json before every call), against a server that ignores
``max_tokens`` (the real cost recorded, a warning, the next call refused), and with every paid candidate tested.

Calls go through the real LiteLLM HTTP path to the scripted server; the two processes are real subprocesses.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from helpers import HOPELESS, REPO_ROOT, RIGHT, autodev, fresh_python, git, run_json, setup_example
from pydantic import SecretStr
from structlog.testing import capture_logs

from autodev.config import BudgetConfig, LLMConfig, load_config
from autodev.errors import BudgetExceededError
from autodev.llm.client import Completion, LiteLLMClient, Message, load_litellm
from autodev.llm.models import ResolvedModel, resolve_model
from autodev.project import ProjectPaths
from autodev.route.budget import Budget, estimate_prompt_tokens, prompt_tokens
from autodev.route.router import Router
from autodev.route.spend_file import SpendFile
from autodev.testing import RecordedRequest, ScriptedReply, ScriptedServer

pytestmark = pytest.mark.req("ROUTE-4")

DAY = date(2026, 12, 3)
QUESTION: list[Message] = [{"role": "user", "content": "write it"}]


def project_config(server_url: str, *, model_extra: str, budget: str, llm_extra: str = "") -> str:
    """One tier of one priced model at ``server_url``, no response cache (identical prompts must be real calls)."""
    return (
        f"[project]\ntest_command = {json.dumps(f'{sys.executable} -m pytest')}\n"
        "[synthesis]\nmax_attempts = 3\n"
        f"[llm]\ncache_responses = false\nretry_backoff_s = 0.01\n{llm_extra}"
        '[llm.tiers]\ntier1 = ["scripted"]\n'
        f'[llm.models.scripted]\nmodel = "openai/scripted"\napi_base = "{server_url}"\ntimeout_s = 20\n{model_extra}'
        f"[budget]\n{budget}\n"
    )


def day_total(spend: Path) -> float:
    """Everything spend.json holds as spent, all days together."""
    if not spend.exists():
        return 0.0
    return float(sum(json.loads(spend.read_text(encoding="utf-8"))["days"].values()))


def a_dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(timeout=60)
    return process.pid


class TestReservationsOnFile:
    def test_a_reservation_counts_against_the_cap_until_it_is_settled_at_the_real_cost(self, tmp_path: Path) -> None:
        """0.30 spent and 0.40 reserved leave no room for 0.40 under 1.00; settling the 0.40 at 0.10 makes room."""
        spend = SpendFile(tmp_path / "spend.json")
        spend.add(DAY, 0.30)
        first = spend.reserve(DAY, 0.40, cap=1.0, floor_usd=0.0, ttl_s=60)
        assert first.id is not None
        refused = spend.reserve(DAY, 0.40, cap=1.0, floor_usd=0.0, ttl_s=60)
        assert refused.id is None
        assert refused.committed_usd == pytest.approx(0.70)
        assert spend.settle(first.id, DAY, 0.10) == pytest.approx(0.40)
        assert spend.reserved(DAY) == 0.0
        assert spend.reserve(DAY, 0.40, cap=1.0, floor_usd=0.0, ttl_s=60).id is not None

    def test_a_dead_process_or_an_expired_reservation_holds_nothing(self, tmp_path: Path) -> None:
        """A process killed mid-call leaves its reservation on file: it is ignored, then dropped at the next write."""
        path = tmp_path / "spend.json"
        reservations = {
            "dead": {"day": DAY.isoformat(), "usd": 0.9, "pid": a_dead_pid(), "expires": time.time() + 600},
            "expired": {"day": DAY.isoformat(), "usd": 0.9, "pid": 1, "expires": time.time() - 1},
        }
        path.write_text(json.dumps({"schema": 1, "days": {}, "reservations": reservations}))
        spend = SpendFile(path)
        assert spend.reserved(DAY) == 0.0
        held = spend.reserve(DAY, 0.5, cap=1.0, floor_usd=0.0, ttl_s=60)
        assert held.id is not None
        assert set(json.loads(path.read_text())["reservations"]) == {held.id}

    def test_a_live_process_s_reservation_holds_its_share(self, tmp_path: Path) -> None:
        """The parent of this test runs: its 0.9 reserved leaves 0.1 of a 1.00 cap."""
        import os

        path = tmp_path / "spend.json"
        live = {"day": DAY.isoformat(), "usd": 0.9, "pid": os.getppid(), "expires": time.time() + 600}
        path.write_text(json.dumps({"schema": 1, "days": {}, "reservations": {"other": live}}))
        spend = SpendFile(path)
        assert spend.reserve(DAY, 0.2, cap=1.0, floor_usd=0.0, ttl_s=60).id is None
        assert spend.reserve(DAY, 0.1, cap=1.0, floor_usd=0.0, ttl_s=60).id is not None


class TestReservationsInMemory:
    def test_parallel_calls_cannot_overshoot_the_run_cap(self, tmp_path: Path) -> None:
        """Eight threads ask at once for a $0.10 worst case under a $0.35 run cap: three get through, not eight."""
        model = ResolvedModel(name="m", litellm_model="openai/m", max_tokens=100, input_cost_per_token=0.0,
                              output_cost_per_token=0.001)  # fmt: skip
        budget = Budget(BudgetConfig(per_run_usd=0.35, per_day_usd=10.0), tmp_path / "spend.json")
        start = threading.Barrier(8)
        admitted: list[int] = []

        def call(number: int) -> None:
            start.wait(timeout=30)
            try:
                budget.before_call(model, QUESTION)
            except BudgetExceededError:
                return
            admitted.append(number)
            time.sleep(0.2)  # every other thread checks while this call is in flight
            answer = Completion(text="x", model="openai/m", input_tokens=5, output_tokens=100, cost_usd=0.1,
                                duration_s=0.2)  # fmt: skip
            budget.after_call(model, answer, None)

        threads = [threading.Thread(target=call, args=(number,)) for number in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(admitted) == 3
        assert budget.spent_run_usd == pytest.approx(0.3)
        assert day_total(tmp_path / "spend.json") == pytest.approx(0.3)


_ROUTER_PROCESS = """
import sys, time
from pathlib import Path
from autodev.config import load_config
from autodev.errors import BudgetExceededError
from autodev.llm.client import LiteLLMClient, load_litellm
from autodev.project import ProjectPaths
from autodev.route.router import Router

root, ready, me = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
load_litellm()
(ready / me).touch()
while len(list(ready.iterdir())) < 2:
    time.sleep(0.01)
paths = ProjectPaths(root=root)
router = Router(paths, load_config(paths.config_file), LiteLLMClient(retries=0), {})
caller = router.caller("R", lambda *args: None)
calls = 0
while True:
    try:
        caller.ask(caller.tiers[0], [{"role": "user", "content": f"{me} {calls}"}], repair=False, attempt=0)
    except BudgetExceededError:
        break
    calls += 1
print(calls)
"""


class TestAcrossProcesses:
    def test_two_processes_together_stay_within_the_day_cap(self, tmp_path: Path) -> None:
        """Each call may cost $0.10 (100 tokens at $0.001, max_tokens 100) and costs that; two routers in two
        processes, their calls overlapping, make three calls in all under a $0.39 day cap, never four."""
        root, ready = tmp_path / "project", tmp_path / "ready"
        root.mkdir()
        ready.mkdir()

        def slow(request: RecordedRequest) -> ScriptedReply:
            return ScriptedReply(content="ok", prompt_tokens=10, completion_tokens=100, delay_s=0.5)

        with ScriptedServer(responder=slow) as server:
            priced = "input_cost_per_token = 0.0\noutput_cost_per_token = 0.001\nmax_tokens = 100\n"
            config = project_config(server.url, model_extra=priced, budget="per_day_usd = 0.39")
            (root / "autodev.toml").write_text(config, encoding="utf-8")
            env = {"PYTHONPATH": str(REPO_ROOT), "AUTODEV_NO_NETWORK": "1", "PATH": "/usr/bin:/bin"}
            command = [sys.executable, "-c", _ROUTER_PROCESS, str(root), str(ready)]
            pipes: dict[str, Any] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
            workers = [subprocess.Popen([*command, name], env=env, **pipes) for name in ("a", "b")]
            outputs = [worker.communicate(timeout=180) for worker in workers]
            requests = server.requests
        assert [worker.returncode for worker in workers] == [0, 0], outputs
        assert sum(int(out.strip().splitlines()[-1]) for out, _ in outputs) == 3
        assert len(requests) == 3
        assert day_total(root / ".autodev" / "spend.json") == pytest.approx(0.30)
        assert all(request.body.get("max_tokens") == 100 for request in requests)
        assert "reservations" not in json.loads((root / ".autodev" / "spend.json").read_text())


class TestMaxTokens:
    def test_max_tokens_is_sent_even_when_no_model_setting_names_it(self, server: ScriptedServer) -> None:
        """No max_tokens and no price: the request carries the 4096 the budget would assume, not the server's
        default; a configured one is sent as it is."""
        client = LiteLLMClient(retries=0)
        bare = ResolvedModel(name="scripted", litellm_model="openai/scripted", api_base=server.url,
                             api_key=SecretStr("loopback"))  # fmt: skip
        server.push("a", "b")
        client.complete(bare, QUESTION)
        client.complete(bare.model_copy(update={"max_tokens": 512}), QUESTION)
        assert [request.body.get("max_tokens") for request in server.requests] == [4096, 512]

    def test_a_bundled_local_model_still_gets_the_local_max_tokens(self, server: ScriptedServer) -> None:
        """Local models already had [local] max_tokens: unchanged."""
        local = resolve_model(
            "local/qwen2.5-coder-0.5b", LLMConfig(), {}, provider_known=lambda _: False, local_max_tokens=300
        )
        server.push("a")
        LiteLLMClient(retries=0).complete(local.model_copy(update={"api_base": server.url}), QUESTION)
        assert server.requests[0].body.get("max_tokens") == 300


INDENTED_CODE: list[Message] = [{"role": "user", "content": "def f(x):\n    return x + 1\n" * 20}]


class TestPromptTokens:
    def test_an_openai_model_is_counted_with_its_tokenizer_once_litellm_is_loaded(self) -> None:
        """Indented code is more tokens than 3 characters a token: the tokenizer's count is used where it is known;
        a model whose tokenizer LiteLLM would have to guess or download keeps the estimate."""
        litellm = load_litellm()
        gpt = ResolvedModel(name="g", litellm_model="openai/gpt-4o-mini")
        counted = litellm.token_counter(model="gpt-4o-mini", messages=INDENTED_CODE)
        assert counted != estimate_prompt_tokens(INDENTED_CODE)
        assert prompt_tokens(gpt, INDENTED_CODE) == counted
        unknown = ResolvedModel(name="s", litellm_model="openai/scripted")
        assert prompt_tokens(unknown, INDENTED_CODE) == estimate_prompt_tokens(INDENTED_CODE)

    def test_without_litellm_loaded_the_estimate_is_used_and_litellm_stays_unloaded(self) -> None:
        """A cap check never pays seconds for LiteLLM's import just to count a prompt."""
        code = (
            "import sys\nfrom autodev.llm.models import ResolvedModel\n"
            "from autodev.route.budget import estimate_prompt_tokens, prompt_tokens\n"
            "m = [{'role': 'user', 'content': 'def f(x):\\n    return x\\n' * 20}]\n"
            "gpt = ResolvedModel(name='g', litellm_model='gpt-4o-mini')\n"
            "print(prompt_tokens(gpt, m) == estimate_prompt_tokens(m), 'litellm' in sys.modules)\n"
        )
        result = fresh_python(code)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["True", "False"]


class TestServerIgnoringMaxTokens:
    def test_the_real_cost_is_recorded_with_a_warning_and_the_next_call_is_refused(
        self, repo: Path, server: ScriptedServer
    ) -> None:
        """max_tokens 512 at $0.0001 reserves $0.0512; the server answers 3,000 tokens ($0.30) under a $0.20 day
        cap. The $0.30 is what spend.json and the run record, a warning names the model, and no second request
        is made: the cap is overshot by that one call and no more."""
        priced = "input_cost_per_token = 0.0\noutput_cost_per_token = 0.0001\nmax_tokens = 512\n"
        (repo / "autodev.toml").write_text(
            project_config(server.url, model_extra=priced, budget="per_day_usd = 0.2"), encoding="utf-8"
        )
        server.push(ScriptedReply(content="long", prompt_tokens=10, completion_tokens=3000), "never asked")
        paths = ProjectPaths(root=repo)
        with capture_logs() as logs:
            router = Router(paths, load_config(paths.config_file), LiteLLMClient(retries=0), {})
            caller = router.caller("R", lambda *args: None)
            _, answer = caller.ask(caller.tiers[0], QUESTION, repair=False, attempt=0)
            with pytest.raises(BudgetExceededError) as refused:
                caller.ask(caller.tiers[0], QUESTION, repair=False, attempt=1)
        assert answer.cost_usd == pytest.approx(0.30)
        assert day_total(paths.spend_file) == pytest.approx(0.30)
        assert router.budget.spent_run_usd == pytest.approx(0.30)
        assert refused.value.scope == "day"
        assert len(server.requests) == 1
        assert server.requests[0].body["max_tokens"] == 512
        warnings = [log for log in logs if log["event"] == "spent more than reserved"]
        assert len(warnings) == 1
        assert warnings[0]["model"] == "scripted"
        assert warnings[0]["reason"] == (
            "the server returned 3,000 completion tokens despite max_tokens 512; spent $0.2488 more than reserved"
        )


class TestPaidCandidates:
    def test_candidates_paid_for_before_the_cap_stopped_the_round_are_tested_and_reported(
        self, repo: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Three samples a round, each up to $1.00 (100 tokens at $0.01) and each $0.60: under a $2.30 day cap
        with $0.30 spent earlier today the third is refused. The two paid ones are tested (the second is right
        and committed), and --json and metrics report $1.20, what spend.json gained."""
        priced = "input_cost_per_token = 0.0\noutput_cost_per_token = 0.01\nmax_tokens = 100\n"
        config = project_config(server.url, model_extra=priced, budget="per_day_usd = 2.3",
                                llm_extra="[llm.samples]\ntier1 = 3\n")  # fmt: skip
        setup_example(repo, server.url, config=config)
        spend = repo / ".autodev" / "spend.json"
        spend.parent.mkdir(exist_ok=True)
        spend.write_text(json.dumps({"schema": 1, "days": {date.today().isoformat(): 0.3}}))  # an earlier run's
        server.push(
            ScriptedReply(content=HOPELESS, completion_tokens=60),
            ScriptedReply(content=RIGHT, completion_tokens=60),
            "never asked",
        )
        code, result = run_json(repo, capsys)
        assert len(server.requests) == 2
        assert (code, result["status"]) == (0, "satisfied")
        attempts: list[dict[str, Any]] = result["attempts"]
        assert [attempt["outcome"] for attempt in attempts] == ["red", "green"]
        assert result["cost_usd"] == pytest.approx(1.20)
        assert day_total(spend) - 0.3 == pytest.approx(result["cost_usd"])
        assert "Autodev-Model: openai/scripted" in git(repo, "log", "-1", "--format=%(trailers:only,unfold)")
        capsys.readouterr()
        assert autodev(repo, "metrics", "--json") == 0
        assert json.loads(capsys.readouterr().out)["totals"]["cost_usd"] == pytest.approx(1.20)
