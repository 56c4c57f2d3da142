"""Routing: which tier and model answer next, what a call may cost, and what every call did.

The router (and through it the model client, the cache and the local servers) is loaded on first use, so that
`autodev metrics`, which reads only ``autodev.route.metrics``, starts without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from autodev.route.calls import CallLog, call_facts
from autodev.route.policy import (
    Decision,
    EscalationPolicy,
    Failure,
    TierPlan,
    describe_failure,
    merge_pair,
    size_class,
)

if TYPE_CHECKING:
    from autodev.route.router import Router, TierCaller

__all__ = [
    "CallLog",
    "Decision",
    "EscalationPolicy",
    "Failure",
    "Router",
    "TierCaller",
    "TierPlan",
    "call_facts",
    "describe_failure",
    "merge_pair",
    "size_class",
]


def __getattr__(name: str) -> Any:
    if name in ("Router", "TierCaller"):
        from autodev.route import router

        return getattr(router, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
