/** `propamm validate`: every check of arena/validate.ts on each strategy; exit 1 if any fails. */
import type { Command } from "commander";
import { validateStrategy } from "../arena/validate.js";

/** Validates each strategy, printing one line per strategy and one per failed check; true when all pass. */
export async function validateAll(strategies: string[]): Promise<boolean> {
  let ok = true;
  for (const spec of strategies) {
    const report = await validateStrategy(spec);
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
  program
    .command("validate")
    .description(
      "check strategies: load, name, finite monotone concave quotes, read-only quotes, hooks that do not throw",
    )
    .argument("<strategy...>", "strategy files or built-in names")
    .action(async (strategies: string[]) => {
      if (!(await validateAll(strategies))) process.exitCode = 1;
    });
}
