#!/usr/bin/env bash
# P2 in paired rounds: the benchmarks jar of BASE_REV against the current tree's.
#
#   benchmarks/paired-p2.sh BASE_REV [PAIRS]
#
# Builds the benchmarks jar of BASE_REV in a temporary git worktree and the jar of the current tree
# (uncommitted changes included), then runs LoopbackHarness from each jar in turn, PAIRS times
# (default 5). The order alternates from pair to pair (base first, then current first), so that a
# box that drifts during the run does not favour one side. Each harness run reports, in its own JVM
# against its own plain-OkHttp variant:
#   - P2: the p50 latency Inmesh adds over plain OkHttp at 1,000 rps, open loop;
#   - the CPU per request that the callers' threads use under Inmesh more than under plain OkHttp.
# Per pair the script prints both figures for each jar and their difference (current less base);
# at the end the medians of each side and the median of the per-pair differences.
#
# A harness run is two warm-up rounds and P2_ROUNDS measured rounds of P2_SECONDS for each of its four
# variants (plain, inmesh, one and two HAProxy hops), then short throughput rounds: with the defaults
# 36 s of load and 10-20 s of start-up and heap measurement, so five pairs take 8-9 minutes besides
# the two builds. Needs Debian's nginx and haproxy, as the harness does; Maven offline.
#
# Environment:
#   P2_SECONDS  seconds per harness round (default 2)
#   P2_ROUNDS   measured harness rounds per run (default 2)
#   P2_RATE     requests per second (default 1000: P2 is defined at 1,000 rps)
#   JAVA        the java to run the jars with (default: java on the PATH)
#   JAVA_OPTS   JVM options for the harness runs
#   KEEP        1 keeps the temporary directory (the jars and every run's full output)
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 || $1 == -h || $1 == --help ]]; then
  sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
base_rev=$1
pairs=${2:-5}
seconds=${P2_SECONDS:-2}
rounds=${P2_ROUNDS:-2}
rate=${P2_RATE:-1000}
java=${JAVA:-java}
harness=dev.inmesh.benchmarks.loopback.LoopbackHarness
[[ $pairs =~ ^[1-9][0-9]*$ ]] || { echo "PAIRS must be a positive number, got '$pairs'" >&2; exit 2; }

root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
base_sha=$(git -C "$root" rev-parse --verify --quiet "$base_rev^{commit}") \
  || { echo "BASE_REV '$base_rev' is not a commit in $root" >&2; exit 2; }
current=$(git -C "$root" rev-parse --short HEAD)
[[ -z $(git -C "$root" status --porcelain --untracked-files=no) ]] || current="$current+changes"

work=$(mktemp -d "${TMPDIR:-/tmp}/paired-p2.XXXXXX")
cleanup() {
  git -C "$root" worktree remove --force "$work/base" >/dev/null 2>&1 || true
  if [[ ${KEEP:-0} == 1 ]]; then
    echo "kept $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

build() { # build DIR JAR: the benchmarks jar of the tree in DIR, copied to JAR
  (cd "$1" && mvn -o -q -DskipTests package -pl benchmarks -am) >"$2.build.log" 2>&1 \
    || { echo "build failed in $1, see $2.build.log:" >&2; tail -20 "$2.build.log" >&2; exit 1; }
  cp "$1/benchmarks/target/benchmarks.jar" "$2"
}

echo "building base ${base_sha:0:12} ($base_rev) in a temporary worktree"
git -C "$root" worktree add --detach --quiet "$work/base" "$base_sha"
build "$work/base" "$work/base.jar"
echo "building current $current"
build "$root" "$work/current.jar"

# run SIDE PAIR: one harness run of SIDE's jar; prints "P2_MICROS CALLER_CPU_MICROS"
run() {
  local log="$work/$1-$2.log"
  # shellcheck disable=SC2086 # JAVA_OPTS is a list of options
  "$java" ${JAVA_OPTS:-} -cp "$work/$1.jar" "$harness" --rate "$rate" --seconds "$seconds" --rounds "$rounds" \
    >"$log" 2>&1 || { echo "the $1 harness failed in pair $2, see $log:" >&2; tail -20 "$log" >&2; exit 1; }
  # "| P2 | added latency over plain OkHttp, p50 | 12.3 µs | ≤ 10 µs | PASS |"
  local p2 cpu
  p2=$(awk -F'|' '$2 ~ /^ *P2 *$/ { gsub(/[^-0-9.]/, "", $4); print $4; exit }' "$log")
  # the per-request CPU table, inmesh against plain: "  callers   123.4  120.1   +3.3"
  cpu=$(awk '/^CPU per request over the measured rounds/ { table = 1; next }
             table && $1 == "callers" { sub(/^\+/, "", $NF); print $NF; exit }' "$log")
  [[ -n $p2 && -n $cpu ]] || { echo "no P2 or callers line in $log" >&2; exit 1; }
  echo "$p2 $cpu"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "pairs: $pairs; each run: two warm-up rounds, then measured rounds: $rounds, of $seconds s per variant at $rate rps"
started=$SECONDS
printf '%-5s %-14s %10s %10s %10s   %10s %10s %10s\n' pair order "p2 base" "p2 cur" "p2 diff" "cpu base" "cpu cur" "cpu diff"
: >"$work/results"
for ((pair = 1; pair <= pairs; pair++)); do
  if ((pair % 2)); then order=(base current); else order=(current base); fi
  declare -A got=()
  for side in "${order[@]}"; do
    got[$side]=$(run "$side" "$pair")
  done
  read -r p2_base cpu_base <<<"${got[base]}"
  read -r p2_cur cpu_cur <<<"${got[current]}"
  p2_diff=$(awk -v a="$p2_cur" -v b="$p2_base" 'BEGIN { printf "%+.1f", a - b }')
  cpu_diff=$(awk -v a="$cpu_cur" -v b="$cpu_base" 'BEGIN { printf "%+.1f", a - b }')
  printf '%-5s %-14s %10s %10s %10s   %10s %10s %10s\n' "$pair" "${order[0]} first" "$p2_base" "$p2_cur" "$p2_diff" \
    "$cpu_base" "$cpu_cur" "$cpu_diff"
  echo "$p2_base $p2_cur $p2_diff $cpu_base $cpu_cur $cpu_diff" >>"$work/results"
  unset got
done
echo "(runs took $((SECONDS - started)) s)"

col() { awk -v c="$1" '{ print $c }' "$work/results" | median; }
echo
echo "medians over the pairs (µs; base ${base_sha:0:12}, current $current):"
echo "  P2, p50 latency added over plain OkHttp:  base $(col 1)  current $(col 2)  per-pair difference $(col 3)"
echo "  callers' CPU per request added:           base $(col 4)  current $(col 5)  per-pair difference $(col 6)"
