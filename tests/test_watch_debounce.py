"""The debounce logic on a fake clock: when a burst of events is over, without a single sleep."""

from __future__ import annotations

import pytest
from helpers import FakeClock
from hypothesis import given
from hypothesis import strategies as st

from autodev.watch.debounce import Debouncer

pytestmark = pytest.mark.req("LOOP-1")


class TestDebouncer:
    def test_idle_debouncer_is_never_due(self) -> None:
        """Without an event there is nothing to wait for: not due, and no time to wait."""
        clock = FakeClock()
        debouncer = Debouncer(0.5, 2.0, clock)
        clock.advance(100)
        assert not debouncer.due()
        assert debouncer.time_until_due() is None
        assert not debouncer.pending

    def test_single_event_is_due_one_debounce_later(self) -> None:
        """One save is due exactly debounce_s after it, not a moment before."""
        clock = FakeClock()
        debouncer = Debouncer(0.5, 2.0, clock)
        debouncer.touch()
        clock.advance(0.499)
        assert not debouncer.due()
        assert debouncer.time_until_due() == pytest.approx(0.001)
        clock.advance(0.001)
        assert debouncer.due()
        assert debouncer.time_until_due() == 0.0

    def test_each_event_pushes_the_trailing_deadline(self) -> None:
        """The debounce counts from the LAST event of the burst."""
        clock = FakeClock()
        debouncer = Debouncer(0.5, 2.0, clock)
        debouncer.touch()
        clock.advance(0.4)
        debouncer.touch()
        clock.advance(0.4)
        assert not debouncer.due()
        clock.advance(0.1)
        assert debouncer.due()

    def test_continuous_stream_is_due_at_max_wait(self) -> None:
        """Saves every 125 ms never leave a 500 ms gap, yet the burst is due 2 s after its first event."""
        clock = FakeClock(0.0)
        debouncer = Debouncer(0.5, 2.0, clock)
        for _ in range(16):
            debouncer.touch()
            assert not debouncer.due()
            clock.advance(0.125)
        debouncer.touch()
        assert clock.now == 2.0
        assert debouncer.due()

    def test_reset_ends_the_burst_and_the_next_one_starts_fresh(self) -> None:
        """After reset the maximum wait counts from the next burst's first event, not the old one's."""
        clock = FakeClock()
        debouncer = Debouncer(0.5, 2.0, clock)
        debouncer.touch()
        clock.advance(1.9)
        debouncer.reset()
        assert not debouncer.pending
        assert not debouncer.due()
        debouncer.touch()
        clock.advance(0.3)
        assert not debouncer.due()
        assert debouncer.time_until_due() == pytest.approx(0.2)

    def test_event_stamped_in_the_past_is_due_at_once(self) -> None:
        """An edit made during a long pass, collected after it, starts the follow-up without a new wait."""
        clock = FakeClock()
        debouncer = Debouncer(0.5, 2.0, clock)
        edited_at = clock.now
        clock.advance(30)
        debouncer.touch(edited_at)
        assert debouncer.due()

    def test_out_of_order_timestamps_keep_first_and_last(self) -> None:
        """Events collected out of order: the earliest starts the burst, the latest sets the trailing edge."""
        clock = FakeClock()
        debouncer = Debouncer(0.5, 2.0, clock)
        debouncer.touch(10.3)
        debouncer.touch(10.0)
        debouncer.touch(10.1)
        assert debouncer.deadline() == pytest.approx(10.8)

    def test_max_wait_shorter_than_debounce_caps_it(self) -> None:
        """With max_wait below the debounce, a single event is due after max_wait."""
        clock = FakeClock()
        debouncer = Debouncer(1.0, 0.25, clock)
        debouncer.touch()
        clock.advance(0.25)
        assert debouncer.due()

    def test_zero_debounce_is_due_immediately(self) -> None:
        """debounce_ms = 0 is allowed by the config and means "no waiting"."""
        clock = FakeClock()
        debouncer = Debouncer(0.0, 2.0, clock)
        debouncer.touch()
        assert debouncer.due()

    @pytest.mark.parametrize(("debounce_s", "max_wait_s"), [(-0.1, 2.0), (0.5, -1.0)])
    def test_negative_durations_are_rejected(self, debounce_s: float, max_wait_s: float) -> None:
        """A negative duration is a programming error, refused at construction."""
        with pytest.raises(ValueError, match="must not be negative"):
            Debouncer(debounce_s, max_wait_s)

    @given(
        gaps=st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=50),
        debounce_s=st.floats(min_value=0.0, max_value=1.0),
        max_wait_s=st.floats(min_value=0.0, max_value=3.0),
    )
    def test_deadline_never_exceeds_either_bound(self, gaps: list[float], debounce_s: float, max_wait_s: float) -> None:
        """For any event sequence: due no later than max_wait after the first event, nor debounce after the last."""
        clock = FakeClock(0.0)
        debouncer = Debouncer(debounce_s, max_wait_s, clock)
        first = clock.now
        for gap in gaps:
            clock.advance(gap)
            debouncer.touch()
        deadline = debouncer.deadline()
        assert deadline is not None
        assert deadline <= first + gaps[0] + max_wait_s + 1e-9
        assert deadline <= clock.now + debounce_s + 1e-9
        assert debouncer.due(deadline)
