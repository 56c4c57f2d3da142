"""The learning store in a benchmark: a fresh one per column, and `--learn-from DIR`, the measurement of reuse.

A pass keeps what worked in the user's store (``autodev.learn``). A benchmark must not: a rerun would find its
own earlier solutions, and a second strategy the first's, and the numbers would depend on history. So every
column (strategy, tests mode) has a store of its own under the results directory, empty at the start.

``--learn-from DEV`` measures what learning is worth: the exercises of DEV are run first to fill a store
(``tiered+fill``), then the benchmark's exercises (a variant set: ``benchmarks/variants.py``) with that store
(``tiered+learned``) and without any learning (``tiered+no-learning``), in one run, judged alike.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict

from autodev.config import Config

Phase = Literal["", "fill", "learned", "no-learning"]
LEARNING_PHASES: tuple[str, ...] = get_args(Phase)[1:]  # "fill", "learned", "no-learning"
STORE_DIR = "learning"  # under the results directory: one store per column


class LearningColumn(BaseModel):
    """Where a column's passes keep what they learn, and whether they learn at all."""

    model_config = ConfigDict(frozen=True)

    home: Path | None = None  # the store's $XDG_DATA_HOME; None: a fresh one for each exercise
    phase: Phase = ""

    @property
    def enabled(self) -> bool:
        return self.phase != "no-learning"

    def label(self, column: str) -> str:
        """``tiered+learned``: the column's name with its phase."""
        return f"{column}+{self.phase}" if self.phase else column

    def config(self, config: Config) -> Config:
        """The configuration with learning on or off as the phase says (on: as configured)."""
        if self.enabled:
            return config
        return config.model_copy(update={"learning": config.learning.model_copy(update={"enabled": False})})


def column_home(results_dir: Path | None, label: str) -> Path | None:
    """The store of one column of a run: ``RESULTS/learning/LABEL``."""
    return results_dir / STORE_DIR / label.replace(":", "-") if results_dir is not None else None


def store_env(home: Path) -> dict[str, str]:
    """The environment a pass runs in: this process's, with the column's store as its data home."""
    home.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "XDG_DATA_HOME": str(home)}
