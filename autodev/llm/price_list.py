"""LiteLLM's bundled price list, read as a file: a report that only needs prices must not import LiteLLM.

Importing LiteLLM costs seconds; `autodev metrics` needs only the prices of one model. With
``LITELLM_LOCAL_MODEL_COST_MAP=True`` (autodev always sets it) LiteLLM itself loads exactly this file, so the prices
are the same ones a pass charges. The package is located with :func:`importlib.util.find_spec`, which runs no code
of it.
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import json
from pathlib import Path
from typing import Any, Final

PRICE_FILE: Final = "model_prices_and_context_window_backup.json"


def bundled_price_list() -> dict[str, Any]:
    """Model name -> LiteLLM's entry (``input_cost_per_token``, ...); empty when LiteLLM or its file is missing."""
    spec = importlib.util.find_spec("litellm")
    for location in (spec.submodule_search_locations or []) if spec else []:
        try:
            data = json.loads((Path(location) / PRICE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        return data if isinstance(data, dict) else {}
    return {}


@functools.lru_cache(maxsize=1)
def _known_names() -> tuple[str, ...]:
    return tuple(name for name in bundled_price_list() if name != "sample_spec")


def close_model_name(name: str, *, cutoff: float = 0.9) -> str | None:
    """The model LiteLLM knows whose name is closest to ``name`` (a typo of ``gpt-4o-mini``), if one is that close."""
    matches = difflib.get_close_matches(name, _known_names(), n=1, cutoff=cutoff)
    return matches[0] if matches else None
