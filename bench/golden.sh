#!/usr/bin/env bash
# Bit-for-bit check for refactors: runs a fixed set of propamm commands (run, eval, sweep, train
# with ES and PPO, export and re-run of the exported files) and writes their outputs, with the
# wall-clock fields removed, into one folder. Run it before and after a change and compare:
#
#   bash bench/golden.sh /tmp/golden-before        # on the old commit (after npm run build)
#   bash bench/golden.sh /tmp/golden-after         # on the new one
#   bash bench/golden.sh --compare /tmp/golden-before /tmp/golden-after
#
# The work folder (GOLDEN_WORK, default /tmp/propamm-golden-work) holds relative paths only, so
# outputs agree wherever it is. Exported source text is not compared (the exporter may change how it writes
# code); what an exported file computes is, by running it.
set -euo pipefail

if [ "${1:-}" = "--compare" ]; then
  before=$2
  after=$3
  if diff -r "$before" "$after" >/dev/null; then
    echo "golden: identical ($(find "$before" -type f | wc -l) files)"
    exit 0
  fi
  echo "golden: outputs differ:"
  diff -rq "$before" "$after" || true
  exit 1
fi

out=${1:?usage: bash bench/golden.sh <output-folder> | --compare <a> <b>}
root=$(cd "$(dirname "$0")/.." && pwd)
cli="node $root/dist/cli/main.js"
work=${GOLDEN_WORK:-/tmp/propamm-golden-work}
rm -rf "$work" "$out"
mkdir -p "$work" "$out"
out=$(cd "$out" && pwd)
cd "$work"

# A self-contained strategy file (no imports), so the same text runs on any layout.
cat >adaptive.mjs <<'EOF'
const fee = (s, side) => {
  const v = new DataView(s.buffer, s.byteOffset).getUint32(side * 4, true);
  return (v > 0 ? v : 25) / 10000;
};
export default {
  name: "golden adaptive",
  computeSwap(side, input, x, y, s) {
    const g = (1 - fee(s, side)) * input;
    return side === 0 ? (x * g) / (y + g) : (y * g) / (x + g);
  },
  afterSwap(e, s) {
    const d = new DataView(s.buffer, s.byteOffset);
    d.setUint32(e.side * 4, Math.min(200, Math.round(fee(s, e.side) * 10000) + 5), true);
  },
  onEpochBoundary(_e, s) {
    s.fill(0, 0, 8);
  },
};
EOF

# Removes wall-clock fields from JSON (objects or JSON lines).
strip() {
  node -e '
    const fs = require("fs");
    const drop = new Set(["wallSeconds", "createdAt", "elapsedSeconds", "seconds", "stepsPerSecond"]);
    const clean = (v) => Array.isArray(v) ? v.map(clean)
      : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).filter(([k]) => !drop.has(k)).map(([k, x]) => [k, clean(x)]))
      : v;
    const text = fs.readFileSync(process.argv[1], "utf8");
    let res;
    try { res = JSON.stringify(clean(JSON.parse(text)), null, 1); }
    catch { res = text.trim().split("\n").map((l) => JSON.stringify(clean(JSON.parse(l)))).join("\n"); }
    fs.writeFileSync(process.argv[2], res + "\n");
  ' "$1" "$2"
}

run() {
  echo "+ propamm $*" >&2
  $cli "$@" >/dev/null
}

run run starter fixed:30 oracle:30 normalizer --simulations 24 --steps 3000 --json r1.json
run run fixed:20/40 starter --sigma 0.002 --no-retail --score-per-capital --simulations 12 --steps 2000 --json r2.json
run run adaptive.mjs fixed:50 --simulations 12 --steps 3000 --epoch-len 500 --min-weight 0.05 --json r3.json
run sweep fixed --from 20 --to 80 --step 30 --simulations 10 --steps 2000 --no-plots --json sweep.json
run train --timesteps 3000 --hp population=4 --steps 1000 --eval-every 2 --eval-episodes 2 --checkpoint-every 2 --out es
run train --algo ppo --timesteps 1200 --steps 1000 --eval-every 1 --eval-episodes 2 --checkpoint-every 1 --out ppo --opponents fixed:40
run eval es ppo fixed:50 --against starter --simulations 12 --steps 2000 --no-plots --json eval.json
run export es --format ts -o es-policy.ts
run export ppo --format js -o ppo-policy.mjs
run run es-policy.ts ppo-policy.mjs starter --simulations 12 --steps 2000 --json exported.json

# The gym through the public API: a scripted policy over a few episodes, single and vector env.
node --input-type=module -e '
  import { PropAmmEnv, VectorEnv } from "'"$root"'/dist/index.js";
  const env = new PropAmmEnv({ opponents: ["starter", "fixed:40"], sim: { steps: 2000 }, rewardBaseline: "normalizer" });
  const rows = [];
  for (let ep = 0; ep < 3; ep++) {
    let r = env.reset({ seed: 7 + ep });
    let total = 0;
    for (let t = 0, done = false; !done; t++) {
      const a = Math.sin(t * 0.37 + ep);
      const s = env.step([a, -a]);
      total += s.reward;
      done = s.terminated;
      r = s;
    }
    rows.push({ total, obs: Array.from(r.observation), info: { ...r.info, episode: undefined } });
  }
  const venv = new VectorEnv(3, { sim: { steps: 1500 } });
  let v = venv.reset({ seed: 3 });
  let acc = 0;
  for (let t = 0; t < 200; t++) {
    const act = new Float32Array(6).map((_, i) => Math.cos(t + i));
    v = venv.step(act);
    acc += v.rewards.reduce((a, b) => a + b, 0);
  }
  rows.push({ vector: acc, obs: Array.from(v.observations) });
  console.log(JSON.stringify(rows));
' >gym.json

for f in r1 r2 r3 sweep eval exported gym; do strip "$f.json" "$out/$f.json"; done
for run in es ppo; do
  strip "$run/metrics.jsonl" "$out/$run-metrics.jsonl"
  latest=$(cat "$run/LATEST")
  strip "$run/$latest/state.json" "$out/$run-state.json"
  (cd "$run/$latest" && find . -name '*.bin' | sort | xargs sha256sum) >"$out/$run-weights.sha256"
done
echo "golden: wrote $(find "$out" -type f | wc -l) files to $out"
