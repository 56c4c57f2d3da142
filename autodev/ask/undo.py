"""`autodev undo`: autodev's last commit reverted, when nothing was committed on top of it.

STUB: interface agreed for the helper that implements it.
"""
