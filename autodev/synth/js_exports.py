"""What a JavaScript test imports from a file to write, said in the instruction: the names and how to export them.

A small model writes `function slugify(...)` and stops; node then refuses the test's `import { slugify }` with
"does not provide an export named", and the model repeats itself. Naming the exports in the one sentence the
model follows (the prompt's last) costs a line and only reaches JavaScript targets.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence

JS_SUFFIXES = (".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx")
_ESM_IMPORT = re.compile(
    r"""\bimport\s*(?:(?P<default>[A-Za-z_$][\w$]*)\s*,?\s*)?(?:\{(?P<names>[^}]*)\})?\s*from\s*["'](?P<spec>[^"']+)["']"""
)
_CJS_REQUIRE = re.compile(r"""\{(?P<names>[^}]*)\}\s*=\s*require\(\s*["'](?P<spec>[^"']+)["']\s*\)""")


def export_hint(target: str, tests: Sequence[tuple[str, str]]) -> str:
    """One sentence naming what ``target`` must export for ``tests`` (path, text); "" when nothing is known."""
    if not target.endswith(JS_SUFFIXES):
        return ""
    esm: list[str] = []
    cjs: list[str] = []
    for path, text in tests:
        for match in _ESM_IMPORT.finditer(text):
            if _names_target(path, match["spec"], target):
                esm.extend(_names(match["names"] or ""))
                if match["default"]:
                    esm.append("default")
        for match in _CJS_REQUIRE.finditer(text):
            if _names_target(path, match["spec"], target):
                cjs.extend(_names(match["names"]))
    if esm:
        named = ", ".join(dict.fromkeys(name for name in esm if name != "default"))
        parts = [f"export {named} by name (`export function ...`)"] if named else []
        parts += ["have an `export default`"] if "default" in esm else []
        return f"{target} is an ES module: the tests import from it, so it must {' and '.join(parts)}."
    if cjs:
        return f"The tests require {', '.join(dict.fromkeys(cjs))} from {target}: set them on `module.exports`."
    return ""


def _names(listed: str) -> list[str]:
    """``a, b as c`` -> ``a, b``: the exported names, not the local aliases."""
    return [item.split(" as ")[0].strip() for item in listed.split(",") if item.strip()]


def _names_target(test: str, specifier: str, target: str) -> bool:
    if not specifier.startswith("."):
        return False
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(test), specifier))
    stem, _ = posixpath.splitext(target)
    return resolved in (target, stem) or (resolved == posixpath.dirname(target) and posixpath.basename(stem) == "index")
