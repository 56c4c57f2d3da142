"""The order of work: dependencies first, then priority, then file order; and the cycles that prevent one.

It looks only at the parsed requirements, so it gives the same answer for the same spec (every tie is broken by
file order); `autodev spec check` reports the cycles it finds.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence

from autodev.errors import SpecError
from autodev.spec.model import Requirement


def order_requirements(requirements: Sequence[Requirement]) -> list[Requirement]:
    """Dependencies first, then priority, then file order (source path, then line).

    A requirement inherits the most urgent priority of everything that depends on it, so the dependencies of a
    critical requirement are not left behind every medium one. Unknown ``Depends:`` IDs are ignored here (check
    reports them); a cycle raises SpecError naming it.
    """
    cycles = dependency_cycles(requirements)
    if cycles:
        raise SpecError(f"dependency cycle: {' -> '.join(cycles[0])}; remove one of these Depends: lines")
    by_id: dict[str, list[int]] = {}
    for index, requirement in enumerate(requirements):
        by_id.setdefault(requirement.id, []).append(index)
    needs = [sorted({d for dep in r.depends for d in by_id.get(dep, []) if d != i}) for i, r in enumerate(requirements)]
    dependents: list[list[int]] = [[] for _ in requirements]
    for index, dependencies in enumerate(needs):
        for dependency in dependencies:
            dependents[dependency].append(index)
    urgency = _inherited_priority(requirements, dependents)
    waiting = [len(dependencies) for dependencies in needs]
    ready = [_key(requirements, urgency, index) for index, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    ordered: list[Requirement] = []
    while ready:
        index = heapq.heappop(ready)[-1]
        ordered.append(requirements[index])
        for dependent in dependents[index]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                heapq.heappush(ready, _key(requirements, urgency, dependent))
    return ordered


def dependency_cycles(requirements: Sequence[Requirement]) -> list[list[str]]:
    """Each dependency cycle once, as IDs from its first requirement in file order back to it ("A -> B -> A").

    Strongly connected components (Tarjan, iterative: a long chain must not hit the recursion limit) find every
    cycle group; a path around each is then walked from its earliest member, following Depends in written order.
    """
    graph: dict[str, list[str]] = {}
    for requirement in requirements:
        edges = graph.setdefault(requirement.id, [])
        edges.extend(dep for dep in requirement.depends if dep not in edges)
    known = set(graph)
    for node, edges in graph.items():
        graph[node] = [edge for edge in edges if edge in known]
    file_order = {requirement.id: position for position, requirement in reversed(list(enumerate(requirements)))}
    cycles = []
    for component in _components(graph):
        members = set(component)
        if len(component) == 1 and component[0] not in graph[component[0]]:
            continue
        start = min(component, key=file_order.__getitem__)
        cycles.append(_cycle_through(start, graph, members))
    return sorted(cycles, key=lambda cycle: file_order[cycle[0]])


def _components(graph: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components without recursion."""
    index_of: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index_of:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, edge = work.pop()
            if edge == 0:
                index_of[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            edges = graph[node]
            if edge < len(edges):
                work.append((node, edge + 1))
                target = edges[edge]
                if target not in index_of:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index_of[target])
                continue
            if low[node] == index_of[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return components


def _cycle_through(start: str, graph: Mapping[str, Sequence[str]], members: set[str]) -> list[str]:
    """The first path (Depends in written order, depth first) from ``start`` back to itself inside its component."""
    path = [start]
    seen = {start}
    edges_left = [iter([edge for edge in graph[start] if edge in members])]
    while edges_left:
        for target in edges_left[-1]:
            if target == start:
                return [*path, start]
            if target not in seen:
                seen.add(target)
                path.append(target)
                edges_left.append(iter([edge for edge in graph[target] if edge in members]))
                break
        else:
            edges_left.pop()
            path.pop()
    return [start, start]  # unreachable for a real component: every member lies on a cycle through start


def _inherited_priority(requirements: Sequence[Requirement], dependents: Sequence[Sequence[int]]) -> list[int]:
    """Each requirement's priority, or the most urgent one of anything depending on it, directly or not.

    Dependents are settled before what they depend on (a reverse topological order), so this is linear.
    """
    waiting = [len(edges) for edges in dependents]
    needs: list[list[int]] = [[] for _ in requirements]
    for index, edges in enumerate(dependents):
        for dependent in edges:
            needs[dependent].append(index)
    urgency = [requirement.priority for requirement in requirements]
    settled = [index for index, count in enumerate(waiting) if count == 0]
    while settled:
        index = settled.pop()
        for dependency in needs[index]:
            urgency[dependency] = min(urgency[dependency], urgency[index])
            waiting[dependency] -= 1
            if waiting[dependency] == 0:
                settled.append(dependency)
    return urgency


def _key(requirements: Sequence[Requirement], urgency: Sequence[int], index: int) -> tuple[int, str, int, int]:
    requirement = requirements[index]
    return (urgency[index], requirement.source, requirement.line, index)
