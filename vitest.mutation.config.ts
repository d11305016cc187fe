import { defineConfig } from "vitest/config";

// The test files one mutation run may use (bench/mutation.mjs sets MUTATE_TESTS); all of them otherwise.
const tests = process.env.MUTATE_TESTS?.split(",").filter(Boolean);

export default defineConfig({
  test: {
    include: tests && tests.length > 0 ? tests : ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
