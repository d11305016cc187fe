/** `propamm export <checkpoint> --format ts|js|rs -o <file>`: a trained policy as a standalone strategy. */
import type { Command } from "commander";
import { renameSync, writeFileSync } from "node:fs";
import { ConfigError } from "../env/config.js";
import { ExportError, exportFormatFromPath, exportPolicyDetails } from "../agents/export.js";
import { defaultOutput, prepareOutputFile } from "./outputs.js";
import { integer } from "./options.js";

interface ExportOptions {
  format?: string;
  out?: string;
  name?: string;
  nStrategies?: number;
}

export function addExportCommand(program: Command): void {
  program
    .command("export")
    .description(
      "write a trained policy as a self-contained strategy file (no ML runtime): TypeScript, JavaScript or Rust",
    )
    .argument("<checkpoint>", "run folder or checkpoint directory")
    .option("--format <fmt>", "ts | js | rs (default: from -o's extension, else ts)")
    .option(
      "-o, --out <file>",
      `output file (default: ${defaultOutput("export")}/<a name derived from the checkpoint>)`,
    )
    .option("--name <name>", "the strategy's name (default: the label propamm eval shows)")
    .option(
      "--n-strategies <n>",
      "rs only: strategies per simulation, for the fees quoted before the first hook",
      integer(1, 16),
    )
    .action((checkpoint: string, o: ExportOptions) => {
      const format = o.format ?? (o.out ? exportFormatFromPath(o.out) : undefined) ?? "ts";
      if (format !== "ts" && format !== "js" && format !== "rs")
        throw new ConfigError(`--format must be ts, js or rs (got '${format}')`);
      let details;
      try {
        details = exportPolicyDetails(checkpoint, format, { name: o.name, nStrategies: o.nStrategies });
      } catch (err) {
        if (err instanceof ExportError) throw new ConfigError(err.message);
        throw err;
      }
      const out = o.out ?? defaultOutput("export", details.suggestedFileName);
      prepareOutputFile(out, "--out");
      const temp = `${out}.${process.pid}.tmp`;
      writeFileSync(temp, details.source);
      renameSync(temp, out);
      console.log(
        `wrote ${out}: ${details.name} (${format}) from ${details.checkpointDir}, ${details.timesteps} timesteps`,
      );
      if (format === "rs") console.log(`build: rustc --edition 2021 --crate-type cdylib -O ${out}`);
      else console.log(`use it: npx propamm run ${out} starter`);
    });
}
