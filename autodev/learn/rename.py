"""Tests that differ only by names: a stored change is reused with a rename map instead of a model call.

Two test files are "the same modulo renaming" when their token streams line up one to one: operators, numbers,
strings and the block structure (NEWLINE, INDENT, DEDENT) are equal, comments and blank lines are ignored, docstrings
may say anything (descriptions get paraphrased), and each name that is the project's own maps to one new name, the
same everywhere, with no two old names sharing one new name (a bijection). Attribute names follow the same map, since
a renamed ``capacity`` must be renamed in the solution wherever it appears.

Fixed names (they must be equal, because renaming them changes what the test asks of Python rather than of the
project): keywords, builtins, dunder names, the public methods of ``unittest.TestCase`` (reached through ``self``),
pytest's built-in fixture names, every name an ``import`` binds from an external module (one in the standard library
or the top-level name of an installed distribution; relative imports are the project's), and any attribute reached
through a fixed name (``pytest.raises``, ``unittest.mock.patch``). A project module that is installed as a distribution
therefore counts as external: the pair is refused, never wrongly reused. Inherited API of other base classes is not
recognised; a wrong rename there gives a change whose tests fail, which the caller's test run catches.
"""

from __future__ import annotations

import ast
import builtins
import functools
import io
import keyword
import sys
import tokenize
import unittest
import warnings
from collections.abc import Mapping, Sequence
from importlib import metadata

_IGNORED = frozenset({tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER})
_LAYOUT = frozenset({tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT})  # equal by kind: widths may differ
PYTEST_FIXTURES = frozenset({
    "cache", "capfd", "capfdbinary", "caplog", "capsys", "capsysbinary", "doctest_namespace", "monkeypatch",
    "pytestconfig", "pytester", "record_property", "record_testsuite_property", "record_xml_attribute", "recwarn",
    "request", "testdir", "tmp_path", "tmp_path_factory", "tmpdir", "tmpdir_factory",
})  # fmt: skip
_ALWAYS_FIXED = (
    frozenset(keyword.kwlist)
    | frozenset(dir(builtins))
    | frozenset(name for name in dir(unittest.TestCase) if not name.startswith("_"))
    | PYTEST_FIXTURES
)
_Position = tuple[int, int]


@functools.cache
def _installed_top_levels() -> frozenset[str]:
    """Scanning the installed distributions is slow, and they do not change under a running daemon."""
    return frozenset(metadata.packages_distributions())


def _is_external(module: str) -> bool:
    """Decided from names, not by importing: importing would run the project's code and depend on the cwd."""
    top = module.split(".")[0]
    return top in sys.stdlib_module_names or top in sys.builtin_module_names or top in _installed_top_levels()


def _parse(source: str) -> ast.Module:
    """Warnings about the user's escapes are not ours to print, and pytest's "error" filter would turn them fatal."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(source)


def _tokens(source: str) -> list[tokenize.TokenInfo]:
    """Lines are split exactly as tokenize splits them, so positions index the text we were given."""
    lines = io.StringIO(source, newline="").readlines()
    tokens = list(tokenize.generate_tokens(functools.partial(next, iter(lines), "")))
    if any(token.type == tokenize.ERRORTOKEN for token in tokens):
        raise SyntaxError("the text does not tokenize as Python")
    return tokens


def _imported_fixed(tree: ast.Module) -> set[str]:
    """Names bound from external modules stand for that module's API, which a rename cannot reach."""
    fixed: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _is_external(alias.name):
                    fixed.update(alias.name.split("."))
                    fixed.update([alias.asname] if alias.asname else [])
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and _is_external(node.module):
            fixed.update(node.module.split("."))
            fixed.update(name for alias in node.names for name in (alias.name, alias.asname) if name)
    return fixed


def _char_col(lines: Sequence[str], lineno: int, byte_col: int) -> int:
    """ast counts UTF-8 bytes and tokenize counts characters; they differ on lines with non-ASCII text."""
    return len(lines[lineno - 1].encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))


def _docstring_spans(tree: ast.Module, source: str) -> list[tuple[_Position, _Position]]:
    """Where each docstring lies, in tokenize positions, so its tokens can be left out of the comparison."""
    lines = io.StringIO(source, newline="").readlines()
    spans: list[tuple[_Position, _Position]] = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) or not node.body:
            continue
        first = node.body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
            end_line, end_col = first.end_lineno or first.lineno, first.end_col_offset or 0
            spans.append(((first.lineno, _char_col(lines, first.lineno, first.col_offset)),
                          (end_line, _char_col(lines, end_line, end_col))))  # fmt: skip
    return spans


def _significant(source: str, tree: ast.Module) -> list[tokenize.TokenInfo]:
    """The tokens that carry meaning: no comments or blank lines, no docstrings (nor the line end after one)."""
    spans = _docstring_spans(tree, source)
    kept: list[tokenize.TokenInfo] = []
    skipping_newline = False
    for token in _tokens(source):
        if token.type in _IGNORED:
            continue
        if any(start <= token.start and token.end <= end for start, end in spans):
            skipping_newline = True
            continue
        if not (skipping_newline and token.type == tokenize.NEWLINE):
            kept.append(token)
        skipping_newline = False
    return kept


def _fixed_positions(tokens: Sequence[tokenize.TokenInfo], fixed_names: frozenset[str]) -> list[bool]:
    """A name is fixed by what it is, or by being an attribute of a fixed (non-keyword) name: ``pytest.raises``."""
    fixed: list[bool] = []
    for index, token in enumerate(tokens):
        by_name = token.string in fixed_names or _is_dunder(token.string)
        by_anchor = index >= 2 and tokens[index - 1].string == "." and _anchors(tokens, fixed, index - 2)
        fixed.append(token.type == tokenize.NAME and (by_name or by_anchor))
    return fixed


def _anchors(tokens: Sequence[tokenize.TokenInfo], fixed: Sequence[bool], index: int) -> bool:
    """Keywords anchor nothing: in ``from .grains import`` the module after the dot is the project's."""
    return tokens[index].type == tokenize.NAME and fixed[index] and not keyword.iskeyword(tokens[index].string)


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _side(source: str) -> tuple[list[tokenize.TokenInfo], list[bool]]:
    tree = _parse(source)
    tokens = _significant(source, tree)
    return tokens, _fixed_positions(tokens, _ALWAYS_FIXED | _imported_fixed(tree))


def _pair_names(old: str, new: str, fixed: bool, forward: dict[str, str], backward: dict[str, str]) -> bool:
    """One pair of aligned names, kept only while the map stays a bijection and fixed names stay themselves."""
    if fixed and old != new:
        return False
    return forward.setdefault(old, new) == new and backward.setdefault(new, old) == old


def rename_map(old: str, new: str) -> dict[str, str] | None:
    """The renames that turn ``old`` into ``new`` (identities left out), or None when the tests are not the same.

    None also for text that is not Python: the caller then asks a model instead of reusing a change on a guess.
    """
    try:
        (old_tokens, old_fixed), (new_tokens, new_fixed) = _side(old), _side(new)
    except (SyntaxError, ValueError, tokenize.TokenError):
        return None
    if len(old_tokens) != len(new_tokens):
        return None
    forward: dict[str, str] = {}
    backward: dict[str, str] = {}
    for a, b, a_fixed, b_fixed in zip(old_tokens, new_tokens, old_fixed, new_fixed, strict=True):
        if a.type != b.type:
            return None
        if a.type == tokenize.NAME:
            if not _pair_names(a.string, b.string, a_fixed or b_fixed, forward, backward):
                return None
        elif a.type not in _LAYOUT and a.string != b.string:
            return None
    return {name: renamed for name, renamed in forward.items() if name != renamed}


def apply_renames(source: str, renames: Mapping[str, str]) -> str:
    """``source`` with its names renamed and every other byte kept, so the reused change reads as it was written.

    An external module's API keeps its names (``math.exp`` when the project's ``exp`` is renamed, and what is
    imported from it). Raises ValueError for text that is not Python, or when the renamed text no longer parses (a
    name renamed to a keyword): a change that cannot be renamed safely must not be reused. Strings are left alone;
    so are names inside f-strings on Pythons before 3.12, where tokenize sees an f-string as one string.
    """
    try:
        tree = _parse(source)
        tokens = [token for token in _tokens(source) if token.type not in _IGNORED]
    except (SyntaxError, ValueError, tokenize.TokenError) as error:
        raise ValueError(f"cannot rename names in text that is not Python: {error}") from error
    fixed = _fixed_positions(tokens, _ALWAYS_FIXED | _imported_fixed(tree))  # math.exp stays, whatever exp becomes
    lines = io.StringIO(source, newline="").readlines()
    for token, is_fixed in reversed(list(zip(tokens, fixed, strict=True))):
        if token.type == tokenize.NAME and token.string in renames and not is_fixed:
            (row, col), (_, end) = token.start, token.end
            lines[row - 1] = lines[row - 1][:col] + renames[token.string] + lines[row - 1][end:]
    renamed = "".join(lines)
    try:
        _parse(renamed)
    except (SyntaxError, ValueError) as error:
        raise ValueError(f"the renamed text is no longer Python: {error}") from error
    return renamed


def renamed_path(path: str, renames: Mapping[str, str]) -> str:
    """The path a renamed module lives at: package directories and a ``.py``/``.pyi`` file's stem follow the map.

    Anything else is returned as given, byte for byte, so a path with nothing to rename is never normalised.
    """
    *folders, name = path.split("/")
    stem, dot, suffix = name.rpartition(".")
    if dot and suffix in ("py", "pyi") and stem in renames:
        name = f"{renames[stem]}.{suffix}"
    return "/".join([*(renames.get(folder, folder) for folder in folders), name])
