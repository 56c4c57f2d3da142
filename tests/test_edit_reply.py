"""A model's reply becomes file edits, in the formats small models really write, or a reason it can act on."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodev.errors import EditRejectedError
from autodev.synth.edit import MAX_FILE_CHARS, FileEdit
from autodev.synth.reply import MAX_REPLY_CHARS, parse_reply

pytestmark = pytest.mark.req("CORE-3")

F = "```"

TEMPS = """\
def celsius_to_fahrenheit(celsius):
    return celsius * 9 / 5 + 32


def fahrenheit_to_celsius(fahrenheit):
    return (fahrenheit - 32) * 5 / 9
"""


BIG_CONTENT = "x = 1\n" * (MAX_FILE_CHARS // 6 + 1)


def whole(path: str, content: str = TEMPS) -> FileEdit:
    return FileEdit(path=path, kind="whole", content=content)


def replace(path: str, search: str, new: str) -> FileEdit:
    return FileEdit(path=path, kind="replace", search=search, replace=new)


# ---------------------------------------------------------------------------------------------------- replies

QWEN_UNLABELLED = f"""\
Here's the implementation of the temperature conversion functions:

{F}python
{TEMPS}{F}

This code defines two functions that convert between Celsius and Fahrenheit."""

QWEN_USAGE_AFTER = f"""\
Here is the code:

{F}python
{TEMPS}{F}

You can run the tests with:

{F}bash
$ pytest test_temps.py
{F}

Example usage:

{F}python
print(celsius_to_fahrenheit(100))  # 212.0
{F}
"""

USAGE_FIRST = f"""\
Let me first show how it will be used:

{F}python
from temps import celsius_to_fahrenheit
print(celsius_to_fahrenheit(0))
{F}

And here is the final module:

{F}
{TEMPS}{F}
"""

DRAFT_THEN_FINAL = f"""\
A first attempt:

{F}python
def celsius_to_fahrenheit(celsius):
    return celsius * 2 + 30


def fahrenheit_to_celsius(fahrenheit):
    return (fahrenheit - 30) / 2
{F}

Wait, that is only an approximation. The exact version:

{F}python
{TEMPS}{F}
"""

FULL_THEN_SNIPPET = f"""\
{F}python
{TEMPS}{F}

The key part is this function:

{F}python
def celsius_to_fahrenheit(celsius):
    return celsius * 9 / 5 + 32
{F}
"""

CONSOLE_AND_PYCON = f"""\
`temps.py`

{F}console
$ python -c "import temps; print(temps.celsius_to_fahrenheit(0))"
32.0
{F}

{F}pycon
>>> celsius_to_fahrenheit(100)
212.0
{F}
"""

TWO_FILES_WITH_HEADINGS = f"""\
I'll split the code into two modules.

### src/convert.py

{F}python
from src.units import FACTOR


def to_f(c):
    return c * FACTOR + 32
{F}

### src/units.py

{F}python
FACTOR = 9 / 5
{F}

Both files are needed for the tests to pass."""

MENTIONED_FILES = f"""\
Here is the updated `a.py`:

{F}python
A = 1
{F}

And `b.py` now looks like this:

{F}python
B = 2
{F}
"""

AIDER_FENCED = f"""\
To fix the rounding I will change `temps.py`.

temps.py
{F}python
<<<<<<< SEARCH
def celsius_to_fahrenheit(celsius):
    return celsius * 9 / 5 + 32
=======
def celsius_to_fahrenheit(celsius):
    return round(celsius * 9 / 5 + 32, 2)
>>>>>>> REPLACE
{F}
"""

AIDER_PATH_INSIDE_FENCE = f"""\
{F}python
temps.py
<<<<<<< SEARCH
X = 1
=======
X = 2
>>>>>>> REPLACE
{F}
"""

AIDER_TWO_BLOCKS_ONE_PATH = """\
temps.py
<<<<<<< SEARCH
X = 1
=======
X = 2
>>>>>>> REPLACE

<<<<<<< SEARCH
Y = 1
=======
Y = 2
>>>>>>> REPLACE
"""

AIDER_TWO_FILES = f"""\
a.py
{F}python
<<<<<<< SEARCH
A = 1
=======
A = 2
>>>>>>> REPLACE
{F}

b.py
{F}python
<<<<<<< SEARCH
B = 1
=======
B = 2
>>>>>>> REPLACE
{F}
"""

MIXED = f"""\
First, the new helper module:

**helpers.py**
{F}python
def clamp(x):
    return max(0, x)
{F}

Then use it in `temps.py`:

temps.py
<<<<<<< SEARCH
import math
=======
import math
from helpers import clamp
>>>>>>> REPLACE
"""

LABELLED_AND_EXAMPLE = f"""\
temps.py
{F}python
{TEMPS}{F}

For example:

{F}python
def demo():
    print(celsius_to_fahrenheit(1))
{F}
"""


HELPER_LABELLED_MAIN_BARE = f"""\
I added a helper module:

**helpers.py**
{F}python
def clamp(x):
    return max(0, x)
{F}

And the main module:

{F}python
{TEMPS}{F}
"""

OTHER_LABELLED_AND_USAGE = f"""\
### converters.py
{F}python
{TEMPS}{F}

Usage:

{F}python
print(celsius_to_fahrenheit(5))
{F}
"""


class TestParseReply:
    """parse_reply(reply, targets): the edits a reply asks for, or EditRejectedError with a usable reason."""

    @pytest.mark.parametrize(
        "path_line",
        [
            "temps.py",
            "`temps.py`",
            "**temps.py**",
            "### temps.py",
            "# File: temps.py",
            "File: temps.py",
            "temps.py:",
            "### `temps.py`",
            "**File:** `temps.py`",
            "**`temps.py`**",
            "Filename: temps.py",
            "- temps.py (updated)",
            "1. **temps.py**",
            "## File `temps.py`:",
        ],
    )
    def test_reads_the_path_line_before_a_block(self, path_line: str) -> None:
        """Every path-line style small models use names the file of the block that follows it."""
        reply = f"Sure! Here is the solution.\n\n{path_line}\n{F}python\n{TEMPS}{F}\n\nHope this helps."
        assert parse_reply(reply, []) == [whole("temps.py")]

    @pytest.mark.parametrize(
        "opening",
        [
            f"{F}python temps.py",
            f"{F}temps.py",
            f'{F}python title="temps.py"',
            f"{F}py:temps.py",
            f"{F}python filename=temps.py",
            "~~~python temps.py",
        ],
    )
    def test_reads_the_path_in_the_info_string(self, opening: str) -> None:
        """A path in the fence's info string labels the block, with any fence character."""
        closing = opening[:3]
        reply = f"Here you go:\n{opening}\n{TEMPS}{closing}\n"
        assert parse_reply(reply, []) == [whole("temps.py")]

    def test_takes_src_paths_and_blank_or_prose_lines_between(self) -> None:
        """The path line may be a few lines above its block, and may name a directory."""
        reply = f"File: src/temps.py\n\nThis is the complete module:\n\n{F}python\n{TEMPS}{F}\n"
        assert parse_reply(reply, []) == [whole("src/temps.py")]

    def test_maps_a_shortened_path_onto_its_target(self) -> None:
        """A model that drops the directory still writes the target, not a new file at the top."""
        reply = f"temps.py\n{F}python\n{TEMPS}{F}\n"
        assert parse_reply(reply, ["src/temps.py"]) == [whole("src/temps.py")]

    def test_reads_a_first_line_comment_naming_a_target(self) -> None:
        """``# a.py`` as a block's first line labels it when it names a target."""
        reply = f"{F}python\n# a.py\nA = 1\n{F}\n\n{F}python\n# b.py\nB = 1\n{F}\n"
        assert parse_reply(reply, ["a.py", "b.py"]) == [
            whole("a.py", "# a.py\nA = 1\n"),
            whole("b.py", "# b.py\nB = 1\n"),
        ]

    @pytest.mark.parametrize(
        ("reply", "targets", "expected"),
        [
            (QWEN_UNLABELLED, ["temps.py"], [whole("temps.py")]),
            (QWEN_USAGE_AFTER, ["temps.py"], [whole("temps.py")]),
            (USAGE_FIRST, ["temps.py"], [whole("temps.py")]),
            (DRAFT_THEN_FINAL, ["temps.py"], [whole("temps.py")]),
            (FULL_THEN_SNIPPET, ["temps.py"], [whole("temps.py")]),
            (LABELLED_AND_EXAMPLE, ["temps.py"], [whole("temps.py")]),
            (LABELLED_AND_EXAMPLE, ["temps.py", "other.py"], [whole("temps.py")]),
            (MENTIONED_FILES, ["a.py", "b.py"], [whole("a.py", "A = 1\n"), whole("b.py", "B = 2\n")]),
            (
                TWO_FILES_WITH_HEADINGS,
                ["src/convert.py", "src/units.py"],
                [
                    whole(
                        "src/convert.py",
                        "from src.units import FACTOR\n\n\ndef to_f(c):\n    return c * FACTOR + 32\n",
                    ),
                    whole("src/units.py", "FACTOR = 9 / 5\n"),
                ],
            ),
            (TEMPS, ["temps.py"], [whole("temps.py")]),
            (
                HELPER_LABELLED_MAIN_BARE,
                ["temps.py"],
                [whole("helpers.py", "def clamp(x):\n    return max(0, x)\n"), whole("temps.py")],
            ),
            (OTHER_LABELLED_AND_USAGE, ["temps.py"], [whole("converters.py")]),
            (f"{F}python\ntemps.py\n{TEMPS}{F}\n", ["temps.py", "b.py"], [whole("temps.py")]),
            (f"/temps.py\n{F}python\n{TEMPS}{F}\n", ["temps.py"], [whole("temps.py")]),
        ],
        ids=[
            "one-unlabelled-block",
            "code-then-shell-and-usage",
            "usage-then-final",
            "draft-then-final",
            "full-then-snippet",
            "labelled-ignores-example",
            "labelled-ignores-example-two-targets",
            "blocks-named-in-prose",
            "two-files-with-headings",
            "bare-code-without-fence",
            "labelled-helper-and-bare-main-file",
            "labelled-other-file-and-bare-usage",
            "path-as-first-line-dropped",
            "leading-slash-mapped-to-target",
        ],
    )
    def test_picks_the_file_content_from_realistic_replies(
        self, reply: str, targets: list[str], expected: list[FileEdit]
    ) -> None:
        """Usage examples, shell sessions and drafts around the real file do not end up in it."""
        assert parse_reply(reply, targets) == expected

    @pytest.mark.parametrize(
        ("reply", "targets", "expected"),
        [
            (
                AIDER_FENCED,
                ["temps.py"],
                [
                    replace(
                        "temps.py",
                        "def celsius_to_fahrenheit(celsius):\n    return celsius * 9 / 5 + 32\n",
                        "def celsius_to_fahrenheit(celsius):\n    return round(celsius * 9 / 5 + 32, 2)\n",
                    )
                ],
            ),
            (AIDER_PATH_INSIDE_FENCE, [], [replace("temps.py", "X = 1\n", "X = 2\n")]),
            (
                AIDER_TWO_BLOCKS_ONE_PATH,
                [],
                [replace("temps.py", "X = 1\n", "X = 2\n"), replace("temps.py", "Y = 1\n", "Y = 2\n")],
            ),
            (
                AIDER_TWO_FILES,
                [],
                [replace("a.py", "A = 1\n", "A = 2\n"), replace("b.py", "B = 1\n", "B = 2\n")],
            ),
            (
                MIXED,
                ["temps.py", "helpers.py"],
                [
                    whole("helpers.py", "def clamp(x):\n    return max(0, x)\n"),
                    replace("temps.py", "import math\n", "import math\nfrom helpers import clamp\n"),
                ],
            ),
            (
                "<<<<< SEARCH\nold\n=====\nnew\n>>>>> REPLACE\n",
                ["temps.py"],
                [replace("temps.py", "old\n", "new\n")],
            ),
            (
                "x.py\n<<<<<<<<< SEARCH\n=========\nNEW = 1\n>>>>>>>>> REPLACE\n",
                [],
                [replace("x.py", "", "NEW = 1\n")],
            ),
            (
                f"Update temps.py like this:\n{F}\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n{F}\n",
                ["temps.py", "other.py"],
                [replace("temps.py", "a\n", "b\n")],
            ),
            (
                "a.py\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n\nNow in `b.py`:\n"
                "<<<<<<< SEARCH\nc\n=======\nd\n>>>>>>> REPLACE\n",
                ["a.py", "b.py"],
                [replace("a.py", "a\n", "b\n"), replace("b.py", "c\n", "d\n")],
            ),
            (
                "/home/me/project/src/temps.py\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n",
                ["src/temps.py"],
                [replace("src/temps.py", "a\n", "b\n")],
            ),
        ],
        ids=[
            "fenced-after-path",
            "path-inside-fence",
            "two-blocks-one-path",
            "two-files",
            "whole-and-replace-mixed",
            "five-marker-characters",
            "nine-marker-characters-empty-search",
            "path-named-in-prose",
            "prose-names-the-next-file",
            "absolute-path-mapped-to-target",
        ],
    )
    def test_reads_search_replace_blocks(self, reply: str, targets: list[str], expected: list[FileEdit]) -> None:
        """Aider's SEARCH/REPLACE blocks are read fenced or not, several per path, mixed with whole files."""
        assert parse_reply(reply, targets) == expected

    def test_normalizes_crlf_and_keeps_tabs(self) -> None:
        """Windows line endings in a reply become LF; tabs and form feeds are ordinary text."""
        reply = f"temps.py\r\n{F}python\r\ndef f():\r\n\treturn 1\f\r\n{F}\r\n"
        assert parse_reply(reply, []) == [whole("temps.py", "def f():\n\treturn 1\f\n")]

    def test_strips_the_indentation_of_a_fence_in_a_list(self) -> None:
        """A block indented under a list item loses the list's indentation, not the code's."""
        reply = f"1. Create `temps.py`:\n\n   {F}python\n   def f():\n       return 1\n   {F}\n"
        assert parse_reply(reply, ["temps.py"]) == [whole("temps.py", "def f():\n    return 1\n")]

    def test_keeps_nested_fences_inside_a_longer_fence(self) -> None:
        """A file that itself contains ``` lines survives when the model uses a longer fence."""
        content = f'DOC = """\n{F}python\nx = 1\n{F}\n"""\n'
        reply = f"README_gen.py\n````python\n{content}````\n"
        assert parse_reply(reply, []) == [whole("README_gen.py", content)]

    def test_keeps_an_empty_labelled_block_as_an_empty_file(self) -> None:
        """An empty block with a path creates an empty file (a package's __init__.py)."""
        assert parse_reply(f"pkg/__init__.py\n{F}python\n{F}\n", []) == [whole("pkg/__init__.py", "")]

    @pytest.mark.parametrize(
        "prose",
        ["Here is the code:", "Output:", "Version 1.2:", "Example usage", "Run it with `python temps.py`:"],
    )
    def test_does_not_take_prose_for_a_path(self, prose: str) -> None:
        """A prose line above a block is not a path, so without targets the block has no file."""
        with pytest.raises(EditRejectedError, match="without a file path"):
            parse_reply(f"{prose}\n{F}python\nX = 1\n{F}\n", [])

    @pytest.mark.parametrize(
        ("reply", "targets", "reason"),
        [
            ("", ["temps.py"], "Your reply was empty"),
            ("  \n\t\n ", ["temps.py"], "Your reply was empty"),
            ("x" * (MAX_REPLY_CHARS + 1), ["temps.py"], "over the limit of 200,000. Send a shorter answer"),
            (f"temps.py\n{F}\nA = 'a\x00b'\n{F}\n", [], r"control character \(U\+0000\) on line 3"),
            (f"temps.py\n{F}\nprint('\x1b[31m')\n{F}\n", [], r"U\+001B"),
            (f"temps.py\n{F}\nX = 1\x7f\n{F}\n", [], r"U\+007F"),
            (f"temps.py\n{F}\nX = '\ud800'\n{F}\n", [], "lone surrogate"),
            (f"temps.py\n{F}python\ndef f():\n    return", [], "cut off. Send a shorter answer"),
            ("temps.py\n<<<<<<< SEARCH\nX = 1\n=======\nX = 2\n", [], "cut off.*SEARCH/REPLACE"),
            ("temps.py\n<<<<<<< SEARCH\nX = 1\n>>>>>>> REPLACE\n", [], "no '=======' line"),
            ("temps.py\n<<<<<<< SEARCH\na\n=======\nb\n<<<<<<< SEARCH\n", [], "does not end with"),
            ("temps.py\nX = 2\n>>>>>>> REPLACE\n", [], "without a '<<<<<<< SEARCH'"),
            (f"temps.py\n{F}\nX = 2\n>>>>>>> REPLACE\n{F}\n", [], "markers but no '<<<<<<< SEARCH'"),
            ("I am not sure how to solve this. Could you share more details?", ["temps.py"], "no file edit"),
            (f"{F}python\nX = 1\n{F}\n", [], "without a file path"),
            (f"{F}python\nX = 1\n{F}\n", ["a.py", "b.py"], r"several files are expected \(a.py, b.py\)"),
            (f"{F}bash\n$ python temps.py\n{F}\n", ["temps.py"], "no file edit"),
            (f"{F}\n$ pip install temps\n{F}\n", ["temps.py"], "no file edit"),
            (f"{F}text\n32.0\n{F}\n", ["temps.py"], "no file edit"),
            (CONSOLE_AND_PYCON, ["temps.py"], "no file edit"),
            (f"### temps.py\n{F}bash\npython temps.py\n{F}\n", ["temps.py"], "no file edit"),
            (
                f"{F}diff\n--- a/temps.py\n+++ b/temps.py\n@@ -1 +1 @@\n-X = 1\n+X = 2\n{F}\n",
                ["temps.py"],
                "diff",
            ),
            (f"temps.py\n{F}\n{BIG_CONTENT}{F}\n", [], "over the limit of 150,000"),
            (f"temps.py\n{F}\ndef f():\n    # ... existing code ...\n{F}\n", [], "leaves code out"),
            (f"temps.py\n{F}\nX = 1\n# rest of the file is unchanged\n{F}\n", [], "leaves code out"),
            ("<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n", ["a.py", "b.py"], "has no file path"),
        ],
        ids=[
            "empty",
            "whitespace",
            "too-long",
            "nul",
            "escape",
            "del",
            "surrogate",
            "unclosed-fence",
            "unterminated-search-replace",
            "missing-divider",
            "missing-replace-marker",
            "stray-replace-marker",
            "replace-marker-in-whole-file",
            "prose-only",
            "unlabelled-no-targets",
            "unlabelled-two-targets",
            "bash-only",
            "dollar-commands-only",
            "output-only",
            "console-and-pycon-under-a-path",
            "shell-under-a-python-path",
            "diff",
            "file-too-big",
            "placeholder-comment",
            "rest-unchanged-comment",
            "search-replace-without-path",
        ],
    )
    def test_rejects_unusable_replies_with_an_instruction(self, reply: str, targets: list[str], reason: str) -> None:
        """Each unusable reply is rejected with a reason that tells the model what to send instead."""
        with pytest.raises(EditRejectedError, match=reason):
            parse_reply(reply, targets)

    def test_keeps_real_comments_that_mention_the_rest(self) -> None:
        """Ordinary comments are not mistaken for left-out code."""
        content = "def f(s):\n    # return the rest of the input unchanged\n    return s[1:]\n"
        assert parse_reply(f"temps.py\n{F}\n{content}{F}\n", []) == [whole("temps.py", content)]

    @settings(max_examples=300, deadline=None)
    @given(
        reply=st.one_of(
            st.text(max_size=300),
            st.lists(
                st.sampled_from(
                    [
                        F,
                        F + "python",
                        F + "python a.py",
                        "~~~",
                        "````",
                        "a.py",
                        "**b.py**",
                        "### src/c.py",
                        "<<<<<<< SEARCH",
                        "=======",
                        ">>>>>>> REPLACE",
                        "def f():",
                        "    return 1",
                        "",
                        "$ python a.py",
                        "Here is the code:",
                        "# ... existing code ...",
                        "\r",
                        "\x00",
                        ">>> f()",
                        "Here is the updated `b.py`:",
                        "/abs/path/a.py",
                        "# a.py",
                        "../../etc/passwd",
                        "    ```",
                        "diff --git a/a.py b/a.py",
                        "--- a/a.py",
                        "+++ b/a.py",
                        "@@ -1 +1 @@",
                    ]
                ),
                max_size=25,
            ).map("\n".join),
        ),
        targets=st.sampled_from([[], ["a.py"], ["a.py", "b.py"], ["src/c.py"]]),
    )
    def test_raises_nothing_but_edit_rejected(self, reply: str, targets: list[str]) -> None:
        """Whatever text arrives, parse_reply returns edits or raises EditRejectedError, nothing else."""
        try:
            edits = parse_reply(reply, targets)
        except EditRejectedError as error:
            assert str(error)
            return
        assert edits
        assert all(e.content == "" or e.content.endswith("\n") for e in edits)

    @settings(max_examples=300, deadline=None)
    @given(
        content=st.text(
            alphabet=st.characters(
                blacklist_categories=["Cs"], blacklist_characters="\r\x0b\x0c\x1c\x1d\x1e\x85"
            ).filter(lambda c: c in "\t\n" or not (ord(c) < 0x20 or ord(c) == 0x7F)),
            max_size=400,
        )
    )
    def test_round_trips_any_file_content_without_fence_lines(self, content: str) -> None:
        """A whole-file block gives back exactly the content it carries, whatever that content is."""
        content = content if content.endswith("\n") or not content else content + "\n"
        lines = content.split("\n")
        if any(re.match(r"^\s*(`{3,}|~{3,})\s*$|^\s*[<=>]{5,}", line) for line in lines):
            return
        if re.search(r"\.\.\.|…|rest\s+of|unchanged|existing|previous|omitted|remains?|stays?", content, re.I):
            return
        if content.strip().split("\n")[0].strip().strip("`*") in ("src/module.py", "module.py"):
            return
        if not content.strip() or not any(ch.isspace() for ch in content.strip()):
            return  # no code, or one word: a name, not a file (TestABlockHoldingOnlyAName)
        first_text = next((line.strip() for line in lines if line.strip()), "")
        if first_text.startswith(("$ ", ">>> ", "% ", "> ")) or first_text in ("$", ">>>", "%", ">"):
            return  # a block that opens like a shell or interpreter session is a transcript, by design
        reply = f"Here is the file.\n\nsrc/module.py\n{F}python\n{content}{F}\n\nDone."
        assert parse_reply(reply, ["src/module.py"]) == [whole("src/module.py", content)]


class TestABlockHoldingOnlyAName:
    """A fenced block holding only the target's name is no file: writing the word as the module is an ImportError."""

    @pytest.mark.parametrize(
        "reply",
        [
            "```python\nfizz.py\n```\n",
            "fizz.py\n```python\nfizz.py\n```\n",
            "```\nfizz\n```\n",
            "Here it is:\n```python\n`lib/fizz.py`\n```\n",
            "fizz.py\n```python\n\n```\n",
        ],
    )
    def test_is_refused_with_a_reason_the_model_can_act_on(self, reply: str) -> None:
        with pytest.raises(EditRejectedError, match=r"not the file's code\. Put the path alone"):
            parse_reply(reply, ["fizz.py"])

    def test_a_one_line_module_and_an_empty_init_file_are_still_files(self) -> None:
        assert parse_reply("fizz.py\n```python\nX = 1\n```\n", ["fizz.py"])[0].content == "X = 1\n"
        assert parse_reply("pkg/__init__.py\n```python\n```\n", ["pkg/__init__.py"])[0].content == ""


@pytest.mark.req("LANG-2")
class TestInventedDirectories:
    def test_a_javascript_target_under_an_invented_directory_is_the_target(self) -> None:
        """The 0.5B model wrote `path/to/leap.js` for leap.js on the JavaScript bench; it meant leap.js."""
        reply = "path/to/leap.js\n```javascript\nexport const isLeap = (y) => y % 4 === 0;\n```\n"
        assert [edit.path for edit in parse_reply(reply, ["leap.js"])] == ["leap.js"]

    def test_python_relative_paths_are_kept_as_written(self) -> None:
        reply = "lib/words.py\n```python\nX = 1\n```\n"
        assert [edit.path for edit in parse_reply(reply, ["words.py"])] == ["lib/words.py"]
