#!/usr/bin/env bash
# Side-by-side benchmark of this checkout against an earlier commit, on this machine.
#
#   scripts/bench-ab.sh <base-commit> [rounds] [-- extra options for npm run bench]
#
# Builds <base-commit> in a temporary worktree and this checkout in place, then runs the same
# benchmark (default: bank, 16 clients, occ and 2pl, 3 repetitions of 4 s) alternately, ABBA
# (base then this, then this then base, ...), so a slow stretch of the machine hits both alike.
# Prints each round's mean commits/s per strategy, the medians and how many rounds this
# checkout was faster. Nothing is written to reports/: results go to a temporary directory.
set -euo pipefail
base=${1:?usage: scripts/bench-ab.sh <base-commit> [rounds] [-- bench options]}
shift
rounds=5
if [ $# -gt 0 ] && [ "$1" != "--" ]; then rounds=$1; shift; fi
[ "${1:-}" = "--" ] && shift
bench_options=("$@")
[ ${#bench_options[@]} -gt 0 ] || bench_options=(--workloads bank --clients 16 --strategies occ,2pl --repetitions 3 --duration-seconds 4 --warmup-seconds 1)

top=$(git rev-parse --show-toplevel)
work=$(mktemp -d /tmp/occdb-ab-XXXXXX)
base_tree="$work/base"
cleanup() { git -C "$top" worktree remove --force "$base_tree" >/dev/null 2>&1 || true; }
trap cleanup EXIT
git -C "$top" worktree add --detach "$base_tree" "$base" >/dev/null
ln -s "$top/node_modules" "$base_tree/node_modules"
echo "building $base in $base_tree and this checkout ($(git -C "$top" rev-parse --short HEAD)$(git -C "$top" diff --quiet || echo ', with uncommitted changes'))"
(cd "$base_tree" && npx tsc -p tsconfig.json)
(cd "$top" && npx tsc -p tsconfig.json)

run() { # side round
  local dir=$1 out="$work/$1-$2"
  local tree=$base_tree; [ "$1" = head ] && tree=$top
  (cd "$tree" && node dist/bench/main.js "${bench_options[@]}" --out "$out" >"$out.log" 2>&1) || { echo "$1 round $2 failed: see $out.log"; exit 1; }
}
for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) -eq 1 ]; then run base "$round"; run head "$round"; else run head "$round"; run base "$round"; fi
  echo "round $round done"
done

node - "$work" "$rounds" <<'NODE'
const fs = require('node:fs');
const [work, rounds] = [process.argv[2], Number(process.argv[3])];
const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;
const median = (values) => { const s = [...values].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const table = {};
for (let round = 1; round <= rounds; round++) {
  for (const side of ['base', 'head']) {
    const results = JSON.parse(fs.readFileSync(`${work}/${side}-${round}/results.json`, 'utf8'));
    const byKey = {};
    for (const run of results.runs) {
      if (run.status !== 'ok') continue;
      const key = `${run.strategy} ${run.configurationKey}`;
      (byKey[key] ??= []).push(run.throughputPerSecond);
    }
    for (const [key, values] of Object.entries(byKey)) ((table[key] ??= { base: [], head: [] })[side]).push(mean(values));
  }
}
for (const [key, { base, head }] of Object.entries(table)) {
  console.log(`\n${key} (commits/s, mean of each round's repetitions)`);
  console.log('round   base     head');
  base.forEach((value, index) => console.log(`${String(index + 1).padStart(5)} ${value.toFixed(0).padStart(6)} ${head[index].toFixed(0).padStart(8)}`));
  const faster = head.filter((value, index) => value > base[index]).length;
  const change = (median(head) / median(base) - 1) * 100;
  console.log(`median ${median(base).toFixed(0).padStart(6)} ${median(head).toFixed(0).padStart(8)}   ${change >= 0 ? '+' : ''}${change.toFixed(1)}%, this checkout faster in ${faster} of ${base.length} rounds`);
}
NODE
