/** `propamm run`: strategies against each other and the normalizer, and the spec §7.3 table. */
import type { Command } from "commander";
import { BUILTIN_HELP } from "../env/builtins/index.js";
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
      .option("--json <file>", "also write per-simulation results and statistics as JSON"),
    100,
  ).action(async (strategies: string[], o: RunOptions) => {
    if (o.json) prepareOutputFile(o.json, "--json");
    const { batch, summary } = await runAndReport(strategies, o);
    if (o.json) {
      writeJsonAtomic(o.json, jsonReport(batch, summary));
      console.log(`wrote ${o.json}`);
    }
  });
}
