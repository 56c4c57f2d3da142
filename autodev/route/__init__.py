"""Routing: which tier and model answer next, what a call may cost, and what every call did."""

from autodev.route.policy import Decision, EscalationPolicy, Failure, TierPlan, describe_failure, size_class
from autodev.route.router import Router, TierCaller

__all__ = [
    "Decision",
    "EscalationPolicy",
    "Failure",
    "Router",
    "TierCaller",
    "TierPlan",
    "describe_failure",
    "size_class",
]
