#!/usr/bin/env node
/**
 * The `propamm` command: a table of commands, each in its own file, and the one place where an
 * error becomes an exit code.
 */
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { ConfigError } from "../env/config.js";
import { EXIT_BAD_INPUT, exitCodeOf } from "../env/errors.js";
import { addDemoCommand } from "./demo-command.js";
import { addEvalCommand } from "./eval-command.js";
import { addExploitCommand } from "./exploit-command.js";
import { addExportCommand } from "./export-command.js";
import { addPlatformCommand } from "./platform-command.js";
import { addRunCommand } from "./run-command.js";
import { addServeCommand } from "./serve-command.js";
import { addSubmitCommand } from "./submit-command.js";
import { addSweepCommand } from "./sweep-command.js";
import { addTournamentCommand } from "./tournament-command.js";
import { addTrainCommand } from "./train-command.js";
import { addValidateCommand } from "./validate-command.js";

/** The commands, in the order `propamm --help` lists them. */
const COMMANDS: readonly ((program: Command) => void)[] = [
  addRunCommand,
  addValidateCommand,
  addSubmitCommand,
  addTrainCommand,
  addEvalCommand,
  addTournamentCommand,
  addExploitCommand,
  addSweepCommand,
  addDemoCommand,
  addExportCommand,
  addServeCommand,
  addPlatformCommand,
];

export function buildProgram(): Command {
  const program = new Command();
  // Set before subcommands are added, which inherit it: errors come back to main() for the exit code.
  program.exitOverride();
  program
    .name("propamm")
    .description(
      "prop-amm gym: simulate, validate and submit fee-setting strategies for competing AMMs; train, evaluate and export agents; serve the gym over ZeroMQ",
    );
  for (const add of COMMANDS) add(program);
  usageHints(program);
  return program;
}

/**
 * An argument error prints commander's one line (`error: ...`) and where the usage is, not the
 * whole help: forty lines of options would scroll the line that matters out of sight. An
 * option parser that rejects a value with a ConfigError is reported the same way.
 */
export function usageHints(program: Command): void {
  program.showHelpAfterError(`(run '${program.name()} --help' for usage)`);
  for (const cmd of program.commands) {
    cmd.showHelpAfterError(`(run '${program.name()} ${cmd.name()} --help' for usage)`);
    for (const option of cmd.options) {
      const parse = option.parseArg;
      if (!parse) continue;
      option.parseArg = <T>(value: string, previous: T): T => {
        try {
          return parse(value, previous);
        } catch (err) {
          if (err instanceof ConfigError) throw new InvalidArgumentError(err.message);
          throw err;
        }
      };
    }
  }
}

/** Exit codes (env/errors.ts): 0 success, 1 a strategy failed validation or the run failed, 2 bad input. */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed the message (or the help).
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    const exitCode = exitCodeOf(err);
    if (exitCode === EXIT_BAD_INPUT) {
      console.error(`error: ${(err as Error).message}`);
      process.exitCode = exitCode;
      return;
    }
    // Anything else is a failure of the run, not of the input: say what, keep the stack for debugging.
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    if (process.env.PROPAMM_DEBUG) console.error(err);
    else console.error("(set PROPAMM_DEBUG=1 for the stack trace)");
    process.exitCode = exitCode;
  }
}

/**
 * Processes the platform starts must not outlive it. A job (platform/worker.ts, PROPAMM_JOB_GROUP)
 * runs in its own process group: when the worker that started it dies (kill -9), nothing else
 * would stop it, so it notices its parent is gone and kills its group (itself and its sandbox
 * processes). A worker process of `propamm platform --role all` (PROPAMM_EXIT_WITH_PARENT)
 * exits the same way; its job then notices it in turn.
 */
if (process.env.PROPAMM_JOB_GROUP === "1" || process.env.PROPAMM_EXIT_WITH_PARENT === "1") {
  const parent = process.ppid;
  const group = process.env.PROPAMM_JOB_GROUP === "1";
  setInterval(() => {
    if (process.ppid === parent) return;
    try {
      process.kill(group ? -process.pid : process.pid, "SIGKILL");
    } catch {
      process.exit(137);
    }
  }, 500).unref();
}

await main(process.argv);
