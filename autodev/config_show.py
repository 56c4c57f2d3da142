"""The effective configuration written out as TOML (`autodev config show`), optionally with each key's origin.

A small emitter for the configuration's own types (tables, strings, numbers, booleans, lists): no TOML writer is a
dependency. What it writes reads back (tomllib) to the same configuration; a key that is not set (None: TOML has
no null) is a comment. Credentials in a URL (``https://user:secret@host``, ``?api_key=...``) are masked: the
configuration holds only the names of key variables, but a URL is free text.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from autodev.config_layers import KeyPath, LayeredConfig, dotted, toml_key

MASK = "***"
_SECRET_QUERY = re.compile(r"key|token|secret|password|passwd|sig|auth", re.IGNORECASE)


def shown_data(layered: LayeredConfig) -> dict[str, Any]:
    """The effective configuration as JSON-ready data, credentials in URLs masked."""
    data = layered.config.model_dump(mode="json")
    masked = _masked(data)
    assert isinstance(masked, dict)
    return masked


def render_toml(layered: LayeredConfig, *, origins: bool = False) -> str:
    """The effective configuration as TOML; ``origins``: a ``# where it came from`` comment after each key."""
    origin: Callable[[KeyPath], str] | None = layered.origin if origins else None
    lines: list[str] = []
    _table(shown_data(layered), (), lines, origin)
    return "\n".join(lines).strip("\n") + "\n"


def show_json(layered: LayeredConfig) -> str:
    return json.dumps({"config": shown_data(layered), "origins": layered.origins}, indent=2)


def _table(data: dict[str, Any], path: KeyPath, lines: list[str], origin: Callable[[KeyPath], str] | None) -> None:
    values = {k: v for k, v in data.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    if path and (values or not tables):  # a table of tables only needs no header of its own
        lines.extend(["", f"[{dotted(path)}]"])
    for key, value in values.items():
        where = f"  # {origin((*path, key))}" if origin is not None else ""
        if value is None:
            lines.append(f"# {toml_key(key)} is not set{where}")
        else:
            lines.append(f"{toml_key(key)} = {toml_value(value)}{where}")
    for key, value in tables.items():
        _table(value, (*path, key), lines, origin)


def toml_value(value: Any) -> str:
    """One value as TOML: strings quoted, floats TOML's way, lists and tables inline."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items() if v is not None)
        return "{ " + items + " }" if items else "{}"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def _string(text: str) -> str:
    escapes = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
    out = []
    for char in text:
        if char in escapes:
            out.append(escapes[char])
        elif char < " " or char == "\x7f":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return _masked_arguments([_masked(item) for item in value])
    if isinstance(value, str) and "://" in value:
        return mask_url(value)
    return value


def _masked_arguments(items: list[Any]) -> list[Any]:
    """A command's ``--api-key VALUE`` and ``--token=VALUE`` with the value masked (a server_command, say)."""
    masked: list[Any] = []
    for index, item in enumerate(items):
        before = items[index - 1] if index else None
        if isinstance(before, str) and _is_secret_option(before) and "=" not in before:
            masked.append(MASK)
        elif isinstance(item, str) and _is_secret_option(item) and "=" in item:
            masked.append(item.partition("=")[0] + "=" + MASK)
        else:
            masked.append(item)
    return masked


def _is_secret_option(word: str) -> bool:
    return word.startswith("-") and _SECRET_QUERY.search(word.partition("=")[0]) is not None


def mask_url(text: str) -> str:
    """``text`` with a URL's password and credential-like query values replaced by ***."""
    try:
        parts = urlsplit(text)
        password = parts.password
    except ValueError:
        return text
    netloc = parts.netloc
    if password is not None:
        netloc = netloc.replace(f":{password}@", f":{MASK}@", 1)
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_SECRET_QUERY.search(name) for name, _ in pairs):
            query = urlencode([(name, MASK if _SECRET_QUERY.search(name) else item) for name, item in pairs])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
