"""What LiteLLM's price list says about one model, and the longest answer a request lets it give.

The budget prices a call's worst case with :func:`completion_bound`, and the client sends that same number as the
request's ``max_tokens``: a bound the server is never told is only a hope, so the two must be one function. The
price list is read through LiteLLM (:func:`autodev.llm.client.load_litellm`), imported here only when a model has
no configured price and no max_tokens of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Final

from pydantic import BaseModel, ConfigDict

from autodev.llm.models import ResolvedModel

DEFAULT_COMPLETION_BOUND: Final = 4096


class CostMapEntry(BaseModel):
    """What LiteLLM's price list says about one model; all zero when it does not know the model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input_cost_per_token: float = 0.0
    output_cost_per_token: float = 0.0
    max_output_tokens: int | None = None


_cost_map_lock = threading.Lock()
_cost_map_cache: dict[str, CostMapEntry] = {}


def completion_bound(model: ResolvedModel) -> int:
    """The most tokens the model may answer with: its max_tokens, else the price list's limit, else 4096.

    A model with a configured price is not looked up in LiteLLM's list: local models are not in it, and the
    import would cost seconds for nothing.
    """
    if model.max_tokens is not None:
        return model.max_tokens
    if not model.has_configured_price:
        listed = cost_map_entry(model.litellm_model).max_output_tokens
        if listed:
            return listed
    return DEFAULT_COMPLETION_BOUND


def cost_map_entry(litellm_model: str) -> CostMapEntry:
    """LiteLLM's entry for the model, under its full name or the name after the provider prefix; cached."""
    with _cost_map_lock:
        cached = _cost_map_cache.get(litellm_model)
    if cached is not None:
        return cached
    entry = _lookup_cost_map(litellm_model)
    with _cost_map_lock:
        _cost_map_cache[litellm_model] = entry
    return entry


def _lookup_cost_map(litellm_model: str) -> CostMapEntry:
    from autodev.llm.client import load_litellm  # the client imports this module: the import is deferred

    cost_map: Any = load_litellm().model_cost
    return entry_in(cost_map if isinstance(cost_map, dict) else {}, litellm_model)


def entry_in(cost_map: Mapping[str, Any], litellm_model: str) -> CostMapEntry:
    """The model's entry under its full name or the name after the provider prefix; all zero when not listed."""
    names = [litellm_model]
    if "/" in litellm_model:
        names.append(litellm_model.split("/", 1)[1])
    for name in names:
        raw = cost_map.get(name)
        if isinstance(raw, dict):
            return CostMapEntry(
                input_cost_per_token=_non_negative(raw.get("input_cost_per_token")),
                output_cost_per_token=_non_negative(raw.get("output_cost_per_token")),
                max_output_tokens=_positive_int(raw.get("max_output_tokens")),
            )
    return CostMapEntry()


def _non_negative(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0 else 0.0


def _positive_int(value: object) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 1 else None
