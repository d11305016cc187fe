/**
 * Option parsing shared by the commands: every default (spec §2.1) overridable, every value checked.
 * The simulation's and the env's options come from the configuration schema (env/options.ts,
 * gym/options.ts): flag, default, check and help are declared there, once.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import type { SimConfig } from "../env/config.js";
import { PIN_OPTIONS, SIM_OPTIONS, commandDefault, type OptionSpec } from "../env/options.js";
import { ENV_OPTIONS, type EnvConfig } from "../gym/options.js";
import { DEFAULT_LIMITS, type Limits } from "../arena/runner.js";
import { ConfigError } from "../env/errors.js";
import { IN_PROCESS_MODE_LINE, sandboxModeLine } from "../arena/sandbox.js";

export function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;
      throw new InvalidArgumentError(`expected ${range}.`);
    }
    return n;
  };
}

export function real(check: (v: number) => boolean, range: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || !check(n)) throw new InvalidArgumentError(`expected ${range}.`);
    return n;
  };
}

/**
 * A line-up given on the command line, with commas or spaces between strategies (as
 * `--opponent-pool` takes them): `none` alone is no opponents (one strategy and the normalizer,
 * the original challenge's setting); otherwise the strategies as given.
 */
export function lineUp(given: readonly string[], flag: string): string[] {
  const values = given.flatMap((v) => v.split(",")).map((v) => v.trim());
  if (values.some((v) => v === "")) throw new ConfigError(`${flag}: an empty strategy name in ${given.join(" ")}`);
  if (!values.includes("none")) return values;
  if (values.length > 1) throw new ConfigError(`${flag}: 'none' (no opponents) stands alone, got ${values.join(" ")}`);
  return [];
}

/** A line-up for messages: its strategies, or that there are none. */
export function lineUpText(values: readonly string[]): string {
  return values.length > 0 ? values.join(", ") : "no opponents (the normalizer only)";
}

/** Parsed option values by commander attribute name (`--epoch-len` -> epochLen). */
export type SimOptions = { readonly [attribute: string]: unknown };

/** The parser for a schema option's command-line value: its check, its message. */
function parserFor(spec: OptionSpec): ((value: string) => unknown) | undefined {
  const { check } = spec;
  const fail = (): never => {
    throw new InvalidArgumentError(`expected ${check.expected}.`);
  };
  switch (check.kind) {
    case "integer":
      return (value) => {
        const n = /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
        return check.valid(n) ? n : fail();
      };
    case "number":
      return (value) => {
        const n = value.trim() === "" ? NaN : Number(value);
        return check.valid(n) ? n : fail();
      };
    case "choice":
      return (value) => (check.valid(value) ? value : fail());
    default:
      return undefined;
  }
}

/** The help of a schema option on the command line; commander appends a real default itself. */
function flagHelp(spec: OptionSpec): string {
  const help = spec.flagHelp ?? spec.help;
  return spec.defaultText ? `${help} (default: ${spec.defaultText})` : help;
}

/** A commander option for a schema row; `command` picks a command's own default. */
export function schemaOption(spec: OptionSpec, command?: string): Option {
  if (spec.flag === null) throw new Error(`option ${spec.key} has no command-line flag`);
  const option = new Option(spec.flag, flagHelp(spec));
  const parse = parserFor(spec);
  if (parse) option.argParser(parse);
  const d = commandDefault(spec, command);
  // A boolean's default is the flag's absence (commander sets `--no-x` options to true itself).
  if (d !== undefined && spec.check.kind !== "boolean") option.default(Array.isArray(d) ? [...(d as unknown[])] : d);
  return option;
}

/** The attribute commander stores a row's value under (`--epoch-len` -> epochLen, `--no-retail` -> retail). */
function attribute(spec: OptionSpec): string {
  return new Option(spec.flag ?? "").attributeName();
}

/** The value a row takes from parsed options; a positive boolean flag is true only when given. */
function optionValue(spec: OptionSpec, o: SimOptions): unknown {
  const v = o[attribute(spec)];
  return spec.check.kind === "boolean" && !spec.flag?.startsWith("--no-") ? v === true : v;
}

const withFlag = (rows: readonly OptionSpec[]): OptionSpec[] => rows.filter((o) => o.flag !== null);

export function addSimulationOptions(cmd: Command): Command {
  for (const spec of withFlag([...SIM_OPTIONS, ...PIN_OPTIONS])) cmd.addOption(schemaOption(spec, cmd.name()));
  return cmd;
}

export function configFromOptions(o: SimOptions): Partial<SimConfig> {
  const out: Record<string, unknown> = {};
  for (const spec of withFlag(SIM_OPTIONS)) out[spec.key] = optionValue(spec, o);
  const pins: Record<string, unknown> = {};
  for (const spec of withFlag(PIN_OPTIONS)) {
    const v = optionValue(spec, o);
    if (v !== undefined) pins[spec.key] = v;
  }
  out.pins = pins;
  return out as Partial<SimConfig>;
}

/** The env's options (`--opponents`, `--decision-interval`, ...) with the command's defaults. */
export function addEnvOptions(cmd: Command): Command {
  for (const spec of withFlag(ENV_OPTIONS)) cmd.addOption(schemaOption(spec, cmd.name()));
  return cmd;
}

/** The env config of parsed options, the simulation's under `sim`. */
export function envConfigFromOptions(o: SimOptions): Partial<EnvConfig> {
  const out: Record<string, unknown> = {};
  for (const spec of withFlag(ENV_OPTIONS)) out[spec.key] = optionValue(spec, o);
  if (Array.isArray(out.opponents)) out.opponents = lineUp(out.opponents as string[], "--opponents");
  out.sim = configFromOptions(o);
  return out as Partial<EnvConfig>;
}

/** The sandbox and limit options (docs/sandbox.md) as commander stores them. */
export interface SandboxOptions {
  sandbox?: boolean;
  callTimeLimit: number;
  simTimeLimit: number;
  memoryLimit: number;
}

/**
 * `--sandbox` / `--no-sandbox` and the limits. `sandboxByDefault` is the command's default:
 * submit runs code for someone else, so it sandboxes unless told not to.
 */
export function addSandboxOptions(cmd: Command, sandboxByDefault: boolean): Command {
  const [on, off] = sandboxByDefault ? [" (default)", ""] : ["", " (default)"];
  return cmd
    .option("--sandbox", `run strategy code in the sandbox: no files, network, processes or environment${on}`)
    .option("--no-sandbox", `run strategy code in watched threads of this process (trusted local files)${off}`)
    .option("--call-time-limit <ms>", "longest one strategy call may run", integer(1), DEFAULT_LIMITS.callMs)
    .option(
      "--sim-time-limit <s>",
      "longest one simulation (or one validation) may run",
      integer(1),
      DEFAULT_LIMITS.simulationMs / 1000,
    )
    .option(
      "--memory-limit <MB>",
      "JS heap of each simulation thread (and resident memory per thread)",
      integer(64),
      DEFAULT_LIMITS.memoryMb,
    );
}

/** Whether strategies run sandboxed, and the limits, from parsed options. */
export function sandboxFromOptions(o: SandboxOptions, sandboxByDefault: boolean): { sandbox: boolean; limits: Limits } {
  return {
    sandbox: o.sandbox ?? sandboxByDefault,
    limits: { callMs: o.callTimeLimit, simulationMs: o.simTimeLimit * 1000, memoryMb: o.memoryLimit },
  };
}

/** The mode line on stderr: where strategy code runs. */
export function printModeLine(sandbox: boolean, limits: Limits): void {
  console.error(sandbox ? sandboxModeLine(limits) : IN_PROCESS_MODE_LINE);
}
