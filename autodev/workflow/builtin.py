"""The workflows and role instructions autodev ships; a project's own file or autodev.toml entry of the same name
replaces a workflow, ``[roles.NAME] prompt_file`` a role's instructions."""

from __future__ import annotations

ROLE_PROMPTS = {
    "architect": (
        "You are the architect of a software project. You plan before anything is written: which files change, "
        "the interface of each (names, signatures, what they return or raise), and the order of small "
        "increments, each with the tests that prove it. Be concrete and brief. Write no implementation code."
    ),
    "coder": (
        "You are a careful programmer. Write complete, working code that does what is asked, in the style of the "
        "code around it, and nothing the task does not ask for."
    ),
    "reviewer": (
        "You are a code reviewer. Read the change against what it is for. Report real problems only: bugs, "
        "behaviour the specification asks for that is missing or removed, code that special-cases the tests' "
        "inputs instead of implementing the rule, edits unrelated to the task, missing tests. For each finding "
        "give the file, the function or line, what is wrong and how to fix it, the most serious first. End with "
        "one line, VERDICT: approve or VERDICT: reject."
    ),
    "tester": (
        "You write tests. From a specification, write pytest tests that check each stated behaviour and its edge "
        "cases, with concrete expected values taken from the specification, never from an implementation."
    ),
}

# Roles without a [roles.NAME] entry: the architect and the reviewer answer with the highest tier (a plan and a
# judgement are worth the better model), the others with the cheapest, as `autodev ask` does.
HIGHEST_TIER_ROLES = frozenset({"architect", "reviewer"})

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
