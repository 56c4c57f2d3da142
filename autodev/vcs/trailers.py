"""The trailers every autodev commit carries: which requirement it satisfies and which model wrote it.

Written by the trial that commits (autodev.core.trial) and read back by the ledger's rebuild from history.
"""

from __future__ import annotations

REQUIREMENT_TRAILER = "Autodev-Requirement"
MODEL_TRAILER = "Autodev-Model"
CONVERSATION_TRAILER = "Autodev-Conversation"
UNDOES_TRAILER = "Autodev-Undoes"
WORKFLOW_RUN_TRAILER = "Autodev-Workflow-Run"
TESTS_FOR_TRAILER = "Autodev-Tests-For"  # a commit of tests generated from a requirement's examples
