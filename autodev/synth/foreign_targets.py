"""The files JavaScript and Rust tests need written, read from their imports (Python's are in targets.py).

JavaScript: a relative ``import ... from "../src/slug.js"``, ``export ... from``, ``import("...")`` or
``require("../slug")`` names a file next to the test; a specifier without an extension gets the one of the
file that exists (``.js``, ``.mjs``, ``.cjs``, ``.ts``), a directory its ``index.js``, else the test's own
extension family (``.js``, or ``.ts`` for a TypeScript test). Packages (``node:test``, ``lodash``) are not the
project's. Rust: an integration test (``tests/*.rs``) that uses the crate (``use roman::to_roman``, the name from
Cargo.toml with ``-`` as ``_``) needs the library, ``src/lib.rs`` (or ``[lib] path``), and the files of the
modules the library declares (``mod numerals;`` -> ``src/numerals.rs``).
"""

from __future__ import annotations

import posixpath
import re
import sys
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

from autodev.discovery import JS_EXTENSIONS, is_js_test_file, is_rust_test_file

__all__ = ["crate_name", "is_foreign_test", "js_targets", "rust_targets"]

_JS_SPECIFIER = re.compile(
    r"""(?:\bimport\s*(?:[\w*${}\s,]+?\s*from\s*)?|\bexport\s*[\w*${}\s,]+?\s*from\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)"""
    r"""(?P<quote>["'])(?P<spec>\.{1,2}/[^"'\n]*)(?P=quote)"""
)
_JS_RESOLVED = (".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".jsx", ".tsx")
_TS_SUFFIXES = frozenset({".ts", ".mts", ".cts", ".tsx"})
_RUST_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_RUST_MOD = re.compile(r"^\s*(?:pub(?:\([\w:\s]+\))?\s+)?mod\s+(?P<name>[A-Za-z_]\w*)\s*;", re.MULTILINE)


def is_foreign_test(path: str) -> bool:
    """A JavaScript/TypeScript or Rust test file (Python's are read by targets.py)."""
    return PurePosixPath(path).suffix in JS_EXTENSIONS or path.endswith(".rs")


def js_targets(root: Path, tests: Iterable[tuple[str, str]]) -> list[str]:
    """The project files the JavaScript tests import, in the order they first import them."""
    found: dict[str, None] = {}
    for path, source in tests:
        for match in _JS_SPECIFIER.finditer(source):
            resolved = _resolve_js(root, path, match.group("spec"))
            if resolved is not None and not is_js_test_file(resolved):
                found[resolved] = None
    return list(found)


def _resolve_js(root: Path, test: str, specifier: str) -> str | None:
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(test), specifier.split("?")[0]))
    if joined.startswith("../") or joined in ("..", "."):
        return None  # outside the project
    if PurePosixPath(joined).suffix in JS_EXTENSIONS or PurePosixPath(joined).suffix == ".json":
        return joined
    for suffix in _JS_RESOLVED:
        if (root / f"{joined}{suffix}").is_file():
            return f"{joined}{suffix}"
    for suffix in _JS_RESOLVED:
        if (root / joined / f"index{suffix}").is_file():
            return f"{joined}/index{suffix}"
    return f"{joined}.ts" if PurePosixPath(test).suffix in _TS_SUFFIXES else f"{joined}.js"


def crate_name(root: Path) -> str | None:
    """The library's name as code uses it: Cargo.toml's ``[lib] name``, else ``[package] name`` with ``_``."""
    manifest = _manifest(root)
    lib, package = manifest.get("lib"), manifest.get("package")
    for table in (lib, package):
        name = table.get("name") if isinstance(table, dict) else None
        if isinstance(name, str) and name:
            return name.replace("-", "_")
    return None


def rust_targets(root: Path, tests: Iterable[tuple[str, str]]) -> list[str]:
    """The library (and the modules it declares) when an integration test uses the crate."""
    name = crate_name(root)
    if name is None:
        return []
    uses = re.compile(rf"\b(?:use\s+(?:::)?{re.escape(name)}\b|(?<![\w:]){re.escape(name)}::)")
    if not any(is_rust_test_file(path) and uses.search(_RUST_COMMENT.sub("", source)) for path, source in tests):
        return []
    library = _library_path(root)
    return [library, *_module_files(root, library)]


def _library_path(root: Path) -> str:
    lib = _manifest(root).get("lib")
    path = lib.get("path") if isinstance(lib, dict) else None
    return posixpath.normpath(path) if isinstance(path, str) and path and not path.startswith("/") else "src/lib.rs"


def _module_files(root: Path, library: str) -> list[str]:
    """``mod NAME;`` in the library: ``NAME.rs`` next to it, or ``NAME/mod.rs`` when that is what exists."""
    try:
        source = (root / library).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    base = posixpath.dirname(library)
    files: list[str] = []
    for match in _RUST_MOD.finditer(_RUST_COMMENT.sub("", source)):
        flat = posixpath.join(base, f"{match.group('name')}.rs")
        nested = posixpath.join(base, match.group("name"), "mod.rs")
        files.append(nested if not (root / flat).is_file() and (root / nested).is_file() else flat)
    return list(dict.fromkeys(files))


def _manifest(root: Path) -> dict[str, object]:
    try:
        data: dict[str, object] = tomllib.loads((root / "Cargo.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data
