"""Routing: which tier and model answer next, what a call may cost, and what every call did."""
