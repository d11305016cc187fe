#!/usr/bin/env bash
# Instructions executed for fixed work, this checkout against another commit: valgrind's
# callgrind counts instructions, which repeat run to run (node --single-threaded keeps the JIT
# on one thread), where wall time on a shared two-core machine swings by tens of percent.
# Each figure is the count for the work minus the count for zero work (node's start-up).
#
#   bash bench/instructions.sh <base-commit>      # e.g. the commit before a refactor
#
# Needs valgrind (Debian's package) and npm ci done here; builds the base commit in a temporary
# worktree that shares this checkout's node_modules.
set -euo pipefail
base=${1:?usage: bash bench/instructions.sh <base-commit>}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$tmp/base" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
git -C "$root" worktree add -q --detach "$tmp/base" "$base"
ln -s "$root/node_modules" "$tmp/base/node_modules"
(cd "$tmp/base" && npx tsc -p tsconfig.json)
(cd "$root" && npx tsc -p tsconfig.json)

count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null --smc-check=all-non-file \
    node --single-threaded "$root/bench/fixed-work.mjs" "$@" 2>&1 | awk '/Collected/ {print $4}'
}
net() { echo $(($(count "$1" "${@:2}") - $(count "$1" "${@:2:$(($# - 2))}" 0))); }

printf '| work | %s | %s | ratio |\n| --- | --- | --- | --- |\n' "$base" "$(git -C "$root" rev-parse --short HEAD)"
for work in "engine fixed 2 30" "engine starter 2 30" "engine bb 2 6" "engine fixed 8 10" "gym 20"; do
  read -r -a args <<<"$work"
  a=$(net "$tmp/base/dist" "${args[@]}")
  b=$(net "$root/dist" "${args[@]}")
  printf '| %s | %sM | %sM | %s |\n' "$work" $((a / 1000000)) $((b / 1000000)) "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')"
done
