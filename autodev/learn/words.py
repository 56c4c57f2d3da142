"""Code-aware words for the learning index: identifiers split on case and underscores, kept whole as well.

``to_kelvin`` and ``toKelvin`` both give ``to``, ``kelvin`` and the identifier itself, so a requirement that says
"convert to Kelvin" finds tests that call ``to_kelvin`` and a renamed variant still shares most of its words.
"""

from __future__ import annotations

import re

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+")
_PART = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_STOP = frozenset({
    "the", "a", "an", "and", "or", "of", "to", "in", "on", "at", "for", "is", "are", "be", "it", "its", "this",
    "that", "with", "as", "by", "from", "not", "no", "def", "class", "self", "return", "import", "assert", "none",
    "true", "false", "if", "else", "elif",
})  # fmt: skip


def words(text: str) -> list[str]:
    """The text's words, lower case, in order: each identifier's parts, then the identifier when it has several."""
    found: list[str] = []
    for match in _IDENTIFIER.finditer(text):
        identifier = match.group()
        parts = [part.lower() for part in _PART.findall(identifier)]
        found.extend(parts)
        if len(parts) > 1:
            found.append(identifier.lower())
    return found


def key_words(text: str) -> set[str]:
    """The distinct words that say something (no stop words, no single letters): what similarity compares."""
    return {word for word in words(text) if len(word) > 1 and word not in _STOP}


def similarity(first: str, second: str) -> float:
    """Jaccard similarity of the two texts' key words (1.0: the same words; 0.0: none shared, or both empty)."""
    a, b = key_words(first), key_words(second)
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)
