"""The instruction names what a JavaScript target must export, from the tests' imports; Python's is unchanged."""

from __future__ import annotations

import pytest

from autodev.synth.js_exports import export_hint

pytestmark = pytest.mark.req("LANG-2")

TEST = 'import { test } from "node:test";\nimport { countWords, longestWord as lw } from "../src/words.js";\n'


class TestExportHint:
    def test_named_imports_of_the_target_are_named_as_exports(self) -> None:
        hint = export_hint("src/words.js", [("tests/words.test.js", TEST)])
        assert "ES module" in hint and "export countWords, longestWord by name" in hint

    def test_an_import_without_its_extension_and_a_default_import_count(self) -> None:
        text = 'import slug, { other } from "../lib/slug";\n'
        hint = export_hint("lib/slug.js", [("test/slug.test.js", text)])
        assert "export other by name" in hint and "export default" in hint

    def test_require_destructuring_asks_for_module_exports(self) -> None:
        text = 'const { add } = require("../calc");\n'
        assert "module.exports" in export_hint("calc.js", [("test/calc.test.js", text)])

    def test_imports_of_other_files_and_packages_say_nothing(self) -> None:
        assert export_hint("src/other.js", [("tests/words.test.js", TEST)]) == ""
        assert export_hint("src/words.py", [("tests/words.test.js", TEST)]) == ""
