#!/usr/bin/env bash
# `make demo-scripted`: copy examples/temperature into a fresh git repository, serve two scripted model replies
# (a wrong one, then a right one), and run one autodev pass. Nothing is written inside the autodev repository.
# `examples/demo-scripted.sh slugify-js` (make demo-js) and `... roman-rs` (make demo-rust) do the same with the
# JavaScript and Rust examples and their replies (examples/replies/NAME-1.md, NAME-2.md).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
example="${1:-temperature}"
work="$(mktemp -d "${TMPDIR:-/tmp}/autodev-demo.XXXXXX")"
cp -R "$here/$example/." "$work/"
git -C "$work" init -q -b main
git -C "$work" add -A
git -C "$work" -c user.name=demo -c user.email=demo@localhost commit -q -m "spec and tests"

log="$work/.server.log"
python -m autodev.testing serve --port 0 \
    --reply-file "$here/replies/$example-1.md" --reply-file "$here/replies/$example-2.md" >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q "listening on" "$log" 2>/dev/null && break; sleep 0.1; done
url="$(sed -n 's/^listening on //p' "$log")"
[ -n "$url" ] || { echo "the scripted model server did not start:"; cat "$log"; exit 1; }
rm -f "$log"
sed -i.bak "s#^api_base = .*#api_base = \"$url\"#" "$work/autodev.toml" && rm -f "$work/autodev.toml.bak"
git -C "$work" -c user.name=demo -c user.email=demo@localhost commit -q -am "point the demo at the scripted server"

echo "== autodev -C $work run --once"
status=0
autodev -C "$work" run --once || status=$?
echo
echo "== git log in $work"
git -C "$work" log --format='%h %s%n%(trailers:only,unfold)' -n 2
exit $status
