"""Which tests prove which requirement: the user's explicit word first, then what the tests touch.

A test is linked by its ``@pytest.mark.req`` marker; without one, by the requirement IDs its docstring or
comments mention; without those, by the files it exercises (it imports a module a requirement names under
``Files:``). The most explicit evidence wins alone, so a test marked for REQ-2 that also imports REQ-1's module
proves REQ-2 only. A plain SPEC.md without IDs is one whole-file requirement, and it owns every test nothing
else claims, so a project with no IDs at all works as it always did. Tests linked to nothing are ``unlinked``:
the engine treats them as work of their own. Unknown IDs are not errors here; ``spec check`` reports them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path, PurePosixPath

from autodev.spec.collect import Collected, collect, collect_argv
from autodev.spec.model import Requirement, TestItem, TestLinks
from autodev.verify.confine import UNCONFINED, Confinement

_PYTHON_SUFFIXES = frozenset({".py", ".pyi"})
_GLOB_CHARACTERS = frozenset("*?[")


def module_for_file(path: str) -> str:
    """The module a ``Files:`` entry provides: ``temps.py`` -> ``temps``, ``src/pkg/mod.py`` -> ``pkg.mod``.

    ``pkg/__init__.py`` and a directory (``src/pkg/``) give the package, ``pkg``. Anything that is not Python
    (``README.md``, a glob, a name that cannot be imported) gives ``""``, which links nothing.
    """
    text = path.strip().replace("\\", "/")
    if not text or _GLOB_CHARACTERS & set(text):
        return ""
    pure = PurePosixPath(text)
    if pure.suffix in _PYTHON_SUFFIXES:
        parts = [*pure.parts[:-1], pure.stem]
    elif pure.suffix == "" or text.endswith("/"):
        parts = list(pure.parts)
    else:
        return ""
    parts = [part for part in parts if part not in ("", ".", "/")]
    if parts and parts[-1] == "__init__":
        parts.pop()
    if parts and parts[0] == "src":
        parts.pop(0)
    if not parts or not all(part.isidentifier() for part in parts):
        return ""
    return ".".join(parts)


def link_tests(
    requirements: Sequence[Requirement],
    tests: Sequence[TestItem],
    module_of: Callable[[str], str] | None = None,
) -> TestLinks:
    """Link every test to the requirements it proves; ``by_requirement`` has every requirement, in spec order.

    ``module_of`` maps a ``Files:`` entry to its module name (default :func:`module_for_file`), for projects
    whose layout the default does not know.
    """
    to_module = module_of or module_for_file
    known = {requirement.id for requirement in requirements}
    by_requirement: dict[str, list[str]] = {requirement.id: [] for requirement in requirements}
    explicit: set[str] = set()  # requirements linked through a marker or a mention
    leftover: list[str] = []
    for test in tests:
        marked = _known(test.marked, known)
        mentioned = _known(test.mentioned, known)
        linked = marked or mentioned or _by_target(requirements, test.imports, to_module)
        if marked or mentioned:
            explicit.update(linked)
        for requirement_id in linked:
            by_requirement[requirement_id].append(test.nodeid)
        if not linked:
            leftover.append(test.nodeid)
    whole_file = [requirement for requirement in requirements if requirement.whole_file]
    if len(whole_file) == 1 and whole_file[0].id not in explicit:
        by_requirement[whole_file[0].id].extend(leftover)
        leftover = []
    return TestLinks(
        by_requirement={requirement_id: list(dict.fromkeys(ids)) for requirement_id, ids in by_requirement.items()},
        unlinked=list(dict.fromkeys(leftover)),
    )


def _known(ids: Iterable[str], known: set[str]) -> list[str]:
    return [requirement_id for requirement_id in dict.fromkeys(ids) if requirement_id in known]


def _by_target(
    requirements: Sequence[Requirement], imports: Sequence[str], module_of: Callable[[str], str]
) -> list[str]:
    """Requirements naming a file whose module the test imports; a directory covers the modules inside it."""
    imported = set(imports)
    linked: list[str] = []
    for requirement in requirements:
        for entry in requirement.files:
            module = module_of(entry)
            if not module:
                continue
            is_directory = entry.rstrip().endswith(("/", "\\")) or PurePosixPath(entry.strip()).suffix == ""
            if module in imported or (is_directory and any(name.startswith(module + ".") for name in imported)):
                linked.append(requirement.id)
                break
    return linked


def project_links(
    root: Path,
    requirements: Sequence[Requirement],
    test_command: str,
    *,
    scratch_dir: Path,
    timeout_s: float,
    pass_env: Sequence[str] = (),
    confine: Confinement = UNCONFINED,
) -> TestLinks:
    """Collect the project's tests the way its test command runs them, and link them to ``requirements``."""
    collected = project_collection(root, test_command, scratch_dir=scratch_dir, timeout_s=timeout_s,
                                   pass_env=pass_env, confine=confine)  # fmt: skip
    return link_tests(requirements, collected.tests)


def project_collection(
    root: Path,
    test_command: str,
    *,
    scratch_dir: Path,
    timeout_s: float,
    pass_env: Sequence[str] = (),
    confine: Confinement = UNCONFINED,
) -> Collected:
    """The project's tests as its test command's pytest collects them, with what keeps it from collecting."""
    argv = collect_argv(test_command, root=root)
    return collect(root, argv, scratch_dir=scratch_dir, timeout_s=timeout_s, pass_env=pass_env, confine=confine)
