"""`autodev init` as a new user meets it: the starter test, the req marker for plain pytest, the models it chose
and why, and an invalid autodev.toml refused. Real `python -m autodev` and `python -m pytest` processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from autodev.config import load_config
from autodev.init.markers import MARKER

pytestmark = pytest.mark.req("CORE-1")

KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENROUTER_API_KEY", "GROQ_API_KEY")


def init(root: Path, **keys: str) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if name not in KEYS} | keys
    return subprocess.run(
        [sys.executable, "-m", "autodev", "-C", str(root), "init"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def collect(root: Path) -> subprocess.CompletedProcess[str]:
    """The user's own pytest, strict about markers and with unknown marks as errors: collection only."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PYTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "--strict-markers",
         "-W", "error::pytest.PytestUnknownMarkWarning"],
        cwd=root, capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    root = tmp_path / "fresh"
    root.mkdir()
    return root


class TestStarterTest:
    def test_a_fresh_project_gets_a_failing_test_of_the_template_requirement(self, fresh: Path) -> None:
        """tests/test_mymodule.py proves SPEC.md's GREET-1 and GREET-2, collects cleanly, and fails until written."""
        done = init(fresh)
        assert done.returncode == 0, done.stderr
        assert "created tests/test_mymodule.py" in done.stdout
        test = (fresh / "tests" / "test_mymodule.py").read_text(encoding="utf-8")
        spec = (fresh / "SPEC.md").read_text(encoding="utf-8")
        for requirement in ("GREET-1", "GREET-2"):
            assert f'@pytest.mark.req("{requirement}")' in test
            assert f"## {requirement}:" in spec
        collected = collect(fresh)
        assert collected.returncode == 0, collected.stdout + collected.stderr
        assert "3 tests collected" in collected.stdout
        ran = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=fresh, capture_output=True, text=True
        )
        assert ran.returncode == 1
        assert "3 failed" in ran.stdout

    def test_an_existing_test_file_is_never_overwritten(self, fresh: Path) -> None:
        """A tests/test_mymodule.py of the user's keeps its bytes."""
        (fresh / "tests").mkdir()
        (fresh / "tests" / "test_mymodule.py").write_bytes(b"def test_mine():\n    pass\n")
        done = init(fresh)
        assert done.returncode == 0, done.stderr
        assert (fresh / "tests" / "test_mymodule.py").read_bytes() == b"def test_mine():\n    pass\n"
        assert "kept existing tests/test_mymodule.py" in done.stdout

    def test_no_starter_test_for_the_users_own_spec(self, fresh: Path) -> None:
        """With a SPEC.md of the user's, a test of the template's requirements would prove nothing of theirs."""
        (fresh / "SPEC.md").write_text("# Mine\n\n## APP-1: Something\n", encoding="utf-8")
        assert init(fresh).returncode == 0
        assert not (fresh / "tests").exists()


class TestMarkerRegistration:
    def test_no_pytest_configuration_gets_a_pytest_ini(self, fresh: Path) -> None:
        """The marker is registered in a new pytest.ini, and init says so."""
        done = init(fresh)
        assert "created pytest.ini (registers the req pytest marker)" in done.stdout
        assert MARKER in (fresh / "pytest.ini").read_text(encoding="utf-8")

    @pytest.mark.parametrize(
        ("name", "before"),
        [
            ("pyproject.toml", '[project]\nname = "demo"\n'),
            ("pyproject.toml", '[project]\nname = "demo"\n\n[tool.pytest.ini_options]\naddopts = "-ra"\n'),
            ("pytest.ini", "[pytest]\naddopts = -ra\nmarkers =\n    slow: slow tests\n"),
            ("setup.cfg", "[metadata]\nname = demo\n\n[tool:pytest]\nmarkers =\n    slow: slow tests\n"),
            ("tox.ini", "[tox]\nenvlist = py3\n\n[pytest]\naddopts = -ra\n"),
        ],
    )
    def test_an_existing_configuration_gets_the_marker_and_keeps_the_rest(
        self, fresh: Path, name: str, before: str
    ) -> None:
        """The marker goes into the file pytest reads; what was there stays; strict collection passes."""
        (fresh / name).write_text(before, encoding="utf-8")
        done = init(fresh)
        assert f"registered the req pytest marker in {name}" in done.stdout, done.stdout
        after = (fresh / name).read_text(encoding="utf-8")
        assert MARKER in after
        assert all(line in after.splitlines() for line in before.splitlines())
        assert not (fresh / "pytest.ini").exists() or name == "pytest.ini"
        collected = collect(fresh)
        assert collected.returncode == 0, collected.stdout + collected.stderr

    def test_a_markers_list_in_toml_is_left_alone_with_the_line_to_add(self, fresh: Path) -> None:
        """A TOML markers list is not edited: init prints the exact entry and where it goes."""
        before = '[tool.pytest.ini_options]\nmarkers = [\n  "slow: slow tests",\n]\n'
        (fresh / "pyproject.toml").write_text(before, encoding="utf-8")
        done = init(fresh)
        assert (fresh / "pyproject.toml").read_text(encoding="utf-8") == before
        expected = f'in [tool.pytest.ini_options] of pyproject.toml, add to markers:  "{MARKER}"'
        assert f"register the req pytest marker yourself: {expected}" in done.stdout

    def test_an_already_registered_marker_changes_nothing(self, fresh: Path) -> None:
        """A second init (or a project that registered req itself) leaves the file as it is."""
        assert init(fresh).returncode == 0
        before = (fresh / "pytest.ini").read_bytes()
        done = init(fresh)
        assert (fresh / "pytest.ini").read_bytes() == before
        assert "the req marker is already registered in pytest.ini" in done.stdout


class TestModels:
    def test_hosted_tiers_are_named_with_their_keys_and_capped(self, fresh: Path) -> None:
        """With OpenAI and Anthropic keys set: tier4 names both models and why, and a daily cap is written."""
        done = init(fresh, OPENAI_API_KEY="sk-fake", ANTHROPIC_API_KEY="sk-ant-fake")
        assert done.returncode == 0, done.stderr
        assert "anthropic/claude-3-5-haiku-latest (ANTHROPIC_API_KEY is set)" in done.stdout
        assert "openai/gpt-4o-mini (OPENAI_API_KEY is set)" in done.stdout
        assert "capped by [budget] per_day_usd = 1.00" in done.stdout
        assert "sk-fake" not in done.stdout + (fresh / "autodev.toml").read_text(encoding="utf-8")
        config = load_config(fresh / "autodev.toml")
        assert config.budget.per_day_usd == 1.0
        assert config.llm.tiers["tier4"] == ["anthropic/claude-3-5-haiku-latest", "openai/gpt-4o-mini"]

    def test_without_keys_there_is_no_hosted_tier_and_no_cap(self, fresh: Path) -> None:
        """Only the local ladder, each tier said; no hosted tier, so no budget is needed."""
        done = init(fresh)
        assert "tier1: local/" in done.stdout
        assert "no hosted tier: none of ANTHROPIC_API_KEY, OPENAI_API_KEY" in done.stdout
        config = load_config(fresh / "autodev.toml")
        assert "tier4" not in config.llm.tiers
        assert config.budget.per_day_usd is None


class TestInvalidConfig:
    def test_an_invalid_autodev_toml_is_refused_and_kept(self, fresh: Path) -> None:
        """Exit 2 with the problem and both ways out; the file's bytes stay and nothing else is created."""
        broken = b"[llm]\nrouting_strategy = 'fastest'\n"
        (fresh / "autodev.toml").write_bytes(broken)
        done = init(fresh)
        assert done.returncode == 2
        assert "autodev.toml exists but is invalid: llm.routing_strategy: " in done.stderr
        assert "fix it or remove it and run `autodev init` again" in done.stderr
        assert (fresh / "autodev.toml").read_bytes() == broken
        assert sorted(path.name for path in fresh.iterdir()) == ["autodev.toml"]
