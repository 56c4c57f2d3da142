"""An answer's code blocks as file changes: read, confined, checked against the user's work, shown, applied.

STUB: interface agreed for the helper that implements it.
"""
