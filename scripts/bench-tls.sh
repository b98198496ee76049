#!/usr/bin/env bash
# What TLS costs: two local 3x3 clusters over TCP only, one with TLS on every port and one
# without, measured alternately (ABBA) with occdb bench on the running clusters.
#
#   scripts/bench-tls.sh [rounds] [-- extra options for occdb bench]
#
# Prints each round's commits/s of both, the medians and the ratio. Builds nothing: run
# npm run build first. Both clusters are stopped at the end, whatever happens.
set -euo pipefail
rounds=4
if [ $# -gt 0 ] && [ "$1" != "--" ]; then rounds=$1; shift; fi
[ "${1:-}" = "--" ] && shift
bench_options=("$@")
[ ${#bench_options[@]} -gt 0 ] || bench_options=(--workloads bank --clients 16 --repetitions 3 --duration-seconds 4 --warmup-seconds 1)

top=$(git rev-parse --show-toplevel)
occdb=(node "$top/bin/occdb.js")
work=$(mktemp -d /tmp/occdb-tls-XXXXXX)
cleanup() {
  "${occdb[@]}" stop --dir "$work/plain" >/dev/null 2>&1 || true
  "${occdb[@]}" stop --dir "$work/tls" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
three=(localhost localhost localhost)
"${occdb[@]}" startup 3 "${three[@]}" 3 "${three[@]}" --tcp-only --dir "$work/plain" >/dev/null
"${occdb[@]}" startup 3 "${three[@]}" 3 "${three[@]}" --tcp-only --tls --dir "$work/tls" >/dev/null

# The mean commits/s of one occdb bench run, from its results.json.
measure() {
  local out="$work/out-$1-$2"
  "${occdb[@]}" bench --dir "$work/$1" --out "$out" "${bench_options[@]}" >/dev/null
  node -e 'const r=require(process.argv[1]); const xs=r.runs.filter((x)=>x.status==="ok").map((x)=>x.throughputPerSecond); console.log((xs.reduce((a,b)=>a+b,0)/xs.length).toFixed(0))' "$out/results.json"
}

plain=(); tls=()
for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) -eq 1 ]; then order=(plain tls); else order=(tls plain); fi
  for kind in "${order[@]}"; do
    value=$(measure "$kind" "$round")
    if [ "$kind" = plain ]; then plain+=("$value"); else tls+=("$value"); fi
  done
  echo "round $round: without TLS ${plain[-1]} commits/s, with TLS ${tls[-1]} commits/s"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
p=$(median "${plain[@]}"); t=$(median "${tls[@]}")
echo "median: without TLS $p commits/s, with TLS $t commits/s ($(node -e "console.log(((${t}/${p}-1)*100).toFixed(1))")%)"
