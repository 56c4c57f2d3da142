"""What `ask --output` writes: the one code block's code, else the whole answer, atomically."""

from __future__ import annotations

from pathlib import Path

import pytest

from autodev.ask.output import OutputText, output_text, write_output
from autodev.ask.prompt import ContextFile, head_messages, question_message
from autodev.errors import UsageError

pytestmark = pytest.mark.req("ASK-2")


class TestOutputText:
    def test_one_fenced_block_is_the_code_alone(self) -> None:
        chosen = output_text("Fixed:\n\n~~~py\nprint(1)\n~~~\nDone.")
        assert chosen.text == "print(1)\n"
        assert chosen.what == "the code block (py, 1 line)"

    def test_prose_without_a_block_is_the_whole_answer_with_a_final_newline(self) -> None:
        assert output_text("Just prose.").text == "Just prose.\n"

    def test_an_unclosed_fence_is_the_whole_answer(self) -> None:
        answer = "Start:\n```python\nprint(1)\n"
        assert output_text(answer).text == answer


class TestWriteOutput:
    def test_the_file_is_replaced_whole(self, tmp_path: Path) -> None:
        target = tmp_path / "out.py"
        target.write_text("old\n")
        write_output(target, OutputText(text="new\n", what="x"))
        assert target.read_text() == "new\n"
        assert [p.name for p in tmp_path.iterdir()] == ["out.py"]  # no temporary file left

    def test_a_directory_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(UsageError, match="is a directory"):
            write_output(tmp_path, OutputText(text="x\n", what="x"))


@pytest.mark.req("ASK-1")
class TestMessages:
    def test_files_are_fenced_under_their_paths_even_when_they_hold_fences(self) -> None:
        readme = ContextFile(path="README.md", text="Use:\n```sh\nmake\n```\n")
        system = head_messages([readme], "Answer in French.")[0]["content"]
        assert "Answer in French." in system
        assert "README.md\n````\nUse:\n```sh\nmake\n```\n````" in system

    def test_standard_input_goes_with_the_question(self) -> None:
        message = question_message("review this", "+ x = 1\n")
        assert message == {"role": "user", "content": "review this\n\nstandard input\n```\n+ x = 1\n```"}
