#!/usr/bin/env bash
# `make demo`: copy examples/words (or the example named as the first argument: `make demo-js-local` gives
# words-js, `make demo-rust-local` roman-rs) into a fresh git repository under /tmp and run one autodev pass there
# on the bundled local models (no key, no network): the tiny model tries first, a small coder model takes over
# when the tests say so. Nothing is written inside the autodev repository.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
example="${1:-words}"
work="$(mktemp -d "${TMPDIR:-/tmp}/autodev-demo.XXXXXX")"
cp -R "$here/$example/." "$work/"
rm -f "$work/autodev.toml"  # the example's own file names the scripted demo's server: use the local ladder
git -C "$work" init -q -b main
git -C "$work" add -A
git -C "$work" -c user.name=demo -c user.email=demo@localhost commit -q -m "spec and tests"

echo "== autodev models list"
autodev models list
echo
echo "== autodev -C $work run --once   (no autodev.toml: the default local ladder)"
status=0
autodev -C "$work" run --once || status=$?
echo
echo "== git log in $work"
git -C "$work" log --format='%h %s%n%(trailers:only,unfold)' -n 2
target="$(sed -n 's/^Files: *//p' "$work/SPEC.md" | head -n 1)"
echo "== the code autodev wrote: $work/$target"
cat "$work/$target" 2>/dev/null || echo "(none: the local models did not get the tests to pass)"
exit $status
