"""Workflows: named chains of model steps kept in files, each step's output feeding the prompts after it.

``autodev workflow run NAME`` renders each step's prompt (``render``), asks the step's role or model through the
router as `autodev ask` does, saves the prompt and the answer under ``.autodev/runs/ID/`` (``runs``) before the
next step starts, and writes a step's files through the journal and git when its output says so (``files``).
A killed run resumes from its first unfinished step. docs/workflows.md is the user's reference.
"""
