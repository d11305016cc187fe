/**
 * `propamm validate`: every check of arena/validate.ts on each strategy; exit 1 if any fails.
 * Each strategy is checked in a child process of its own (sandboxed with `--sandbox`), so that
 * nothing it does can end the command early or make it pass: no report is a failure.
 */
import type { Command } from "commander";
import type { Limits } from "../arena/runner.js";
import { validateInChild } from "../arena/sandbox.js";
import { sandboxModeLine } from "../arena/sandbox.js";
import { addSandboxOptions, sandboxFromOptions, type SandboxOptions } from "./options.js";

/** Validates each strategy, printing one line per strategy and one per failed check; true when all pass. */
export async function validateAll(
  strategies: string[],
  mode: { sandbox: boolean; limits?: Partial<Limits> } = { sandbox: false },
): Promise<boolean> {
  let ok = true;
  for (const spec of strategies) {
    const report = await validateInChild(spec, { sandboxed: mode.sandbox, limits: mode.limits });
    if (report.failures.length === 0) {
      console.log(`ok    ${spec} (${report.name}): ${report.checks.length} checks passed`);
    } else {
      ok = false;
      console.log(`FAIL  ${spec}${report.name ? ` (${report.name})` : ""}`);
      for (const f of report.failures) console.log(`  [${f.check}] ${f.detail}`);
    }
  }
  return ok;
}

export function addValidateCommand(program: Command): void {
  const cmd = program
    .command("validate")
    .description(
      "check strategies: load, name, finite monotone concave quotes, read-only quotes, hooks that do not throw",
    )
    .argument("<strategy...>", "strategy files or built-in names");
  addSandboxOptions(cmd, false).action(async (strategies: string[], o: SandboxOptions) => {
    const { sandbox, limits } = sandboxFromOptions(o, false);
    console.error(sandbox ? sandboxModeLine(limits) : "strategies: child process per strategy (trusted local files)");
    if (!(await validateAll(strategies, { sandbox, limits }))) process.exitCode = 1;
  });
}
