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
  // A mutant's tests may take timeoutFactor times their time in the initial run, plus timeoutMS
  // and the initial run's overhead. Loops that never end mostly meet Stryker's hit limit (100
  // times the initial run's passes over the mutant); the rest meet this timer, and each then costs
  // the timer and a restart of its test runner. Other jobs on the machine slow a mutant's run
  // (each one also starts a vitest worker, 0.5 to 1 s under load) well past the initial run: with
  // 1.5 and 4 s, at load average 10 to 18, the router had 78 timer timeouts, among them mutants
  // shown equivalent (survivors counted as caught, 10 to 30 s lost on each), and abi.ts, whose
  // tests take 0.15 s, had a sixth of its mutants time out with 2 and 3 s. So bench/mutation.mjs
  // picks the timer from the load when it starts: 1.5 and 3 s on a quiet machine (load below its
  // core count), where a mutant's run keeps to its initial run's pace; 2 and 5 s on a busy one.
  timeoutFactor: Number(process.env.MUTATION_TIMEOUT_FACTOR ?? 2),
  timeoutMS: Number(process.env.MUTATION_TIMEOUT_MS ?? 5000),
};
