// `npm run mutation`: Stryker over the engine and the policy runtime, one run per source file
// with only that file's own tests (a mutant counts as caught only by the tests that claim to
// check its file). Prints each file's score and writes reports/mutation/<file>.{html,json} and
// reports/mutation/summary.json. Not part of `npm test`: the whole run takes minutes.
//
//   npm run mutation                       # every file in the table
//   npm run mutation -- env/router.ts      # some of them
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";

/** Each mutated file and the test files that are its judges. */
export const TABLE = {
  "env/abi.ts": ["test/env/abi.test.ts"],
  "env/arbitrage.ts": ["test/env/arbitrage.test.ts"],
  "env/capital.ts": ["test/env/capital.test.ts"],
  "env/pool.ts": ["test/env/pool.test.ts"],
  "env/router.ts": ["test/env/router.refine.test.ts", "test/env/router.test.ts"],
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
  return { mutants: mutants.length, caught, judged, score: judged === 0 ? 100 : (100 * caught) / judged, survivors };
}

const files = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(TABLE);
for (const f of files) {
  if (!TABLE[f]) {
    console.error(`error: ${f} is not in bench/mutation.mjs's table (${Object.keys(TABLE).join(", ")})`);
    process.exit(2);
  }
}
mkdirSync("reports/mutation", { recursive: true });
const started = performance.now();
const rows = [];
for (const file of files) {
  const t0 = performance.now();
  const r = spawnSync("npx", ["stryker", "run"], {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, MUTATE: file, MUTATE_TESTS: TABLE[file].join(",") },
  });
  if (r.status !== 0) {
    console.error(`error: stryker failed on ${file} (exit ${r.status})`);
    process.exit(1);
  }
  const report = JSON.parse(readFileSync(`reports/mutation/${file.replace(/[/.]/g, "_")}.json`, "utf8"));
  rows.push({ file, tests: TABLE[file], seconds: (performance.now() - t0) / 1000, ...score(report, file) });
}
const minutes = (performance.now() - started) / 60000;
writeFileSync("reports/mutation/summary.json", JSON.stringify({ minutes, rows }, null, 2) + "\n");
console.log("\n| file | mutants | score | survivors | seconds |\n| --- | --- | --- | --- | --- |");
for (const r of rows) {
  console.log(
    `| ${r.file} | ${r.mutants} | ${r.score.toFixed(1)}% | ${r.judged - r.caught} | ${r.seconds.toFixed(0)} |`,
  );
}
console.log(`\n${rows.length} files in ${minutes.toFixed(1)} minutes; survivors in reports/mutation/summary.json`);
