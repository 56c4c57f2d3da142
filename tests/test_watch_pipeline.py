"""The change pipeline without any observer: events handed to its handler, a fake clock, and the real gate."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import FakeClock
from watchdog.events import FileModifiedEvent, FileOpenedEvent

from autodev.config import MonitoringConfig
from autodev.watch.gate import ContentGate
from autodev.watch.pipeline import ChangePipeline

pytestmark = pytest.mark.req("LOOP-1")

DEBOUNCE_MS = 100
DEBOUNCE_S = DEBOUNCE_MS / 1000


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "tests").mkdir(parents=True)
    (root / "SPEC.md").write_bytes(b"# Spec\n\nv1\n")
    return root.resolve()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def pipeline(project: Path, clock: FakeClock) -> ChangePipeline:
    monitoring = MonitoringConfig.model_validate({"debounce_ms": DEBOUNCE_MS, "max_wait_ms": 1000})
    started = ChangePipeline(project, monitoring, clock, ContentGate(project))
    started.reload_rules()
    started.take_baseline()
    return started


class TestChangePipeline:
    def test_an_edit_is_a_burst_once_the_debounce_has_passed(
        self, pipeline: ChangePipeline, project: Path, clock: FakeClock
    ) -> None:
        """An event for a changed relevant file comes out as its path one debounce later, not before."""
        (project / "SPEC.md").write_bytes(b"# Spec\n\nv2\n")
        pipeline.events.handler.dispatch(FileModifiedEvent(str(project / "SPEC.md")))
        pipeline.collect(0)
        assert pipeline.take_burst(clock()) is None
        assert pipeline.time_until_due(clock()) == pytest.approx(DEBOUNCE_S)
        clock.advance(DEBOUNCE_S)
        assert pipeline.take_burst(clock()) == {"SPEC.md"}
        assert pipeline.take_burst(clock()) is None

    def test_irrelevant_and_unsubscribed_events_start_no_burst(
        self, pipeline: ChangePipeline, project: Path, clock: FakeClock
    ) -> None:
        """Events for an ignored tree, for a path outside the project, or of a kind not watched add nothing."""
        (project / ".venv").mkdir()
        (project / ".venv" / "README.md").write_bytes(b"noise\n")
        for event in (
            FileModifiedEvent(str(project / ".venv" / "README.md")),
            FileModifiedEvent(str(project.parent / "elsewhere.md")),
            FileOpenedEvent(str(project / "SPEC.md")),
        ):
            pipeline.events.handler.dispatch(event)
        pipeline.collect(0)
        clock.advance(10)
        assert pipeline.take_burst(clock()) is None
        assert pipeline.time_until_due(clock()) is None

    def test_lost_events_are_made_up_for_by_a_reconcile(
        self, pipeline: ChangePipeline, project: Path, clock: FakeClock
    ) -> None:
        """After events may have been lost, every relevant file is checked: an edit nobody reported is found."""
        (project / "SPEC.md").write_bytes(b"# Spec\n\nunreported\n")
        pipeline.events.mark_lost()
        assert pipeline.take_burst(clock()) is None
        clock.advance(DEBOUNCE_S)
        assert pipeline.take_burst(clock()) == {"SPEC.md"}

    def test_an_ignored_tree_is_pruned_from_polling(self, pipeline: ChangePipeline, project: Path) -> None:
        """The polling observer skips ignored directories (.git, .venv), not the ones that hold relevant files."""
        assert pipeline.is_ignored_directory(str(project / ".venv"))
        assert not pipeline.is_ignored_directory(str(project / "tests"))
        assert not pipeline.is_ignored_directory(str(project.parent / ".venv"))
