"""Synthesis: the prompt for an attempt, and the model's reply turned into checked file edits."""
