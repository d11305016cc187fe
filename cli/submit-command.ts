/** `propamm submit`: validate, run, and write a submission folder with its receipt. */
import type { Command } from "commander";
import { defaultOutput, prepareOutputDir } from "./outputs.js";
import type { RunOptions } from "./report.js";
import { runAndReport } from "./report.js";
import { addRunOptions } from "./run-command.js";
import { writeSubmission } from "./submit.js";
import { validateAll } from "./validate-command.js";
import { sandboxFromOptions } from "./options.js";

export function addSubmitCommand(program: Command): void {
  addRunOptions(
    program
      .command("submit")
      .description(
        `validate, run, and write ${defaultOutput("submissions")}/submission_<timestamp>/ with the files and receipt.json`,
      )
      .argument("<strategy...>", "strategies (up to 16)")
      .option("--out-dir <dir>", "where submission folders go", defaultOutput("submissions")),
    250,
    true,
  ).action(async (strategies: string[], o: RunOptions & { outDir: string }) => {
    prepareOutputDir(o.outDir, "--out-dir");
    const { sandbox, limits } = sandboxFromOptions(o, true);
    if (!(await validateAll(strategies, { sandbox, limits }))) {
      console.error("submit: validation failed; nothing was written");
      process.exitCode = 1;
      return;
    }
    const { batch, summary } = await runAndReport(strategies, o, true);
    const dir = writeSubmission(o.outDir, batch, summary);
    console.log(`wrote ${dir}/receipt.json`);
  });
}
