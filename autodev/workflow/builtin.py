"""The workflows autodev ships; a project's own file or autodev.toml entry of the same name replaces one."""

from __future__ import annotations

BUILTIN_WORKFLOWS = {
    "review": '''
description = "Review the working tree's changes (git diff HEAD, new files too); --input says what they are for"

[[steps]]
name = "review"
role = "reviewer"
prompt = """The change to review, as a diff of the working tree against the last commit:

{diff}

What the change is for (may be empty): {input}

Review the change. List your findings, the most serious first, then end with the verdict line."""
''',
    "spec-from-code": '''
description = "Write a SPEC.md section (requirement IDs, acceptance criteria) for an existing module: --input PATH"

[[steps]]
name = "spec"
role = "architect"
prompt = """{file:{input}}

Write a section of SPEC.md that specifies what this module does, in this format:

## MOD-1: Title of one behaviour

What it does (not how), in one or two sentences.

Files: {input}

Acceptance criteria:
- a concrete check, with example values taken from the code
- another check, for an edge case or an error the code raises

Use one level-2 heading with its own ID (capital letters, a dash, a number: choose a short prefix for the \
module) for each behaviour a caller relies on. Send only the Markdown section."""
''',
}
