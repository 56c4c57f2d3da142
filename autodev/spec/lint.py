"""`autodev spec check`: what is wrong with a spec set (the order of work is :mod:`autodev.spec.order`).

It looks only at the parsed SpecSet, so it is cheap enough to run on every save and gives the same answer for the
same spec.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from autodev.spec.model import Requirement, SpecDiagnostic, SpecSet
from autodev.spec.order import dependency_cycles
from autodev.spec.parser import duplicate_diagnostics


def check_specs(specs: SpecSet, linked_tests: Mapping[str, Sequence[str]] | None = None) -> list[SpecDiagnostic]:
    """The parser's findings plus duplicate IDs, unknown or cyclic ``Depends:``, and requirements nothing checks.

    Without ``linked_tests`` (test links not collected yet) a requirement with neither criteria nor examples is only
    a note; with them, one that no test is linked to either is an error: nothing could tell when it is done. A
    requirement whose sub-requirements are checked counts as checked.
    """
    requirements = specs.requirements
    found = list(specs.diagnostics)
    found.extend(duplicate_diagnostics(requirements))
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
            found.append(_diagnostic(requirement, "note", f"{requirement.id} has no acceptance criteria or examples"))
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


def _error(requirement: Requirement, message: str) -> SpecDiagnostic:
    return _diagnostic(requirement, "error", message)


def _diagnostic(requirement: Requirement, level: str, message: str) -> SpecDiagnostic:
    return SpecDiagnostic(file=requirement.source, line=requirement.line, level=level, message=message)
