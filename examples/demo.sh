#!/usr/bin/env bash
# `make demo`: copy examples/words into a fresh git repository under /tmp and run one autodev pass there on the
# bundled local models (no key, no network): the tiny model tries first, a small coder model takes over when the
# tests say so. Nothing is written inside the autodev repository.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/autodev-demo.XXXXXX")"
cp -R "$here/words/." "$work/"
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
echo "== the code autodev wrote: $work/words.py"
cat "$work/words.py" 2>/dev/null || true
exit $status
