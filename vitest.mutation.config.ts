import { defineConfig } from "vitest/config";

// The test files one mutation run may use (bench/mutation.mjs sets MUTATE_TESTS); all of them otherwise.
const tests = process.env.MUTATE_TESTS?.split(",").filter(Boolean);

export default defineConfig({
  test: {
    include: tests && tests.length > 0 ? tests : ["test/**/*.test.ts"],
    // Stryker's vitest runner starts a worker for every mutant's run anyway; not isolating the
    // test files inside that run saves about a third of the per-mutant cost (measured on
    // env/router.ts lines 120-160: 45 s instead of 66 s for 63 mutants, the same verdict on each).
    // Mutants are switched at run time (a global), and static ones reload the environment.
    isolate: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
