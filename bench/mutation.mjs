// `npm run mutation`: Stryker over the engine and the policy runtime, each source file judged only
// by its own tests (a mutant counts as caught only by the tests that claim to check its file).
// Files with the same judges share one Stryker run (the same tests decide each mutant either way,
// and each run costs about 15 s to start). Prints each file's score and writes
// reports/mutation/<files>.{html,json} and reports/mutation/summary.json. Not part of `npm test`:
// the whole run takes minutes.
//
//   npm run mutation                       # every file in the table
//   npm run mutation -- env/router.ts      # some of them
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";

/** Each mutated file and the test files that are its judges. */
export const TABLE = {
  "env/abi.ts": ["test/env/abi.test.ts"],
  "env/arbitrage.ts": ["test/env/arbitrage.test.ts"],
  "env/capital.ts": ["test/env/capital.test.ts"],
  "env/pool.ts": ["test/env/pool.test.ts"],
  // Cheap tests that catch many mutants first: a mutant's run stops at its first failing test, and
  // the files run in this order (vitest.mutation.config.ts).
  "env/router.ts": ["test/env/router.counts.test.ts", "test/env/router.test.ts", "test/env/router.refine.test.ts"],
  "env/storage.ts": ["test/env/storage.test.ts"],
  "runtime/slots.ts": ["test/env/storage.test.ts", "test/runtime/runtime.test.ts", "test/runtime/slots.test.ts"],
  "runtime/detmath.ts": ["test/runtime/detmath.test.ts"],
  "runtime/features.ts": ["test/runtime/runtime.test.ts"],
  "runtime/mapping.ts": ["test/runtime/runtime.test.ts"],
  "runtime/mlp.ts": ["test/runtime/runtime.test.ts"],
  "runtime/schedule.ts": ["test/runtime/runtime.test.ts", "test/runtime/schedule.test.ts"],
  "runtime/policy.ts": ["test/runtime/runtime.test.ts"],
};

/** Stryker's score: caught (killed or timed out) over every mutant that was not ignored. */
function score(report, file) {
  const mutants = report.files[file]?.mutants ?? [];
  const count = (...states) => mutants.filter((m) => states.includes(m.status)).length;
  const caught = count("Killed", "Timeout");
  const judged = caught + count("Survived", "NoCoverage");
  const survivors = mutants
    .filter((m) => m.status === "Survived" || m.status === "NoCoverage")
    .map((m) => `${file}:${m.location.start.line}:${m.location.start.column} ${m.mutatorName} ${m.replacement ?? ""}`);
  return {
    mutants: mutants.length,
    caught,
    timeouts: count("Timeout"),
    judged,
    score: judged === 0 ? 100 : (100 * caught) / judged,
    survivors,
  };
}

const files = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(TABLE);
for (const f of files) {
  if (!TABLE[f]) {
    console.error(`error: ${f} is not in bench/mutation.mjs's table (${Object.keys(TABLE).join(", ")})`);
    process.exit(2);
  }
}
/** The asked files grouped by their judges, in table order. */
const groups = new Map();
for (const f of files) {
  const key = TABLE[f].join(",");
  if (!groups.has(key)) groups.set(key, []);
  groups.get(key).push(f);
}
mkdirSync("reports/mutation", { recursive: true });
const started = performance.now();
const load = [loadavg()[0]];
// The timeout timer (stryker.config.mjs): tight on a quiet machine, where a mutant's run keeps to
// the initial run's pace, generous on a busy one, where a tight timer times out mutants that would
// survive. MUTATION_TIMEOUT_FACTOR and MUTATION_TIMEOUT_MS, when set, choose it instead.
const quiet = load[0] < availableParallelism();
const timer = {
  MUTATION_TIMEOUT_FACTOR: process.env.MUTATION_TIMEOUT_FACTOR ?? (quiet ? "1.5" : "2"),
  MUTATION_TIMEOUT_MS: process.env.MUTATION_TIMEOUT_MS ?? (quiet ? "3000" : "5000"),
};
console.log(
  `mutation: load average ${load[0].toFixed(1)} on ${availableParallelism()} cores (${quiet ? "quiet" : "busy"}): ` +
    `timeout ${timer.MUTATION_TIMEOUT_FACTOR} x the initial run + ${timer.MUTATION_TIMEOUT_MS} ms`,
);
const rows = [];
for (const [tests, group] of groups) {
  const t0 = performance.now();
  const r = spawnSync("npx", ["stryker", "run"], {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, ...timer, MUTATE: group.join(","), MUTATE_TESTS: tests },
  });
  load.push(loadavg()[0]);
  if (r.status !== 0) {
    console.error(`error: stryker failed on ${group.join(", ")} (exit ${r.status})`);
    process.exit(1);
  }
  const name = group.map((f) => f.replace(/[/.]/g, "_")).join("+");
  const report = JSON.parse(readFileSync(`reports/mutation/${name}.json`, "utf8"));
  const seconds = (performance.now() - t0) / 1000;
  for (const file of group) rows.push({ file, tests: TABLE[file], run: group, seconds, ...score(report, file) });
}
const minutes = (performance.now() - started) / 60000;
const summary = {
  date: new Date().toISOString(),
  minutes,
  loadAverage1m: load,
  timeoutFactor: Number(timer.MUTATION_TIMEOUT_FACTOR),
  timeoutMS: Number(timer.MUTATION_TIMEOUT_MS),
  rows,
};
writeFileSync("reports/mutation/summary.json", JSON.stringify(summary, null, 2) + "\n");
console.log("\n| file | mutants | score | survivors | timeouts | seconds |\n| --- | --- | --- | --- | --- | --- |");
for (const r of rows) {
  const shared = r.run.length > 1 ? ` (one run: ${r.run.length} files)` : "";
  console.log(
    `| ${r.file} | ${r.mutants} | ${r.score.toFixed(1)}% | ${r.judged - r.caught} | ${r.timeouts} | ${r.seconds.toFixed(0)}${shared} |`,
  );
}
console.log(
  `\n${rows.length} files, ${groups.size} Stryker runs, in ${minutes.toFixed(1)} minutes ` +
    `(1-minute load average ${load.map((l) => l.toFixed(1)).join(", ")}); survivors in reports/mutation/summary.json`,
);
