"""`autodev metrics` through the command line, on a temporary project: table, JSON, and the empty case.

The top model has configured prices, so the command never needs LiteLLM's price list (its loader is made to fail).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autodev.cli.main import run_cli
from autodev.route.metrics import CallEvent, MetricsStore

pytestmark = pytest.mark.req("ROUTE-3")

HEADERS = ("tier", "model", "calls", "in_tok", "out_tok", "cost_usd", "cached", "green/tried", "rate", "esc", "err")

CONFIG = """\
[llm.tiers]
tier1 = ["small"]
tier3 = ["big"]

[llm.models.big]
model = "openai/big"
api_key_env = "BIG_KEY_NOT_SET_IN_TESTS"
input_cost_per_token = 0.00001
output_cost_per_token = 0.00003
"""


@pytest.fixture(autouse=True)
def no_litellm(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> None:
        raise AssertionError("LiteLLM was loaded to price the report")

    monkeypatch.setattr("autodev.llm.client.load_litellm", refuse)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "autodev.toml").write_text(CONFIG)
    return root


def record(project: Path) -> None:
    store = MetricsStore(project / ".autodev" / "metrics.jsonl")
    common = {"at": 1.0, "requirement": "R1"}
    store.append(CallEvent(**common, tier="tier1", model="small", input_tokens=1000, output_tokens=100, outcome="red"))
    store.append(CallEvent(kind="escalation", **common, tier="tier1", model="small", to_tier="tier3"))
    store.append(
        CallEvent(
            **common, tier="tier3", model="big", input_tokens=1000, output_tokens=100, cost_usd=0.013, outcome="green"
        )
    )


class TestMetricsCommand:
    def test_table_shows_each_tier_and_model_totals_and_the_labelled_estimate(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """2000 prompt and 200 completion tokens at the top model's prices: 0.02 + 0.006 = $0.0260, 50% saved."""
        record(project)
        assert run_cli(["-C", str(project), "metrics"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[0].split() == list(HEADERS)
        rows = {line.split()[0]: line.split() for line in lines[2:-2]}
        assert rows["tier1"] == ["tier1", "small", "1", "1000", "100", "0.0000", "0", "0/1", "0%", "1", "0"]
        assert rows["tier3"] == ["tier3", "big", "1", "1000", "100", "0.0130", "0", "1/1", "100%", "0", "0"]
        assert lines[-2].split() == ["total", "2", "2000", "200", "0.0130", "0", "1/2", "50%", "1", "0"]
        assert lines[-1] == ("at top-tier prices (estimate, tier3 big): $0.0260 for the same tokens; saved about 50%")

    def test_columns_are_aligned(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Every line of the table (header, rows, totals) has the same width: a plain, readable table."""
        record(project)
        assert run_cli(["-C", str(project), "metrics"]) == 0
        table = capsys.readouterr().out.splitlines()[:-1]
        separator = table[1]
        assert set(separator) == {"-", " "}
        assert all(len(line) <= len(separator) for line in table)
        assert len(table[0]) == len(separator)  # the right-aligned "err" column ends the line

    def test_json_is_the_summary(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """--json prints every row, the totals and the top-tier estimate as one object."""
        record(project)
        assert run_cli(["-C", str(project), "metrics", "--json"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert [(row["tier"], row["model"]) for row in summary["rows"]] == [("tier1", "small"), ("tier3", "big")]
        assert summary["totals"]["calls"] == 2
        assert summary["totals"]["escalations"] == 1
        assert (summary["top_tier"], summary["top_tier_model"]) == ("tier3", "big")
        assert summary["top_tier_estimate_usd"] == pytest.approx(0.026)
        assert summary["savings_estimate"] == pytest.approx(0.5)
        assert summary["skipped_lines"] == 0

    def test_no_file_yet_is_a_friendly_message(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Before the first model call there is nothing to show, and that is not a failure."""
        assert run_cli(["-C", str(project), "metrics"]) == 0
        assert capsys.readouterr().out.strip() == "no model calls recorded yet"

    def test_no_file_yet_in_json_has_zero_totals(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Scripts get the same shape with zeros, and no price is looked up."""
        assert run_cli(["-C", str(project), "metrics", "--json"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["rows"] == []
        assert summary["totals"]["calls"] == 0
        assert summary["totals"]["cost_usd"] == 0.0
        assert summary["top_tier_estimate_usd"] is None

    def test_malformed_lines_are_reported_on_stderr(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A broken line does not hide the rest; the user is told how many were skipped."""
        record(project)
        with (project / ".autodev" / "metrics.jsonl").open("a") as stream:
            stream.write("not json\n")
        assert run_cli(["-C", str(project), "metrics"]) == 0
        captured = capsys.readouterr()
        assert "skipped 1 malformed line(s)" in captured.err
        assert "total" in captured.out

    def test_without_tiers_the_estimate_is_unknown(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """With no tiers there is no top model to compare against; the table is still shown."""
        record(tmp_path)
        assert run_cli(["-C", str(tmp_path), "metrics"]) == 0
        assert (
            capsys.readouterr().out.splitlines()[-1] == "at top-tier prices (estimate): unknown (no tiers configured)"
        )

    def test_bad_config_is_a_usage_error(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Like every command, an invalid autodev.toml exits 2 and names the key."""
        (project / "autodev.toml").write_text("[llm]\nroutng_strategy = 'tiered'\n")
        assert run_cli(["-C", str(project), "metrics"]) == 2
        assert "llm.routng_strategy" in capsys.readouterr().err


ROLE_HEADERS = ("role", "calls", "in_tok", "out_tok", "cost_usd", "cached", "green/tried", "rate", "err")


def record_roles(project: Path) -> None:
    """The tier table's lines (the coder's), a line written before roles were recorded, and other roles' calls."""
    record(project)
    path = project / ".autodev" / "metrics.jsonl"
    with path.open("a") as stream:
        old = {"schema": 1, "at": 1.0, "requirement": "R2", "tier": "tier1", "model": "small", "outcome": "red"}
        stream.write(json.dumps({**old, "input_tokens": 10, "output_tokens": 1}) + "\n")
    store = MetricsStore(path)
    common = {"at": 2.0, "requirement": "R1", "tier": "tier3", "model": "big"}
    store.append(CallEvent(**common, role="reviewer", input_tokens=300, output_tokens=10, cost_usd=0.001))
    store.append(CallEvent(**common, role="reviewer", input_tokens=300, output_tokens=10, cached=True))
    store.append(CallEvent(**{**common, "requirement": "ask"}, role="ask", input_tokens=50, output_tokens=5))
    store.append(CallEvent(**{**common, "requirement": "ask"}, role="ask", outcome="error", reason="refused"))


class TestMetricsByRole:
    def test_the_table_has_a_row_per_role_and_the_totals(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The coder's 3 calls (an old line without a role among them) are the only attempts; the reviewer's cache
        hit is counted apart; the ask's failed request is its error."""
        record_roles(project)
        assert run_cli(["-C", str(project), "metrics", "--by", "role"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[0].split() == list(ROLE_HEADERS)
        rows = {line.split()[0]: line.split() for line in lines[2:-3]}
        assert list(rows) == ["coder", "ask", "reviewer"]
        assert rows["coder"] == ["coder", "3", "2010", "201", "0.0130", "0", "1/3", "33%", "0"]
        assert rows["reviewer"] == ["reviewer", "1", "300", "10", "0.0010", "1", "0/0", "-", "0"]
        assert rows["ask"] == ["ask", "2", "50", "5", "0.0000", "0", "0/0", "-", "1"]
        assert lines[-2].split() == ["total", "6", "2360", "216", "0.0140", "1", "1/3", "33%", "1"]
        assert lines[-1].startswith("from the response cache: 1 reply, 300 prompt and 10 completion tokens")

    def test_json_gives_the_rows_per_role(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        record_roles(project)
        assert run_cli(["-C", str(project), "metrics", "--by", "role", "--json"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert [(row["role"], row["calls"]) for row in summary["rows"]] == [("coder", 3), ("ask", 2), ("reviewer", 1)]
        assert summary["totals"]["calls"] == 6 and summary["totals"]["escalations"] == 1
        assert summary["skipped_lines"] == 0

    def test_by_tier_stays_the_default_and_counts_every_role(
        self, project: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`metrics` and `metrics --by tier` print the same table; the other roles' calls are in its rows too."""
        record_roles(project)
        assert run_cli(["-C", str(project), "metrics"]) == 0
        default = capsys.readouterr().out
        assert run_cli(["-C", str(project), "metrics", "--by", "tier"]) == 0
        assert capsys.readouterr().out == default
        assert default.splitlines()[0].split() == list(HEADERS)
        total = next(line for line in default.splitlines() if line.startswith("total"))
        assert total.split()[1:3] == ["6", "2360"]

    def test_an_unknown_grouping_is_a_usage_error(self, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert run_cli(["-C", str(project), "metrics", "--by", "model"]) == 2
        assert "'model' is not one of 'tier', 'role'" in capsys.readouterr().err
