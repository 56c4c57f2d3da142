"""The rows of benchmarks/adversary.py: one module per family of hostile trials, shared helpers in ``common``.

Every trial runs the real CLI in a subprocess, in a temporary git project of its own, against the scripted
OpenAI-compatible server (autodev/testing/server.py), with a bounded timeout on every process it starts.
"""
