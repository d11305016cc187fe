/** Shared by run, submit and eval: run a batch, print the spec §7 report, write JSON safely. */
import { renameSync, rmSync, writeFileSync } from "node:fs";
import { ConfigError } from "../env/config.js";
import type { BatchResult } from "../arena/runner.js";
import { runStrategies } from "../arena/batch.js";
import { summarize, type Summary } from "../arena/stats.js";
import { formatErrors, formatPaired, formatTable } from "./format.js";
import {
  configFromOptions,
  printModeLine,
  sandboxFromOptions,
  type SandboxOptions,
  type SimOptions,
} from "./options.js";
import { progressBar } from "./progress.js";

export interface RunOptions extends SimOptions, SandboxOptions {
  simulations: number;
  seedStart: number;
  workers: number;
  json?: string;
  /** `run --trace`: the tape's file, and its seed (default: the first seed). */
  trace?: string;
  traceSeed?: number;
}

/** Writes aside, then renames: a reader never sees half a file. `indent` 0 writes compact JSON. */
export function writeJsonAtomic(path: string, value: unknown, indent = 2): void {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, JSON.stringify(value, null, indent) + "\n");
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw new ConfigError(`cannot write ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export async function runAndReport(
  strategies: string[],
  o: RunOptions,
  sandboxByDefault = false,
): Promise<{ batch: BatchResult; summary: Summary }> {
  const { sandbox, limits } = sandboxFromOptions(o, sandboxByDefault);
  printModeLine(sandbox, limits);
  const bar = progressBar("simulating");
  const batch = await runStrategies({
    sandbox,
    limits,
    strategies,
    config: configFromOptions(o),
    simulations: o.simulations,
    seedStart: o.seedStart,
    workers: o.workers,
    ...(o.trace ? { traceSeed: o.traceSeed ?? o.seedStart } : {}),
    onProgress: (d, t) => bar.update(d, t),
  });
  bar.finish();
  const summary = summarize(batch.results);
  const steps = batch.seeds.length * batch.config.steps;
  console.log(formatTable(summary));
  const paired = formatPaired(summary);
  if (paired) console.log(paired);
  const errors = formatErrors(summary);
  if (errors) console.log(errors);
  console.log(
    `seeds ${batch.seeds[0]}..${batch.seeds[batch.seeds.length - 1]}, ${batch.config.steps} steps, epoch ${batch.config.epochLen}; ` +
      `${batch.wallSeconds.toFixed(2)} s on ${batch.workers} worker(s), ${(steps / batch.wallSeconds / 1000).toFixed(0)}k steps/s`,
  );
  return { batch, summary };
}

export function jsonReport(batch: BatchResult, summary: Summary): unknown {
  return {
    strategies: batch.strategies,
    config: batch.config,
    seeds: { start: batch.seeds[0], count: batch.seeds.length },
    summary,
    simulations: batch.results.map((r) => ({
      seed: r.seed,
      market: r.market,
      finalPrice: r.finalPrice,
      pools: r.pools.map((p) => ({
        name: p.name,
        edge: p.edge,
        arbEdge: p.arbEdge,
        retailEdge: p.retailEdge,
        finalWeight: p.finalWeight,
        errors: p.errors,
        epochs: p.epochs,
      })),
    })),
  };
}
