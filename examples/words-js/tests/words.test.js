import { test } from "node:test";
import assert from "node:assert/strict";

import { countWords, longestWord } from "../src/words.js";

test("counts words separated by whitespace", () => {
  assert.equal(countWords("the quick  brown fox"), 4);
});

test("a blank text has no words", () => {
  assert.equal(countWords("   "), 0);
});

test("finds the longest word", () => {
  assert.equal(longestWord("a bb ccc dd"), "ccc");
});

test("the first of equally long words wins", () => {
  assert.equal(longestWord("ab cd"), "ab");
});

test("an empty text has no longest word", () => {
  assert.equal(longestWord(""), "");
});
