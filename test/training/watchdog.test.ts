/**
 * ES rollout workers watch opponents from files (training/rollout-pool.ts, arena/watch.ts): a
 * call that does not return within the limit stops the run with the file and the call named,
 * instead of hanging it; watching changes no number (the same run with 0 workers, unwatched,
 * gives the same metrics).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { StrategyStoppedError } from "../../arena/runner.js";
import { exitCodeOf } from "../../env/errors.js";
import type { TrainingEnvConfig } from "../../training/opponent-pool.js";
import { train, type TrainOptions } from "../../training/train.js";
import { metricsOf } from "../helpers/metrics.js";
import { tempDir } from "../helpers/tmp.js";

const tmp = tempDir("propamm-watchdog-");
const CP = "const g = input * 0.997; return side === 0 ? (x * g) / (y + g) : (y * g) / (x + g);";

function options(out: string, opponent: string, over: Partial<TrainOptions> = {}): TrainOptions {
  const env: TrainingEnvConfig = {
    opponents: [opponent],
    rewardBaseline: "normalizer",
    sim: { steps: 300, epochLen: 150 },
  };
  return {
    algo: "es",
    timesteps: 100,
    seed: 3,
    out,
    resume: false,
    workers: 1,
    env,
    hyper: { hidden: [8], population: 4, seedsPerGeneration: 2 },
    evalEvery: 0,
    evalEpisodes: 1,
    checkpointEvery: 1,
    ...over,
  };
}

describe("ES training with an opponent from a file", () => {
  it("runs watched in the rollout workers with the numbers of an unwatched run", async () => {
    const file = join(tmp, "benign.mjs");
    writeFileSync(file, `export default { name: "benign", computeSwap(side, input, x, y) { ${CP} } };`);
    await train(options(join(tmp, "watched"), file));
    await train(options(join(tmp, "bare"), file, { workers: 0 }));
    expect(metricsOf(join(tmp, "watched"))).toEqual(metricsOf(join(tmp, "bare")));
  });

  it("a call that never returns stops the run, named with its input, instead of hanging it", async () => {
    const file = join(tmp, "spins.mjs");
    // Quotes normally at first, then loops: the watchdog must catch it mid-run.
    writeFileSync(
      file,
      `let n = 0; export default { name: "spins", computeSwap(side, input, x, y) { if (++n > 500) for (;;) {} ${CP} } };`,
    );
    const run = train(options(join(tmp, "spins"), file));
    await expect(run).rejects.toThrow(StrategyStoppedError);
    await run.catch((err: unknown) => {
      expect(String(err)).toMatch(
        /spins\.mjs: a call did not return within the 1000 ms time limit in computeSwap\(side=\d, inputAmount=.*; training stopped/,
      );
      expect(exitCodeOf(err)).toBe(1);
    });
  });
});
