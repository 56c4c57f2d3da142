"""`autodev spec check`: what is wrong with a spec set (the order of work is :mod:`autodev.spec.order`).

It looks at the parsed SpecSet and, when the tests were collected, at what pytest found: the same answer for the
same spec and tests, every finding at once (one error never hides the next).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from autodev.spec.collect import Collected
from autodev.spec.model import Requirement, SpecDiagnostic, SpecSet, TestItem
from autodev.spec.order import dependency_cycles
from autodev.spec.parser import duplicate_diagnostics
from autodev.spec.reader import files_line, leaves_project, outside_message
from autodev.verify.collection import CollectionProblem


def check_specs(
    specs: SpecSet,
    linked_tests: Mapping[str, Sequence[str]] | None = None,
    *,
    collected: Collected | None = None,
    root: Path | None = None,
) -> list[SpecDiagnostic]:
    """The parser's findings plus duplicate IDs, unknown or cyclic ``Depends:``, ``Files:`` outside the project,
    requirements nothing checks and, given what pytest ``collected``, markers naming no requirement, a ``req``
    marker the project's pytest configuration does not register, and what keeps pytest from collecting the tests.

    Without ``linked_tests`` (test links not collected yet) a requirement with neither criteria nor examples is only
    a warning; with them, one that no test is linked to either is an error: nothing could tell when it is done. A
    requirement whose sub-requirements are checked counts as checked. ``root`` lets a ``Files:`` entry that leaves
    the project through a symlink be seen too.
    """
    requirements = specs.requirements
    found = list(specs.diagnostics)
    found.extend(duplicate_diagnostics(requirements))
    found.extend(_outside_files(requirements, root))
    if collected is not None:
        found.extend(_unknown_markers(requirements, collected.tests))
        found.extend(_unregistered_marker(collected))
        found.extend(_collection(collected.problems))
    known = {requirement.id for requirement in requirements}
    for requirement in requirements:
        for dependency in requirement.depends:
            if dependency not in known:
                found.append(_error(requirement, f"{requirement.id} depends on unknown requirement {dependency}"))
    for cycle in dependency_cycles(requirements):
        first = next(requirement for requirement in requirements if requirement.id == cycle[0])
        found.append(_error(first, f"dependency cycle: {' -> '.join(cycle)}"))
    checked = _checked(requirements, linked_tests or {})
    for requirement in requirements:
        if requirement.id in checked:
            continue
        if linked_tests is None:
            message = f"{requirement.id} has no acceptance criteria or examples"
            found.append(_diagnostic(requirement, "warning", message))
        else:
            message = f"{requirement.id} has no acceptance criteria, examples or linked tests: nothing can check it"
            found.append(_error(requirement, message))
    return sorted(found, key=lambda diagnostic: (diagnostic.file, diagnostic.line))


def _checked(requirements: Sequence[Requirement], linked_tests: Mapping[str, Sequence[str]]) -> set[str]:
    """IDs with criteria, examples or linked tests, and (transitively) the parents of such sub-requirements."""
    checked = {r.id for r in requirements if r.criteria or r.examples or linked_tests.get(r.id)}
    parents = {r.id: r.parent for r in requirements}
    for requirement_id in list(checked):
        parent = parents.get(requirement_id)
        while parent is not None and parent not in checked:
            checked.add(parent)
            parent = parents.get(parent)
    return checked


def _outside_files(requirements: Sequence[Requirement], root: Path | None) -> Iterable[SpecDiagnostic]:
    for requirement in requirements:
        for entry in requirement.files:
            if leaves_project(entry, root):
                line = requirement.line + files_line(requirement.text, entry)
                yield SpecDiagnostic(file=requirement.source, line=line, level="error", message=outside_message(entry))


def _unknown_markers(requirements: Sequence[Requirement], tests: Sequence[TestItem]) -> Iterable[SpecDiagnostic]:
    """One error per test function and unknown ID (a parametrized test is one function), with a close match."""
    known = sorted({requirement.id for requirement in requirements})
    seen: set[tuple[str, str, str]] = set()
    for test in tests:
        name = test.nodeid.split("::", 1)[-1].split("[", 1)[0]
        for requirement_id in test.marked:
            if requirement_id in known or (test.file, name, requirement_id) in seen:
                continue
            seen.add((test.file, name, requirement_id))
            close = difflib.get_close_matches(requirement_id, known, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            message = f"test {name} names requirement {requirement_id}, which no spec defines{hint}"
            yield SpecDiagnostic(file=test.file, line=max(test.line, 1), level="error", message=message)


def _unregistered_marker(collected: Collected) -> Iterable[SpecDiagnostic]:
    """autodev's runs register ``req``; the user's own ``pytest`` does not unless the configuration says so."""
    if collected.req_registered or not any(test.marked for test in collected.tests):
        return
    where = collected.config_file or "pytest.ini"
    message = (
        "the tests use @pytest.mark.req, but the pytest configuration does not register it: autodev's runs do, a "
        "plain `pytest` warns (and fails under --strict-markers); add `req: the requirement a test proves` to its "
        "`markers`"
    )
    yield SpecDiagnostic(file=where, line=1, level="warning", message=message)


def _collection(problems: Sequence[CollectionProblem]) -> Iterable[SpecDiagnostic]:
    for problem in problems:
        message = f"pytest cannot collect the tests: {problem.summary}"
        yield SpecDiagnostic(file=problem.file, line=max(problem.line, 1), level="error", message=message)


def _error(requirement: Requirement, message: str) -> SpecDiagnostic:
    return _diagnostic(requirement, "error", message)


def _diagnostic(requirement: Requirement, level: Literal["error", "warning"], message: str) -> SpecDiagnostic:
    return SpecDiagnostic(file=requirement.source, line=requirement.line, level=level, message=message)
