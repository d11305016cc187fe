#!/usr/bin/env node
/** The `propamm` command: run, validate and submit strategies (the seed's workflow). */
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { ConfigError } from "../env/config.js";
import { EXIT_BAD_INPUT, exitCodeOf } from "../env/errors.js";
import { BUILTIN_HELP } from "../env/builtins/index.js";
import { defaultWorkers } from "../arena/runner.js";
import { jsonReport, runAndReport, type RunOptions, writeJsonAtomic } from "./report.js";
import { defaultOutput, prepareOutputDir, prepareOutputFile } from "./outputs.js";
import { validateStrategy } from "../arena/validate.js";
import { addSimulationOptions, integer } from "./options.js";
import { writeSubmission } from "./submit.js";
import { DEFAULT_LIMITS } from "../server/handler.js";
import { GymServer } from "../server/serve.js";
import { addTrainCommand } from "./train-command.js";
import { addEvalCommand } from "./eval-command.js";
import { addSweepCommand } from "./sweep-command.js";
import { addDemoCommand } from "./demo-command.js";
import { addExportCommand } from "./export-command.js";

async function validateAll(strategies: string[]): Promise<boolean> {
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

function addRunOptions(cmd: Command, simulations: number): Command {
  return addSimulationOptions(
    cmd
      .option("--simulations <n>", "number of simulations (seeds)", integer(1), simulations)
      .option("--seed-start <n>", "first seed", integer(0), 0)
      .option(
        "--workers <n>",
        "worker threads (results are identical for any count)",
        integer(0, 256),
        defaultWorkers(),
      ),
  );
}

export function buildProgram(): Command {
  const program = new Command();
  // Set before subcommands are added, which inherit it: errors come back to main() for the exit code.
  program.exitOverride();
  program
    .name("propamm")
    .description(
      "prop-amm gym: simulate, validate and submit fee-setting strategies for competing AMMs; train, evaluate and export agents; serve the gym over ZeroMQ",
    );

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

  program
    .command("validate")
    .description(
      "check strategies: load, name, finite monotone concave quotes, read-only quotes, hooks that do not throw",
    )
    .argument("<strategy...>", "strategy files or built-in names")
    .action(async (strategies: string[]) => {
      if (!(await validateAll(strategies))) process.exitCode = 1;
    });

  addRunOptions(
    program
      .command("submit")
      .description(
        `validate, run, and write ${defaultOutput("submissions")}/submission_<timestamp>/ with the files and receipt.json`,
      )
      .argument("<strategy...>", "strategies (up to 16)")
      .option("--out-dir <dir>", "where submission folders go", defaultOutput("submissions")),
    250,
  ).action(async (strategies: string[], o: RunOptions & { outDir: string }) => {
    prepareOutputDir(o.outDir, "--out-dir");
    if (!(await validateAll(strategies))) {
      console.error("submit: validation failed; nothing was written");
      process.exitCode = 1;
      return;
    }
    const { batch, summary } = await runAndReport(strategies, o);
    const dir = writeSubmission(o.outDir, batch, summary);
    console.log(`wrote ${dir}/receipt.json`);
  });

  addTrainCommand(program);
  addEvalCommand(program);
  addSweepCommand(program);
  addDemoCommand(program);
  addExportCommand(program);

  program
    .command("serve")
    .description("serve the gym environment over ZeroMQ (protocol: docs/protocol.md)")
    .option("--bind <endpoint>", "ZeroMQ endpoint, tcp://host:port or ipc://path", "tcp://127.0.0.1:5555")
    .option("--max-message-bytes <n>", "largest request answered", integer(1024), DEFAULT_LIMITS.maxMessageBytes)
    .option("--max-sessions <n>", "open sessions at once", integer(1, 100000), DEFAULT_LIMITS.maxSessions)
    .option("--max-envs <n>", "environments per session", integer(1, 65536), DEFAULT_LIMITS.maxEnvsPerSession)
    .option(
      "--idle-timeout <s>",
      "seconds after which an unused session is freed",
      integer(1),
      DEFAULT_LIMITS.idleTimeoutS,
    )
    .action(
      async (o: {
        bind: string;
        maxMessageBytes: number;
        maxSessions: number;
        maxEnvs: number;
        idleTimeout: number;
      }) => {
        const tcp = /^tcp:\/\/(.+):(\d+)$/.exec(o.bind);
        if (tcp && (Number(tcp[2]) < 1 || Number(tcp[2]) > 65535)) {
          throw new ConfigError(`cannot bind ${o.bind}: the port must be in [1, 65535]`);
        }
        const server = new GymServer({
          bind: o.bind,
          maxMessageBytes: o.maxMessageBytes,
          maxSessions: o.maxSessions,
          maxEnvsPerSession: o.maxEnvs,
          idleTimeoutS: o.idleTimeout,
          log: (line) => console.error(`[serve] ${line}`),
        });
        try {
          await server.start();
        } catch (err) {
          throw new ConfigError(`cannot bind ${o.bind}: ${err instanceof Error ? err.message : String(err)}`);
        }
        console.error(`[serve] prop-amm gym listening on ${o.bind} (protocol 1); Ctrl-C to stop`);
        await new Promise<void>((resolveStop) => {
          const stop = (signal: string): void => {
            console.error(`[serve] ${signal}: shutting down`);
            void server.stop().then(resolveStop);
          };
          process.once("SIGINT", () => stop("SIGINT"));
          process.once("SIGTERM", () => stop("SIGTERM"));
        });
      },
    );

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

/** Exit codes: 0 success, 1 a strategy failed validation, 2 bad input (arguments, files, config). */

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

await main(process.argv);
