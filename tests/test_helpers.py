"""The tests' stand-in for pytest on the temperature example gives what real pytest gives, reply by reply.

Routing tests decide on these outcomes instead of real runs, so the stand-in must agree with pytest on every
scripted reply: which tests pass and fail, the messages, and so the router's reading of the failure.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest
from helpers import BROKEN, EXAMPLE, HOPELESS, RIGHT, STUB, WRONG, temperature_outcomes

from autodev.route.policy import describe_failure
from autodev.testing import run_from_outcomes
from autodev.verify.runner import run_tests
from autodev.verify.verdict import judge

pytestmark = pytest.mark.req("CORE-1")


def code_of(reply: str) -> bytes:
    match = re.search(r"```python\n(.*?)```", reply, re.DOTALL)
    assert match is not None
    return match.group(1).encode("utf-8")


TEMPS = {
    "no temps.py": None,
    "the stub": STUB,
    "right": code_of(RIGHT),
    "wrong": code_of(WRONG),
    "hopeless": code_of(HOPELESS),
    "broken": code_of(BROKEN),
}


@pytest.mark.parametrize("temps", TEMPS.values(), ids=TEMPS.keys())
def test_the_stand_in_agrees_with_pytest(tmp_path: Path, temps: bytes | None) -> None:
    """Same ids, outcomes and messages as a real run, hence the same verdict and the same failure reading."""
    root = tmp_path / "project"
    shutil.copytree(EXAMPLE, root)
    if temps is not None:
        (root / "temps.py").write_bytes(temps)
    command = f"{sys.executable} -m pytest"
    real = run_tests(root, command, timeout_s=60, scratch_dir=tmp_path / "scratch")
    fake = run_from_outcomes(command, temperature_outcomes(root))
    assert {i: (o.outcome, o.message) for i, o in fake.outcomes.items()} == {
        i: (o.outcome, o.message) for i, o in real.outcomes.items()
    }
    assert fake.exit_code == real.exit_code
    baseline = run_from_outcomes(command, {})
    assert judge(baseline, fake) == judge(baseline, real)
    fake_reading, real_reading = describe_failure(fake, None, 6), describe_failure(real, None, 6)
    assert fake_reading.model_dump(exclude={"signature"}) == real_reading.model_dump(exclude={"signature"})
    if real.failing_ids:  # a green run's signature is its output's last line, pytest's own noise: never compared
        assert fake_reading.signature == real_reading.signature
