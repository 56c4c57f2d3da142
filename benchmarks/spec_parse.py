"""Parse time of a ~1 MB spec (target: under 1 s), so that re-reading the spec on every save stays cheap.

The generated spec has shared context, then many requirements, each with a description, Files/Depends/Priority
lines, an acceptance list, EARS and Given/When/Then lines, a doctest, an Examples table and a sub-requirement:
every construct the parser recognises, in realistic proportions.

    .venv/bin/python benchmarks/spec_parse.py [--kb 1024] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from autodev.spec.parser import parse_spec_text

TARGET_S = 1.0


def requirement(number: int) -> str:
    """One requirement of about 1.2 KB with a sub-requirement, depending on the previous one."""
    depends = f"Depends: REQ-{number - 1}\n" if number > 1 else ""
    rows = "".join(f"| `{number}{row}` | `{number * row}` |\n" for row in range(4))
    return (
        f"## REQ-{number}: Convert record {number}\n\n"
        f"Records of kind {number} arrive as text and must become typed values; the converter keeps the\n"
        "original order and reports the first bad field with its position.\n\n"
        f"Files: convert/kind_{number}.py\n{depends}Priority: {('high', 'medium', 'low')[number % 3]}\n\n"
        "Acceptance criteria:\n"
        f"- parses a well-formed record of kind {number}\n"
        "- rejects a record with a missing field, naming the field\n"
        "- keeps the input order\n\n"
        f"WHEN a record of kind {number} is empty THE SYSTEM SHALL raise ValueError\n\n"
        "Given a record with an extra field\nWhen it is converted\nThen the extra field is ignored\n\n"
        f"```python\n>>> convert_{number}('a,b')\n('a', 'b')\n```\n\n"
        f"### Examples\n\n| input | expected |\n|---|---|\n{rows}\n"
        f"### REQ-{number}.1: Edge cases of kind {number}\n\n"
        f"- `convert_{number}('')` -> `ValueError`\n"
        f"- `convert_{number}(' a ')` -> `('a',)`\n\n"
    )


def generate(size: int) -> str:
    """A spec of at least ``size`` characters: a title, shared context, then requirements."""
    parts = ["# Record converters\n\nShared context: every converter lives under `convert/`.\n\n"]
    total = len(parts[0])
    number = 0
    while total < size:
        number += 1
        parts.append(requirement(number))
        total += len(parts[-1])
    return "".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=int, default=1024, help="spec size in KiB (default 1024)")
    parser.add_argument("--repeat", type=int, default=5, help="parses to time (default 5)")
    args = parser.parse_args()
    text = generate(args.kb * 1024)
    timings = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        requirements, _diagnostics = parse_spec_text(text, "SPEC.md")
        timings.append(time.perf_counter() - start)
    best, median = min(timings), statistics.median(timings)
    criteria = sum(len(r.criteria) for r in requirements)
    examples = sum(len(r.examples) for r in requirements)
    print(f"spec: {len(text) / 1e6:.2f} MB, {text.count(chr(10))} lines")
    print(f"parsed: {len(requirements)} requirements, {criteria} criteria, {examples} examples")
    print(f"parse time: best {best:.3f} s, median {median:.3f} s over {args.repeat} runs (target < {TARGET_S:.1f} s)")
    return 0 if median < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
