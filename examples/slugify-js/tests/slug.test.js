import { test } from "node:test";
import assert from "node:assert/strict";

import { slugify } from "../src/slug.js";

test("lowercases words and joins them with a dash", () => {
  assert.equal(slugify("Hello World"), "hello-world");
});

test("replaces each run of punctuation and spaces with one dash", () => {
  assert.equal(slugify("Hello,   World!"), "hello-world");
});

test("trims dashes at both ends", () => {
  assert.equal(slugify("  --Already a slug--  "), "already-a-slug");
});

test("keeps digits", () => {
  assert.equal(slugify("Top 10 Tips for 2026"), "top-10-tips-for-2026");
});

test("drops accents", () => {
  assert.equal(slugify("Crème brûlée"), "creme-brulee");
});

test("a title without letters or digits gives the empty string", () => {
  assert.equal(slugify("!!! ???"), "");
});
