// Mutation testing: `npm run mutation` (bench/mutation.mjs), not part of `npm test`.
// bench/mutation.mjs runs Stryker once per source file (or per group of files with the same
// judges: MUTATE is then comma-separated) with only that file's own tests (MUTATE_TESTS), so a
// mutant is judged by the tests that claim to check its file; each run writes its own HTML and
// JSON report.
const targets = process.env.MUTATE?.split(",").filter(Boolean) ?? [];
const name = targets.length > 0 ? targets.map((f) => f.replace(/[/.]/g, "_")).join("+") : "all";

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  plugins: ["@stryker-mutator/vitest-runner"],
  vitest: { configFile: "vitest.mutation.config.ts", related: false },
  mutate: targets.length > 0 ? targets : ["env/**/*.ts", "runtime/**/*.ts"],
  coverageAnalysis: "perTest",
  reporters: ["html", "json", "clear-text", "progress"],
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  clearTextReporter: { allowColor: false, logTests: false },
  concurrency: 2,
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
  ignorePatterns: ["dist", "runs", ".venv", "checkpoints", "reports", "submissions", "demo", "eval"],
  // A mutant's tests may take timeoutFactor times their time in the initial run, plus timeoutMS.
  // Loops that never end mostly hit Stryker's own hit limit (100 times the initial run's passes
  // over the mutant) long before; the rest are caught by this timer, and each then costs the
  // timer and a restart of its test runner. Under load from other jobs a mutant's tests run
  // slower than in the initial run: with 1.5 and 4 s, the router's equivalent mutants were
  // "caught" by the timer at load average 10 to 18 (a survivor counted as caught, and 10 to 30 s
  // lost on each). A factor of 2 keeps that margin in proportion to the tests' time.
  timeoutFactor: 2,
  timeoutMS: 3000,
};
