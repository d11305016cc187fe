// Mutation testing: `npm run mutation` (bench/mutation.mjs), not part of `npm test`.
// bench/mutation.mjs runs Stryker once per source file with only that file's own tests
// (MUTATE = the file, MUTATE_TESTS = its test files), so a mutant is judged by the tests that
// claim to check that file, and each file gets its own HTML and JSON report.
const target = process.env.MUTATE;
const name = target ? target.replace(/[/.]/g, "_") : "all";

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  plugins: ["@stryker-mutator/vitest-runner"],
  vitest: { configFile: "vitest.mutation.config.ts", related: false },
  mutate: target ? [target] : ["env/**/*.ts", "runtime/**/*.ts"],
  coverageAnalysis: "perTest",
  reporters: ["html", "json", "clear-text", "progress"],
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  clearTextReporter: { allowColor: false, logTests: false },
  concurrency: 2,
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
  ignorePatterns: ["dist", "runs", ".venv", "checkpoints", "reports", "submissions", "demo", "eval"],
  // A mutant that loops forever costs this much over its tests' own time (times 1.5): a few seconds,
  // not twenty, keep such mutants from dominating a run.
  timeoutMS: 4000,
};
