"""Row 6, budgets: `[budget]` caps with a priced model whose usage the scripted server reports.

Every reply is wrong (so the pass keeps calling until a cap or max_attempts stops it) and reports usage. Checked:
the money spent (what `.autodev/spend.json` grew by) stays within the cap, plus at most one call's overshoot when
the server ignores max_tokens (reported as a note); the cost the runs report (`cost_usd` of `--json`) equals what
spend.json grew by. Prices: $0.001 per input token, $0.002 per output token, max_tokens 100.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from datetime import date

from adversary import common
from adversary.common import Case, Options, Trial
from autodev.testing import RecordedRequest, ScriptedReply, ScriptedServer

IN_PRICE, OUT_PRICE, MAX_TOKENS = 0.001, 0.002, 100
WRONG = "temps.py\n```python\n" + common.WRONG_CODE + "```\n"
NON_ASCII_SPEC = "# 温度変換 🌡️\n\n温度を摂氏・華氏・ケルビンの間で変換する。\n\nFiles: temps.py\n\n" + "".join(
    f'- 要件 {n}: 絶対零度（-273.15 °C）未満は ValueError("below absolute zero") を送出する。🔥❄️\n' for n in range(6)
)


@dataclass(frozen=True)
class Scenario:
    name: str
    caps: str  # the [budget] lines
    cap: float  # the cap that must hold
    completion_tokens: int = 80
    tokens: str = "server"
    """How the server counts prompt tokens: its own estimate ("server"); "worst real", ASCII at 4 characters a
    token and every other character at its UTF-8 bytes (a byte-level tokenizer on Chinese or emoji: the case that
    overshot a cap at one token a character); "bytes", every byte a token, beyond any real tokenizer on text: the
    cap is then overshot by at most one call, which the warning reports."""
    non_ascii: bool = False
    processes: int = 1
    prespent: float = 0.0  # already on today's spend.json


SCENARIOS = [
    Scenario("per_run cap", "per_run_usd = 2.0\nper_day_usd = 1000\n", 2.0),
    Scenario("per_requirement cap", "per_requirement_usd = 1.5\nper_day_usd = 1000\n", 1.5),
    Scenario("per_day cap, $0.50 already spent today", "per_day_usd = 1.5\n", 1.5, prespent=0.5),
    Scenario(
        "server ignores max_tokens (400 of 100)", "per_run_usd = 2.0\nper_day_usd = 1000\n", 2.0, completion_tokens=400
    ),
    Scenario(
        "non-ASCII spec, a byte-level tokenizer (3 tokens a Chinese character)",
        "per_run_usd = 2.0\nper_day_usd = 1000\n",
        2.0,
        tokens="worst real",
        non_ascii=True,
    ),
    Scenario(
        "non-ASCII spec, a token per byte (beyond any bound): one call over at most",
        "per_run_usd = 2.0\nper_day_usd = 1000\n",
        2.0,
        tokens="bytes",
        non_ascii=True,
    ),
    Scenario("two processes at once, one per_day cap", "per_day_usd = 2.0\n", 2.0, processes=2),
    Scenario(
        "three processes at once, server ignores max_tokens",
        "per_day_usd = 2.0\n",
        2.0,
        completion_tokens=300,
        processes=3,
    ),
]


def spent(tr: Trial) -> float:
    path = tr.project / ".autodev" / "spend.json"
    if not path.is_file():
        return 0.0
    days = json.loads(path.read_text(encoding="utf-8")).get("days", {})
    return float(sum(days.values()))


def one(item: object) -> Case:
    sc: Scenario = item  # type: ignore[assignment]

    def answer(request: RecordedRequest) -> ScriptedReply:
        prompt = _prompt_tokens(request.prompt_text, sc.tokens)
        return ScriptedReply(content=WRONG, completion_tokens=sc.completion_tokens, prompt_tokens=prompt)

    with common.trial("budget") as tr, ScriptedServer(responder=answer) as server:
        priced = f"input_cost_per_token = {IN_PRICE}\noutput_cost_per_token = {OUT_PRICE}\nmax_tokens = {MAX_TOKENS}\n"
        config = common.config_text(server.url, max_attempts=20, extra=priced + "[budget]\n" + sc.caps)
        config = config.replace("[llm.tiers]", "[llm]\nretry_backoff_s = 0.01\n[llm.tiers]")
        common.make_project(tr.project, server.url, config=config)
        if sc.non_ascii:
            (tr.project / "SPEC.md").write_text(NON_ASCII_SPEC, encoding="utf-8")
            common.git(tr.project, "commit", "-qam", "non-ASCII spec")
        if sc.prespent:
            (tr.project / ".autodev").mkdir(exist_ok=True)
            payload = {"schema": 1, "days": {date.today().isoformat(): sc.prespent}}
            (tr.project / ".autodev" / "spend.json").write_text(json.dumps(payload), encoding="utf-8")
        start = spent(tr)
        runs = _run_all(tr, sc.processes)
        grew = spent(tr) - start
        reported = sum(float(r.get("cost_usd", 0) or 0) for r in runs)
        calls = len(server.requests)
        one_call = max((_call_cost(r.prompt_text, sc) for r in server.requests), default=0.0)
    problems, note = _judge(sc, grew, reported, runs, one_call if sc.tokens == "bytes" else 0.0)
    return Case(name=sc.name, problems=problems, note=f"{calls} calls, {note}")


def _run_all(tr: Trial, count: int) -> list[dict[str, object]]:
    processes = [common.start_autodev(tr, "run", "--once", "--json", "--wait") for _ in range(count)]
    results = []
    for process in processes:
        try:
            out, _ = process.communicate(timeout=240)
        except subprocess.TimeoutExpired:
            common.kill_group(process.pid)
            out, _ = process.communicate(timeout=10)
        results.append(common.result_json(common.Done(process.returncode, out.decode("utf-8", "replace"), "", 0)))
    return results


def _prompt_tokens(prompt: str, tokens: str) -> int | None:
    if tokens == "bytes":
        return len(prompt.encode("utf-8"))
    if tokens == "worst real":
        ascii_chars = sum(1 for ch in prompt if ch.isascii())
        return -(-ascii_chars // 4) + sum(len(ch.encode("utf-8")) for ch in prompt if not ch.isascii())
    return None  # the server's own count


def _call_cost(prompt: str, sc: Scenario) -> float:
    return (_prompt_tokens(prompt, sc.tokens) or 0) * IN_PRICE + min(sc.completion_tokens, MAX_TOKENS) * OUT_PRICE


def _judge(
    sc: Scenario, grew: float, reported: float, runs: list[dict[str, object]], beyond_bound: float = 0.0
) -> tuple[list[str], str]:
    """Within the cap, or over it by no more than one call when the server's count is beyond any bound (a server
    ignoring max_tokens, a token per byte): then the real cost is recorded, warned about, and the next call refused."""
    problems = []
    total = grew + sc.prespent
    overshoot = max(0.0, sc.completion_tokens - MAX_TOKENS) * OUT_PRICE + beyond_bound
    note = (
        f"spent ${grew:.4f} (cap ${sc.cap:.2f}{', counting today' if total != grew else ''}), reported ${reported:.4f}"
    )
    if total > sc.cap + overshoot + 1e-9:
        problems.append(f"spent ${total:.4f} over the ${sc.cap:.2f} cap (allowed overshoot ${overshoot:.4f})")
    elif total > sc.cap + 1e-9:
        note += f"; over the cap by ${total - sc.cap:.4f}, within one call's overshoot"
    if abs(reported - grew) > 1e-6:
        problems.append(f"reported cost ${reported:.4f} != spend.json increase ${grew:.4f}")
    if any("error" in r for r in runs) or not runs or any(not r for r in runs):
        problems.append("a run printed no result: " + "; ".join(str(r.get("error", "no JSON"))[:80] for r in runs))
    return problems, note


def run(options: Options) -> list[Case]:
    found = SCENARIOS[:: 3 if options.quick else 1]
    return common.run_cases(list(found[: options.limit or None]), one, options.jobs)
