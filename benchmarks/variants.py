"""Write a renamed, paraphrased copy of a Python exercise set, so that reuse of past solutions is measured honestly.

The learning store (autodev/learn) answers a task from a stored solution when the new tests equal the old ones
modulo renaming. Run on the development set it was filled from, an exact-match cache scores as well as real reuse,
so that number says nothing. A variant set asks the same exercises again with the solution module, the stub's
functions and classes, the methods and attributes the tests use, the test functions and the test classes renamed,
and the description reworded: a cache keyed on the text cannot answer it, a rename-aware reuse can. Everything
comes from built-in tables (no model, no network), so two runs write the same bytes.

    .venv/bin/python benchmarks/variants.py ../shared/bench/exercism /tmp/variants [--only grains,bob]

writes DEST/<name>-variant for each Python exercise, in the same layout (``autodev.bench.exercise`` loads it).

Code is renamed token by token (``tokenize``) with one map per exercise, the same in the stub, the tests and the
example, so formatting and comments stay and string literals (the error messages the tests compare) are untouched.
A name reached through an imported module (``math.exp``, ``itertools.combinations``) stays: the rename cannot reach
that module. Only docstrings, which no test reads, get the distinctive names (``CircularBuffer``) renamed inside.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import io
import json
import keyword
import re
import shutil
import sys
import tokenize
import unittest
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from autodev.bench.exercise import Exercise, ExerciseError, find_exercises
from autodev.learn.rename import PYTEST_FIXTURES

VARIANT_SUFFIX = "-variant"
MODULE_SUFFIX = "_kit"
TEST_PREFIX = "test_case_"
FALLBACK = ("_alt", "Alt")  # snake_case, CamelCase: for a name no table entry changes

# Whole identifiers whose words would not rename well one by one.
WHOLE_NAMES: dict[str, str] = {
    "square_root": "integer_root",
    "gamestate": "game_status",
    "Luhn": "LuhnCheck",
    "Queen": "ChessQueen",
    "roman": "to_roman_numeral",
    "rectangles": "rectangle_count",
    "overwrite": "force_put",
}

# Words of identifiers (lower case), replaced one by one: ``is_pangram`` -> ``is_full_alphabet``.
WORD_SYNONYMS: dict[str, str] = {
    "allergic": "sensitive",
    "allergies": "sensitivities",
    "attack": "capture",
    "best": "peak",
    "buffer": "queue",
    "cipher": "codec",
    "circular": "ring",
    "clear": "reset",
    "combinations": "combos",
    "commands": "actions",
    "conjugate": "conjugated",
    "coordinates": "position",
    "decode": "decipher",
    "delete": "discard",
    "direction": "heading",
    "encode": "encipher",
    "exception": "error",
    "exp": "exponential",
    "find": "locate",
    "high": "top",
    "imaginary": "imag_value",
    "key": "secret",
    "largest": "maximal",
    "latest": "newest",
    "linked": "chained",
    "list": "sequence",
    "lst": "listing",
    "maximum": "greatest",
    "move": "drive",
    "node": "vertex",
    "number": "num",
    "pangram": "full_alphabet",
    "parse": "render",
    "personal": "own",
    "pop": "take_last",
    "push": "put_last",
    "read": "fetch",
    "real": "real_value",
    "recite": "narrate",
    "response": "reply",
    "reverse": "flip",
    "robot": "rover",
    "rows": "lines",
    "score": "points",
    "scores": "results",
    "shift": "take_first",
    "smallest": "minimal",
    "square": "cell",
    "state": "status",
    "total": "overall",
    "traversals": "orderings",
    "unshift": "put_first",
    "valid": "correct",
    "value": "worth",
    "write": "put",
}

# Phrases of the description's prose, case-sensitive, longest first; one pass, so a replacement is not replaced again.
PHRASES: dict[str, str] = {
    "Write code that": "Implement code which",
    "write code that": "implement code which",
    "Your task is to": "The job here is to",
    "your task is to": "the job here is to",
    "Given": "For",
    "return value": "result",
    "Return": "Give back",
    "return": "give back",
    "returns": "gives back",
    "returned": "given back",
    "returning": "giving back",
    "Calculate": "Compute",
    "calculate": "compute",
    "calculates": "computes",
    "calculated": "computed",
    "calculating": "computing",
    "calculation": "computation",
    "Determine": "Work out",
    "determine": "work out",
    "determines": "works out",
    "figure out": "work out",
    "For example": "As an example",
    "for example": "as an example",
    "example": "sample",
    "an example": "a sample",
    "An example": "A sample",
    "examples": "samples",
    "Note that": "Keep in mind that",
    "note that": "keep in mind that",
    "In order to": "To",
    "in order to": "to",
    "such as": "like",
    "contains": "holds",
    "contain": "hold",
    "should": "ought to",
    "should not": "ought not to",
    "should still": "still ought to",
    "should always": "ought always to",
    "You can": "You may",
    "you can": "you may",
    "need to": "have to",
    "needs to": "has to",
    "always": "invariably",
    "is called": "is known as",
    "are called": "are known as",
    "means": "signifies",
    "Create": "Make",
    "create": "make",
    "creates": "makes",
    "begins": "starts",
    "Instructions": "Assignment",
    "Introduction": "Background",
    "exercise": "task",
    "exercises": "tasks",
    "task": "job",
    "number of": "count of",
    "Implement": "Build",
    "implement": "build",
    "character": "symbol",
    "characters": "symbols",
    "each time": "every time",
    "simple": "plain",
    "helps": "assists",
    "different": "distinct",
    "several": "multiple",
    "Find": "Locate",
    "find": "locate",
    "finds": "locates",
    "finding": "locating",
    "check out": "look at",
    "find yourself": "end up",
    "find it useful": "consider it useful",
    "checking": "verifying",
    "valid": "well-formed",
    "invalid": "ill-formed",
    "string": "text",
    "strings": "texts",
    "using": "employing",
    "possible": "feasible",
    "integer": "whole number",
    "integers": "whole numbers",
}

RESERVED = (
    frozenset(keyword.kwlist)
    | frozenset(keyword.softkwlist)
    | frozenset(dir(builtins))
    | frozenset(dir(unittest.TestCase))
    | PYTEST_FIXTURES
    | {"self", "cls"}
)
_WORD_PART = re.compile(r"_+|[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_PHRASE = re.compile(
    r"(?<![\w-])(?:" + "|".join(re.escape(key) for key in sorted(PHRASES, key=lambda k: (-len(k), k))) + r")(?![\w-])"
)
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})(.*)$")
_REFERENCE_DEFINITION = re.compile(r"^\s{0,3}\[([^\]]+)\]:\s")
_PROTECTED = r"(`+).+?\1|\]\([^)]*\)|\]\[[^\]]*\]|<https?://[^>]*>|https?://\S+|</?[A-Za-z][^>\s]*>"
_QUOTED = re.compile(r"(\"[^\"]*\"|'[^']*')")


@dataclass(frozen=True)
class RenamePlan:
    """One exercise's renames, old -> new: its API (functions, classes, the members the tests use), its solution
    modules (file stems) and its tests (test functions and classes)."""

    api: dict[str, str]
    modules: dict[str, str]
    tests: dict[str, str]

    @property
    def names(self) -> dict[str, str]:
        """Every code name: the one map the stub, the tests and the example follow."""
        return {**self.api, **self.modules, **self.tests}

    @property
    def prose(self) -> dict[str, str]:
        """The names distinctive enough to rename in running text, plurals too: ``is_pangram``, ``LinkedLists``,
        not ``square`` (a plain word there is the word, not the function)."""
        found = {old: new for old, new in {**self.api, **self.modules}.items() if _distinctive(old)}
        return {**{old + "s": new + "s" for old, new in found.items()}, **found}

    @property
    def samples(self) -> dict[str, str]:
        """The names to rename in the description's code samples and inline code, plurals of API names too."""
        names = {**self.api, **self.modules}
        return {**{old + "s": new + "s" for old, new in self.api.items() if _distinctive(old)}, **names}


@dataclass(frozen=True)
class Written:
    """What one variant got, for the line the script prints about it."""

    name: str
    directory: Path
    plan: RenamePlan


# --- names ---------------------------------------------------------------------------------------------------


def _distinctive(name: str) -> bool:
    return "_" in name.strip("_") or re.search(r"[a-z][A-Z]", name) is not None


def _camel(snake: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_") if part)


def synonym(name: str) -> str:
    """A new name saying the same: a whole-name entry, else each word through WORD_SYNONYMS in the name's own
    case style, else the fallback suffix, so that every renamed name differs from the old one."""
    if name in WHOLE_NAMES:
        return WHOLE_NAMES[name]
    parts = []
    for part in _WORD_PART.findall(name):
        replacement = WORD_SYNONYMS.get(part.lower())
        if part.startswith("_") or replacement is None:
            parts.append(part)
        else:
            parts.append(_camel(replacement) if part[:1].isupper() else replacement)
    renamed = "".join(parts)
    if renamed != name and renamed.isidentifier():
        return renamed
    return name + (FALLBACK[1] if name[:1].isupper() else FALLBACK[0])


def unique(candidate: str, taken: set[str]) -> str:
    """``candidate``, or it with the fallback suffix and then a number: a new name must not be a keyword, a builtin,
    an API the tests reach through ``self`` or any name the exercise already uses, or two old names would share it."""
    suffix = FALLBACK[1] if candidate[:1].isupper() else FALLBACK[0]
    options = [candidate, candidate + suffix, *(f"{candidate}{suffix}{n}" for n in range(2, 100))]
    for option in options:
        if option not in taken and option.isidentifier():
            taken.add(option)
            return option
    raise ValueError(f"no free name for {candidate}")


def renamed_test(name: str) -> str:
    """``test_grains_on_square_1`` -> ``test_case_grains_on_square_1``: still collected by pytest, never the same."""
    return TEST_PREFIX + name[len("test") :].lstrip("_")


def renamed_test_class(name: str, modules: Mapping[str, str]) -> str:
    """``GrainsTest`` -> ``GrainsKitTest`` (the class named after the module follows the module), else the words
    through the synonym table, else ``Variant`` before the ``Test`` suffix."""
    for old, new in modules.items():
        if name == _camel(old) + "Test":
            return _camel(new) + "Test"
    renamed = synonym(name)
    if not renamed.endswith(FALLBACK[1]):
        return renamed
    return name[: -len("Test")] + "VariantTest" if name.endswith("Test") else name + "Variant"


# --- what the code defines and uses --------------------------------------------------------------------------


def _parse(source: str) -> ast.Module:
    """Warnings about an exercise's escapes are not ours to print (and under pytest's "error" filter they are fatal)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(source)


def _tokens(source: str) -> list[tokenize.TokenInfo]:
    """Lines are split as tokenize splits them, so positions index the very text given."""
    lines = iter(io.StringIO(source, newline="").readlines())
    tokens = list(tokenize.generate_tokens(lambda: next(lines, "")))
    if any(token.type == tokenize.ERRORTOKEN for token in tokens):
        raise SyntaxError("the text does not tokenize as Python")
    return tokens


def _names_used(source: str) -> set[str]:
    return {token.string for token in _tokens(source) if token.type == tokenize.NAME}


def external_names(tree: ast.Module, own_modules: Iterable[str]) -> set[str]:
    """Names bound by importing a module that is not the exercise's own: they stand for that module's API."""
    own = set(own_modules)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] not in own:
                    found.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] not in own:
            found.update(alias.asname or alias.name for alias in node.names)
    return found


def public_definitions(tree: ast.Module) -> list[str]:
    """The top-level functions and classes a stub offers, in order: the API the tests call."""
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return [node.name for node in tree.body if isinstance(node, kinds) and not node.name.startswith("_")]


def member_definitions(tree: ast.Module) -> set[str]:
    """Methods, properties and ``self.x`` attributes of the module's classes."""
    found: set[str] = set()
    for cls in (node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)):
        for item in cls.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.add(item.name)
                found.update(_self_attributes(item))
    return {name for name in found if not name.startswith("_")}


def _self_attributes(function: ast.AST) -> set[str]:
    targets: list[ast.expr] = []
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            targets.extend(node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets.append(node.target)
    found: set[str] = set()
    for target in targets:
        for node in ast.walk(target):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
                found.add(node.attr)
    return found


def attributes_used(tree: ast.Module, fixed_roots: set[str]) -> set[str]:
    """Attribute names the tests reach, except through a module (``math.pi``) or the test case (``self.assert*``)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if not (isinstance(root, ast.Name) and (root.id in fixed_roots or root.id == "self")):
                found.add(node.attr)
    return found


def tests_defined(tree: ast.Module) -> tuple[list[str], list[str]]:
    """The test functions and methods, and the classes, a test file defines, in order."""
    functions: list[str] = []
    classes: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            functions.append(node.name)
        elif isinstance(node, ast.ClassDef):
            classes.append(node.name)
    return sorted(set(functions), key=functions.index), sorted(set(classes), key=classes.index)


# --- the plan ------------------------------------------------------------------------------------------------


def plan_renames(
    stubs: Sequence[str], tests: Sequence[str], examples: Sequence[str], modules: Sequence[str]
) -> RenamePlan:
    """Decide every rename of one exercise before touching a file, so that the stub, the tests, the example and
    the description all follow one map and no two old names meet in one new name."""
    stub_trees, test_trees, example_trees = ([_parse(text) for text in group] for group in (stubs, tests, examples))
    trees = [*stub_trees, *test_trees, *example_trees]
    fixed = set(RESERVED).union(*(external_names(tree, modules) for tree in trees))
    taken = set(fixed).union(*(_names_used(text) for text in [*stubs, *tests, *examples]), modules)
    api = _api_renames(stub_trees, test_trees, example_trees, fixed, taken)
    module_names = {stem: api.get(stem) or unique(stem + MODULE_SUFFIX, taken) for stem in modules}
    renamed = {**api, **module_names}
    test_names: dict[str, str] = {}
    for tree in test_trees:
        functions, classes = tests_defined(tree)
        for function in (name for name in functions if name not in renamed and name not in test_names):
            test_names[function] = unique(renamed_test(function), taken)
        for cls in (name for name in classes if name not in renamed and name not in test_names):
            test_names[cls] = unique(renamed_test_class(cls, module_names), taken)
    return RenamePlan(api=api, modules=module_names, tests=test_names)


def _api_renames(
    stubs: Sequence[ast.Module],
    tests: Sequence[ast.Module],
    examples: Sequence[ast.Module],
    fixed: set[str],
    taken: set[str],
) -> dict[str, str]:
    """The stub's public functions and classes, then the members (methods, properties, attributes) of the stub's
    or the example's classes that the tests reach; never a fixed name (a builtin, an imported module's API)."""
    used = set().union(*(attributes_used(tree, fixed) for tree in tests))
    members = set().union(*(member_definitions(tree) for tree in [*stubs, *examples]))
    api: dict[str, str] = {}
    for name in [*(name for tree in stubs for name in public_definitions(tree)), *sorted(members & used)]:
        if name not in api and name not in fixed and not name.startswith("__"):
            api[name] = unique(synonym(name), taken)
    return api


# --- rewriting code ------------------------------------------------------------------------------------------


def _offsets(source: str) -> list[int]:
    starts = [0]
    for line in io.StringIO(source, newline="").readlines():
        starts.append(starts[-1] + len(line))
    return starts


def _is_statement_string(tokens: Sequence[tokenize.TokenInfo], index: int) -> bool:
    """A string alone on its logical line (a docstring): nothing reads it, so its words may change."""
    skipped = {tokenize.NL, tokenize.COMMENT}
    before = next((t for t in reversed(tokens[:index]) if t.type not in skipped), None)
    after = next((t for t in tokens[index + 1 :] if t.type not in skipped), None)
    starts_line = before is None or before.type in {
        tokenize.INDENT,
        tokenize.DEDENT,
        tokenize.NEWLINE,
        tokenize.ENCODING,
    }
    return starts_line and after is not None and after.type in {tokenize.NEWLINE, tokenize.ENDMARKER}


def rename_code(source: str, names: Mapping[str, str], prose: Mapping[str, str], own_modules: Iterable[str]) -> str:
    """``source`` with each NAME token in ``names`` renamed and every other byte kept; an attribute reached
    through an imported module stays, and docstrings get the ``prose`` renames."""
    tree = _parse(source)
    roots = external_names(tree, own_modules)
    tokens = _tokens(source)
    starts = _offsets(source)
    edits: list[tuple[int, int, str]] = []
    fixed: list[bool] = []
    for index, token in enumerate(tokens):
        anchored = index >= 2 and tokens[index - 1].string == "." and fixed[index - 2]
        fixed.append(token.type == tokenize.NAME and (token.string in roots or anchored))
        begin = starts[token.start[0] - 1] + token.start[1]
        end = starts[token.end[0] - 1] + token.end[1]
        if token.type == tokenize.NAME and token.string in names and not fixed[-1]:
            edits.append((begin, end, names[token.string]))
        elif token.type == tokenize.STRING and _is_statement_string(tokens, index):
            edits.append((begin, end, rename_words(token.string, prose)))
    for begin, end, text in reversed(edits):
        source = source[:begin] + text + source[end:]
    return source


def rename_words(text: str, names: Mapping[str, str]) -> str:
    """Whole-word renames in free text (``CircularBuffer`` but not ``CircularBufferish``)."""
    if not names:
        return text
    alternatives = "|".join(re.escape(name) for name in sorted(names, key=lambda name: (-len(name), name)))
    pattern = re.compile(rf"(?<!\w)({alternatives})(?!\w)")
    return pattern.sub(lambda match: names[match.group(1)], text)


def rename_fragment(text: str, names: Mapping[str, str]) -> str:
    """A code sample of the description: renamed as Python when it tokenizes, else word by word outside quotes,
    so that an error message quoted there still matches the one the tests check."""
    try:
        tokens = _tokens(text)
    except (SyntaxError, tokenize.TokenError):
        pieces = _QUOTED.split(text)
        return "".join(piece if index % 2 else rename_words(piece, names) for index, piece in enumerate(pieces))
    starts = _offsets(text)
    for token in reversed(tokens):
        if token.type == tokenize.NAME and token.string in names and not _after_dot(tokens, token):
            begin = starts[token.start[0] - 1] + token.start[1]
            end = starts[token.end[0] - 1] + token.end[1]
            text = text[:begin] + names[token.string] + text[end:]
    return text


def _after_dot(tokens: Sequence[tokenize.TokenInfo], token: tokenize.TokenInfo) -> bool:
    """``math.exp`` in a sample: an attribute of a module name; an attribute of an instance (``buf.read``) is ours."""
    index = tokens.index(token)
    if index < 2 or tokens[index - 1].string != ".":
        return False
    root = tokens[index - 2]
    return root.type == tokenize.NAME and root.string in sys.stdlib_module_names


# --- rewriting the description -------------------------------------------------------------------------------


def paraphrase(text: str, plan: RenamePlan) -> str:
    """The description reworded by PHRASES, its code samples and inline code renamed like the code, the
    distinctive names renamed in the prose; fenced code, link targets and URLs are otherwise left alone."""
    labels = [match.group(1) for line in text.splitlines() if (match := _REFERENCE_DEFINITION.match(line))]
    protected = re.compile("|".join([_PROTECTED, *(r"\[" + re.escape(label) + r"\]" for label in labels)]))
    out: list[str] = []
    code: list[str] | None = None  # the lines of the open code fence
    fence = ""
    admonitions: list[str] = []  # the open ``~~~~exercism/note`` fences: prose inside
    for line in io.StringIO(text, newline="").readlines():
        opening = _FENCE.match(line)
        info = opening.group(2).strip() if opening else ""
        if code is not None:
            if opening and _closes(opening.group(1), fence) and not info:
                out.append(rename_fragment("".join(code), plan.samples) + line)
                code = None
            else:
                code.append(line)
        elif opening and admonitions and _closes(opening.group(1), admonitions[-1]) and not info:
            admonitions.pop()
            out.append(line)
        elif opening and info.startswith("exercism/"):
            admonitions.append(opening.group(1))
            out.append(line)
        elif opening:
            out.append(line)
            code, fence = [], opening.group(1)
        elif _REFERENCE_DEFINITION.match(line):
            out.append(line)
        else:
            out.append(_paraphrase_line(line, plan, protected))
    if code is not None:
        out.append("".join(code))
    return "".join(out)


def _closes(marker: str, fence: str) -> bool:
    """A fence closes with the same character, at least as many times (CommonMark)."""
    return marker[0] == fence[0] and len(marker) >= len(fence)


def _paraphrase_line(line: str, plan: RenamePlan, protected: re.Pattern[str]) -> str:
    """One line of prose: reworded between the protected spans; inline code (between its backticks) renamed."""
    pieces: list[str] = []
    position = 0
    for match in protected.finditer(line):
        pieces.append(_reword(line[position : match.start()], plan))
        span, ticks = match.group(), len(match.group(1) or "")
        code = rename_fragment(span[ticks:-ticks], plan.samples) if ticks else ""
        pieces.append(span[:ticks] + code + span[-ticks:] if ticks else span)
        position = match.end()
    pieces.append(_reword(line[position:], plan))
    return "".join(pieces)


def _reword(prose: str, plan: RenamePlan) -> str:
    return _PHRASE.sub(lambda match: PHRASES[match.group()], rename_words(prose, plan.prose))


# --- writing a variant ---------------------------------------------------------------------------------------


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))


def renamed_file(path: str, modules: Mapping[str, str], test: bool) -> str:
    """``grains.py`` -> ``grains_kit.py``; a test file follows its module (``grains_kit_test.py``)."""
    folder, _, name = path.rpartition("/")
    stem = name.removesuffix(".py")
    base = stem.removesuffix("_test") if test else stem
    if base in modules:
        stem = modules[base] + ("_test" if test and stem.endswith("_test") else "")
    elif test:
        stem = next(iter(modules.values())) + "_test"
    return f"{folder}/{stem}.py" if folder else f"{stem}.py"


def write_variant(exercise: Exercise, destination: Path) -> Written:
    """Copy the exercise to DEST/<name>-variant and rewrite its code, its file names, its config and its docs."""
    stems = [Path(name).stem for name in exercise.solution if name.endswith(".py")]
    texts = {
        name: _read(exercise.directory / name) for name in [*exercise.solution, *exercise.tests, *exercise.examples]
    }
    plan = plan_renames(
        [texts[name] for name in exercise.solution],
        [texts[name] for name in exercise.tests],
        [texts[name] for name in exercise.examples],
        stems,
    )
    target = destination / f"{exercise.name}{VARIANT_SUFFIX}"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(exercise.directory, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache"))
    moved: dict[str, str] = {}
    for group, test in ((exercise.solution, False), (exercise.tests, True), (exercise.examples, False)):
        for name in group:
            new_name = name if name in exercise.examples else renamed_file(name, plan.modules, test)
            (target / name).unlink()
            _write(target / new_name, rename_code(texts[name], plan.names, plan.prose, stems))
            moved[name] = new_name
    for doc in sorted((target / ".docs").glob("*.md")):
        _write(doc, paraphrase(_read(doc), plan))
    _rewrite_config(target / ".meta" / "config.json", moved)
    return Written(name=exercise.name, directory=target, plan=plan)


def _rewrite_config(path: Path, moved: Mapping[str, str]) -> None:
    """Only the ``files`` lists change; the rest of the config is kept (key order, non-ASCII text)."""
    original = _read(path)
    config = json.loads(original)
    for key, names in config["files"].items():
        config["files"][key] = [moved.get(name, name) for name in names]
    _write(path, json.dumps(config, indent=2, ensure_ascii=False) + ("\n" if original.endswith("\n") else ""))


def describe(written: Written) -> str:
    """The line printed for one variant: the module rename and how many names changed."""
    modules = ", ".join(f"{old} -> {new}" for old, new in written.plan.modules.items())
    api, tests = len(written.plan.api), len(written.plan.tests)
    return f"{written.name} -> {written.directory.name}: module {modules}; {api} API names, {tests} test names"


def generate(source: Path, destination: Path, only: set[str] | None = None) -> tuple[list[Written], list[str]]:
    """Write a variant of each Python exercise under ``source``; the reasons the others were left out."""
    exercises, unusable = find_exercises(source, only)
    skipped = [f"{name}: {reason}" for name, reason in unusable]
    destination.mkdir(parents=True, exist_ok=True)
    if (source / "LICENSE").is_file():
        shutil.copyfile(source / "LICENSE", destination / "LICENSE")  # the variants derive from the set's exercises
    written: list[Written] = []
    for exercise in exercises:
        if exercise.track != "python":
            skipped.append(f"{exercise.name}: a {exercise.track} exercise (only Python ones get variants)")
            continue
        try:
            written.append(write_variant(exercise, destination))
        except (SyntaxError, ValueError, tokenize.TokenError) as error:
            skipped.append(f"{exercise.name}: {error}")
    return written, skipped


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: 0 when the variants are written (exercises left out are listed, not fatal), 2 when
    SRC_DIR is not a directory of exercises, since then there is nothing to measure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("source", type=Path, metavar="SRC_DIR", help="a directory of exercises (exercism layout)")
    parser.add_argument("destination", type=Path, metavar="DEST_DIR", help="where the <name>-variant copies go")
    parser.add_argument("--only", default="", help="comma-separated exercise names (default: all)")
    args = parser.parse_args(argv)
    if not args.source.is_dir():
        print(f"variants: {args.source} does not exist or is not a directory of exercises", file=sys.stderr)
        return 2
    only = {name.strip() for name in args.only.split(",") if name.strip()} or None
    try:
        written, skipped = generate(args.source, args.destination, only)
    except ExerciseError as error:
        print(f"variants: {error}", file=sys.stderr)
        return 2
    for item in written:
        print(describe(item))
    for reason in skipped:
        print(f"skipped {reason}")
    print(f"{len(written)} variant(s) written to {args.destination}, {len(skipped)} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
