"""The prompt for one attempt.

On a CPU most of an attempt is the model reading its prompt, and llama.cpp reuses the longest prefix it saw last
time. So what stays the same across attempts comes first (instructions, spec, tests, files), the failure of the
previous attempt comes last, and nothing is sent that the model does not need.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from autodev.spec.model import Requirement
from autodev.synth.js_exports import export_hint

Message = dict[str, str]

# Above this many lines a whole-file answer is long for a small model; offer SEARCH/REPLACE then.
LONG_FILE_LINES = 150

SYSTEM_PROMPT = """\
You are an expert programmer. Write the code that makes the project's tests pass.
The tests are the specification and cannot be changed: change only the code.
Send each file you write in full: its path alone on a line, then a fenced code block with the complete \
content of the file."""

# Measured on the development set (benchmarks/results/solve-rate/): a format-only instruction ("... and nothing
# else") takes away the little reasoning a small model does, so the model is asked to explain first.
EXPLAIN_FIRST = "First explain in a few sentences how the code must work."
EXPLAIN_FAILURE = "First explain in a few sentences why the tests fail."

SEARCH_REPLACE_HELP = """
For a long existing file you may instead send SEARCH/REPLACE blocks after its path line:
<<<<<<< SEARCH
(lines copied exactly from the file)
=======
(the new lines)
>>>>>>> REPLACE"""


class SourceFile(BaseModel):
    """A file shown to the model; ``content`` is None when the file does not exist yet."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    content: str | None


class Feedback(BaseModel):
    """What the previous attempt said and why it failed, for the next one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reply: str
    failure: str
    model: str = ""
    files: dict[str, str] = {}  # what the attempt wrote, path -> content: a draft to fix (:func:`build_messages`)


def fence(content: str, language: str = "") -> str:
    """A fenced block whose fence is longer than any backtick run inside the content."""
    longest = max((len(run) for run in _backtick_runs(content)), default=0)
    ticks = "`" * max(3, longest + 1)
    body = content if content.endswith("\n") else content + "\n"
    return f"{ticks}{language}\n{body}{ticks}"


def _backtick_runs(text: str) -> list[str]:
    runs: list[str] = []
    current = ""
    for char in text:
        if char == "`":
            current += char
            continue
        if current:
            runs.append(current)
        current = ""
    if current:
        runs.append(current)
    return runs


FENCE_LANGUAGES: dict[str, str] = {
    ".py": "python",
    ".md": "markdown",
    ".toml": "toml",
    ".json": "json",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "jsx",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".rs": "rust",
}
"""A fence's info string by the file's extension."""


def language_of(path: str) -> str:
    return FENCE_LANGUAGES.get(path[path.rfind(".") :] if "." in path else "", "")


def system_prompt(targets: Sequence[SourceFile]) -> str:
    return SYSTEM_PROMPT + (SEARCH_REPLACE_HELP if offers_search_replace(targets) else "")


def offers_search_replace(targets: Sequence[SourceFile]) -> bool:
    """Whether the prompt offers SEARCH/REPLACE blocks: a target is long for a whole-file answer."""
    return any(t.content is not None and t.content.count("\n") > LONG_FILE_LINES for t in targets)


def task_prompt(
    requirement: Requirement,
    tests: Sequence[SourceFile],
    targets: Sequence[SourceFile],
    earlier_failure: str | None = None,
    *,
    explain: bool = True,
    fixing: bool = False,
) -> str:
    """The first user message: tests, spec, current files, and last the one thing to do.

    Small models copy the structure of what they read, so the prompt has no headings they could echo back as
    part of a file, and it ends with the instruction (what comes last is what they follow). The tests come first:
    the block a small model most likely copies is the last one before the instruction, and that should be the
    file it is to write, not the tests (measured: the 0.5B model answered with the test file on most exercises).
    With ``fixing`` the targets hold a nearly right draft and ``earlier_failure`` is what its tests said.
    """
    parts = [_describe_test(test) for test in tests]
    parts.append(f"{requirement.source}:\n{requirement.text}")
    parts.extend(_describe_target(target) for target in targets)
    if earlier_failure and fixing:
        parts.append(f"With this {_names(targets)} the tests fail:\n{earlier_failure}")
    elif earlier_failure:
        parts.append(f"An earlier attempt failed:\n{earlier_failure}")
    parts.append(_instruction(targets, tests, explain=explain, fixing=fixing))
    return "\n\n".join(parts)


def _describe_test(test: SourceFile) -> str:
    return f"The tests in {test.path}, already written:\n{fence(test.content or '', language_of(test.path))}"


def _describe_target(target: SourceFile) -> str:
    if target.content is None:
        return f"{target.path} does not exist yet."
    if not target.content.strip():
        return f"{target.path} is empty."
    return f"The current {target.path}:\n{fence(target.content, language_of(target.path))}"


def _instruction(
    targets: Sequence[SourceFile], tests: Sequence[SourceFile] = (), *, explain: bool = True, fixing: bool = False
) -> str:
    first = f" {EXPLAIN_FAILURE if fixing else EXPLAIN_FIRST}" if explain else ""
    if not targets:
        return (
            "For each file, send its path on one line, then its complete content in one fenced code block."
            f"{first} Write the code the tests import: choose the file paths from the tests' imports."
        )
    names = _names(targets)
    hints = [export_hint(target.path, [(test.path, test.content or "") for test in tests]) for target in targets]
    exports = "".join(f" {hint}" for hint in hints if hint)  # JavaScript targets only: Python's text is unchanged
    task = f"Correct {names} so that all the tests pass." if fixing else f"Write {names} so that all the tests pass."
    return f"Send {_whole_files(targets)}.{exports}{first} {task}"


def _names(targets: Sequence[SourceFile]) -> str:
    return " and ".join(target.path for target in targets)


def _whole_files(targets: Sequence[SourceFile]) -> str:
    """What to send for ``targets`` (at least one), in the words every instruction uses."""
    block = "one fenced code block" if len(targets) == 1 else "a fenced code block for each file"
    return f"the whole {_names(targets)}: the path on one line, then the complete file in {block}"


def file_request(targets: Sequence[SourceFile]) -> str:
    """The next message to a model that explained and stopped: what to send, and nothing else to do.

    Measured (benchmarks/results/solve-rate/): asked to explain first, the 1.5B model sometimes took the
    explanation for the whole answer; its reasoning is worth keeping, so the conversation goes on from it.
    """
    if not targets:
        return "Now send each file: its path on one line, then its complete content in one fenced code block."
    return f"Now send {_whole_files(targets)}."


def retry_prompt(failure: str) -> str:
    return (
        f"That did not work:\n{failure}\n\n"
        "The files are back as they were before your answer. Send the corrected files in full."
    )


def build_messages(
    requirement: Requirement,
    tests: Sequence[SourceFile],
    targets: Sequence[SourceFile],
    feedback: Feedback | None = None,
    *,
    show_reply: bool = True,
    show_draft: bool = False,
    memory: str = "",
    explain: bool = True,
) -> list[Message]:
    """The chat for one attempt; a retry appends only the last reply and its failure, never the whole history.

    With ``show_reply`` false (a different model takes over) the failed reply is left out: shown as the new
    model's own words, small models tend to repeat it. The failure is then part of the first message. With
    ``show_draft`` the files the failed attempt wrote (``feedback.files``) stand in the prompt as the current
    targets, to be corrected: a file to fix, not the model's own turn to continue. The project's ``memory``
    (synth/memory_prompt.py) follows the instructions in the system message, so the prefix every attempt shares
    stays the same.
    """
    system = system_prompt(targets) + (f"\n\n{memory}" if memory else "")
    if feedback is not None and show_draft and feedback.files:
        drafts = [SourceFile(path=t.path, content=feedback.files.get(t.path, t.content)) for t in targets]
        task = task_prompt(requirement, tests, drafts, feedback.failure, explain=explain, fixing=True)
        return [{"role": "system", "content": system}, {"role": "user", "content": task}]
    if feedback is not None and not show_reply:
        return [
            {"role": "system", "content": system},
            {"role": "user", "content": task_prompt(requirement, tests, targets, feedback.failure, explain=explain)},
        ]
    messages: list[Message] = [
        {"role": "system", "content": system},
        {"role": "user", "content": task_prompt(requirement, tests, targets, explain=explain)},
    ]
    if feedback is not None:
        messages.append({"role": "assistant", "content": feedback.reply})
        messages.append({"role": "user", "content": retry_prompt(feedback.failure)})
    return messages
