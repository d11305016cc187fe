/** `propamm run`: strategies against each other and the normalizer, and the spec §7.3 table. */
import type { Command } from "commander";
import { BUILTIN_HELP } from "../env/builtins/index.js";
import { ConfigError } from "../env/config.js";
import { defaultWorkers } from "../arena/runner.js";
import { addSandboxOptions, addSimulationOptions, integer } from "./options.js";
import { prepareOutputFile } from "./outputs.js";
import { jsonReport, runAndReport, type RunOptions, writeJsonAtomic } from "./report.js";

/**
 * What run and submit share: how many seeds, the first one, worker threads, the sandbox and its
 * limits, and every simulation option.
 */
export function addRunOptions(cmd: Command, simulations: number, sandboxByDefault = false): Command {
  return addSimulationOptions(
    addSandboxOptions(cmd, sandboxByDefault)
      .option("--simulations <n>", "number of simulations (seeds)", integer(1), simulations)
      .option("--seed-start <n>", "first seed", integer(0), 0)
      .option(
        "--workers <n>",
        "worker threads (results are identical for any count; 0: this thread, unwatched)",
        integer(0, 256),
        defaultWorkers(),
      ),
  );
}

export function addRunCommand(program: Command): void {
  addRunOptions(
    program
      .command("run")
      .description(`run strategies against each other and the normalizer (${BUILTIN_HELP})`)
      .argument("<strategy...>", "strategies (up to 16)")
      .option("--json <file>", "also write per-simulation results and statistics as JSON")
      .option("--trace <file>", "also write the tape of one simulation (docs/trace.md): the first seed's")
      .option("--trace-seed <n>", "the seed --trace records (one of the run's seeds)", integer(0)),
    100,
  ).action(async (strategies: string[], o: RunOptions) => {
    if (o.traceSeed !== undefined && !o.trace) throw new ConfigError("--trace-seed needs --trace <file>");
    if (o.json) prepareOutputFile(o.json, "--json");
    if (o.trace) prepareOutputFile(o.trace, "--trace");
    const { batch, summary } = await runAndReport(strategies, o);
    if (o.json) {
      writeJsonAtomic(o.json, jsonReport(batch, summary));
      console.log(`wrote ${o.json}`);
    }
    if (o.trace && batch.trace) {
      const t = batch.trace;
      // Compact: the tape is mostly long number columns.
      writeJsonAtomic(o.trace, t, 0);
      console.log(`wrote ${o.trace} (seed ${t.seed}: ${t.steps.count} steps, ${t.trades.step.length} trades)`);
    }
  });
}
