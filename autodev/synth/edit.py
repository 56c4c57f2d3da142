"""One change to one file, as a model's reply asks for it: what ``reply`` produces and ``apply`` consumes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

# The largest file autodev writes for a model, whether sent whole or grown by SEARCH/REPLACE edits.
MAX_FILE_CHARS = 150_000


class FileEdit(BaseModel):
    """One change to one file as the model asked for it; the path is parsed, NOT yet confined to the project.

    ``path`` is a posix path with markup and ``./`` removed; ``content`` (kind "whole") is empty or ends with
    a newline; ``search``/``replace`` (kind "replace") are whole lines, each ending with a newline, or empty.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    kind: Literal["whole", "replace"]
    content: str = ""
    search: str = ""
    replace: str = ""
