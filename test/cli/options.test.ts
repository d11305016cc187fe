/**
 * The configuration schema (env/options.ts, gym/options.ts) against everything built from it:
 * the library's checks, the server's wire names, the CLI's flags and help, the docs' tables and
 * the Python client's names. The truth is written here, apart from the schema: a value outside
 * each option's documented range (spec §2, spec §6, docs/gym.md), the documented defaults of the
 * reward baseline, and what users see (`--help` text, protocol replies, Python source).
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_CONFIG, resolveConfig, type SimConfig } from "../../env/config.js";
import { MARKET_RANGES, PIN_OPTIONS, SIM_OPTIONS, type OptionSpec } from "../../env/options.js";
import { DEFAULT_ENV_CONFIG, ENV_OPTIONS, PropAmmEnv, type EnvConfig } from "../../gym/env.js";
import type { VectorEnv } from "../../gym/vector-env.js";
import { RequestHandler } from "../../server/handler.js";
import { OPTION_DOCS, renderOptionDocs } from "../../cli/options-docs.js";
import { lineUp } from "../../cli/options.js";
import { tempDir } from "../helpers/tmp.js";

const ROOT = resolve(import.meta.dirname, "../..");
const CLI = join(ROOT, "dist", "cli", "main.js");
const ALL: OptionSpec[] = [...ENV_OPTIONS, ...SIM_OPTIONS, ...PIN_OPTIONS];
const tmp = tempDir("propamm-options-");

/** Values outside each option's range, by key: what spec §2 / spec §6 and docs/gym.md allow, and just past it. */
const BAD: Record<string, unknown[]> = {
  opponents: ["starter", 7],
  decisionInterval: [-1, 2.5],
  observation: ["full", 5],
  rewardMode: ["medium"],
  rewardBaseline: ["median"],
  riskPenalty: ["upside", true],
  rewardScale: [0, -1, 2e6],
  feeMinBps: [-1, 10000],
  feeMaxBps: [10000, -5],
  steps: [0, 1.5, -3],
  epochLen: [0, 2.5],
  baseReserveX: [0, -1, Infinity],
  baseReserveY: [0],
  initialPrice: [0, NaN],
  riskLambda: [-0.1],
  temperature: [0],
  minWeight: [1.5, -0.1],
  arbProfitFloor: [-1],
  retailSizeSigma: [-1],
  scorePerCapital: ["yes", 1],
  retailEnabled: [1],
  sigma: [1, -0.1],
  retailRate: [1001, -1],
  retailMeanSize: [0],
  normalizerFeeBps: [10000, -1],
  normalizerLiquidity: [0],
};

/** Values on the edge of each range, which must be accepted. */
const EDGE: Record<string, unknown> = {
  decisionInterval: 0,
  rewardScale: 1e6,
  feeMinBps: 0,
  feeMaxBps: 9999.5,
  steps: 1,
  epochLen: 1,
  riskLambda: 0,
  minWeight: 0,
  arbProfitFloor: 0,
  retailSizeSigma: 0,
  sigma: 0,
  retailRate: 1000,
  normalizerFeeBps: 0,
};

const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

async function request(h: RequestHandler, msg: Record<string, unknown>): Promise<Record<string, unknown>> {
  return packr.unpack(await h.handle(packr.pack({ v: 1, id: 1, ...msg }))) as Record<string, unknown>;
}

/** The option set to `v` in the shape its layer takes (env field, sim field or market pin). */
function libraryConfig(o: OptionSpec, v: unknown): Partial<EnvConfig> {
  if (o.group === "env") return { [o.key]: v };
  return { sim: o.group === "sim" ? { [o.key]: v } : { pins: { [o.key]: v } } } as Partial<EnvConfig>;
}

function wireConfig(o: OptionSpec, v: unknown): Record<string, unknown> {
  if (o.group === "env") return { [o.wire]: v };
  return { sim: o.group === "sim" ? { [o.wire]: v } : { pins: { [o.wire]: v } } };
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: tmp, encoding: "utf8", timeout: 60_000, env: { ...process.env, NO_COLOR: "1" } },
      (err, stdout, stderr) => {
        const status = err ? (typeof err.code === "number" ? err.code : null) : 0;
        done({ status, stdout, stderr });
      },
    );
  });
}

/** `--help` output as {flags -> description}, wrapped lines joined. */
function helpEntries(help: string): Map<string, string> {
  const entries = new Map<string, string>();
  let last: string | null = null;
  for (const line of help.split("\n")) {
    const m = /^ {2}(-\S.*?)(?: {2,}(.*))?$/.exec(line);
    if (m) {
      last = m[1].trim();
      entries.set(last, (m[2] ?? "").trim());
    } else if (last !== null && /^ {4,}\S/.test(line)) {
      entries.set(last, `${entries.get(last)} ${line.trim()}`.trim());
    } else last = null;
  }
  return entries;
}

describe("every option rejects a value outside its range, naming the option", () => {
  it("has bad values for every option of the schema, and the table's keys are the config's", () => {
    // The config types' fields, as the library's defaults hold them, are the schema's keys.
    expect(SIM_OPTIONS.map((o) => o.key).sort()).toEqual(
      Object.keys(DEFAULT_CONFIG)
        .filter((k) => k !== "pins")
        .sort(),
    );
    expect(PIN_OPTIONS.map((o) => o.key).sort()).toEqual(Object.keys(MARKET_RANGES).sort());
    expect(ENV_OPTIONS.map((o) => o.key).sort()).toEqual(
      Object.keys(DEFAULT_ENV_CONFIG)
        .filter((k) => k !== "sim")
        .sort(),
    );
    for (const o of ALL) expect(BAD[o.key], `no bad values for ${o.key} in this test`).toBeDefined();
  });

  it("the library: PropAmmEnv and resolveConfig throw a ConfigError naming the option", () => {
    for (const o of ALL) {
      for (const v of BAD[o.key]) {
        const what = `${o.key} = ${String(v)}`;
        let err: unknown = null;
        try {
          new PropAmmEnv(libraryConfig(o, v));
        } catch (e) {
          err = e;
        }
        expect.soft(err, what).toBeInstanceOf(ConfigError);
        expect.soft(String((err as Error | null)?.message), what).toContain(o.key);
        if (o.group !== "env") {
          const sim = (libraryConfig(o, v) as { sim: Partial<SimConfig> }).sim;
          expect.soft(() => resolveConfig(sim), what).toThrow(o.key);
        }
      }
    }
  });

  it("the library accepts the edge of each range", () => {
    for (const [key, v] of Object.entries(EDGE)) {
      const o = ALL.find((x) => x.key === key)!;
      const env = new PropAmmEnv(libraryConfig(o, v));
      const got =
        o.group === "env"
          ? env.config[key as keyof EnvConfig]
          : o.group === "sim"
            ? env.simConfig[key as keyof SimConfig]
            : env.simConfig.pins[key as keyof SimConfig["pins"]];
      expect(got, key).toBe(v);
    }
  });

  it("the server: make answers CONFIG with the option's wire name in the message", async () => {
    const h = new RequestHandler();
    for (const o of ALL) {
      for (const v of BAD[o.key]) {
        const config = wireConfig(o, v);
        const r = await request(h, { cmd: "make", config });
        const e = r.error as { code: string; message: string } | undefined;
        expect.soft(e?.code, `${JSON.stringify(config)}`).toBe("CONFIG");
        expect.soft(e?.message, `${JSON.stringify(config)}`).toContain(o.wire);
      }
    }
    expect(h.sessions.size).toBe(0);
  });

  it("the command line: exit 2 and an error naming the flag", async () => {
    const cases: { args: string[]; flag: string }[] = [];
    for (const o of ALL) {
      if (o.flag === null || o.check.kind === "boolean" || o.check.kind === "list") continue;
      const flag = o.flag.split(" ")[0];
      for (const v of BAD[o.key]) {
        const value = String(v);
        // The env's options are `propamm train`'s; the simulation's are every run command's.
        cases.push({
          flag,
          args:
            o.group === "env"
              ? ["train", "--timesteps", "1", "--out", join(tmp, "never"), `${flag}=${value}`]
              : ["run", "starter", "--simulations", "1", "--steps", "100", "--workers", "0", `${flag}=${value}`],
        });
      }
    }
    const runs = await Promise.all(cases.map(async (c) => ({ ...c, r: await cli(c.args) })));
    for (const { args, flag, r } of runs) {
      const what = `propamm ${args.join(" ")}\nexit ${r.status}\n${r.stderr}`;
      expect.soft(r.status, what).toBe(2);
      expect.soft(r.stderr, what).toContain(flag);
      expect.soft(r.stdout, what).not.toMatch(/Mean Edge/);
    }
  }, 120_000);
});

describe("the server takes every wire name", () => {
  it("hello's default config holds exactly the schema's wire names, at the library's defaults", async () => {
    const h = new RequestHandler();
    const d = (await request(h, { cmd: "hello" })).default_config as Record<string, unknown>;
    expect(Object.keys(d).sort()).toEqual([...ENV_OPTIONS.map((o) => o.wire), "sim"].sort());
    const sim = d.sim as Record<string, unknown>;
    expect(Object.keys(sim).sort()).toEqual([...SIM_OPTIONS.map((o) => o.wire), "pins"].sort());
    // docs/protocol.md's defaults, written out.
    expect(d).toMatchObject({ opponents: ["starter"], decision_interval: 100, reward_baseline: "none" });
    expect(sim).toMatchObject({ steps: 10000, epoch_len: 1000, initial_price: 100, retail_enabled: true });
  });

  it("make accepts every option by its wire name, market pins included, and the env gets the values", async () => {
    const h = new RequestHandler();
    const config = (await request(h, { cmd: "hello" })).default_config as Record<string, unknown>;
    const pins = Object.fromEntries(
      PIN_OPTIONS.map((o) => {
        const [lo, hi] = MARKET_RANGES[o.key as keyof typeof MARKET_RANGES];
        return [o.wire, (lo + hi) / 2];
      }),
    );
    const full = { ...config, reward_baseline: "normalizer", sim: { ...(config.sim as object), steps: 500, pins } };
    const r = await request(h, { cmd: "make", config: full });
    expect(r.error, JSON.stringify(r.error)).toBeUndefined();
    // Built-in opponents only: the session's env is in this process (a VectorEnv).
    const env = (h.sessions.get(r.env_id as string, Date.now())!.env as VectorEnv).envs[0];
    expect(env.config.rewardBaseline).toBe("normalizer");
    expect(env.simConfig.steps).toBe(500);
    expect(env.simConfig.pins.normalizerFeeBps).toBe(55);
    expect(env.simConfig.pins.sigma).toBeCloseTo(0.00355, 12);
  });
});

describe("the command line's options are the schema's", () => {
  it("--help of every run command lists each simulation flag with its default", async () => {
    for (const cmd of ["run", "submit", "eval", "tournament", "sweep", "train"]) {
      const r = await cli([cmd, "--help"]);
      expect(r.status, r.stderr).toBe(0);
      const help = helpEntries(r.stdout);
      for (const o of [...SIM_OPTIONS, ...PIN_OPTIONS]) {
        if (o.flag === null) continue;
        const text = help.get(o.flag);
        expect.soft(text, `${cmd} --help lacks ${o.flag}`).toBeDefined();
        if (o.default !== undefined && o.check.kind !== "boolean")
          expect.soft(text, `${cmd} ${o.flag}`).toContain(`(default: ${JSON.stringify(o.default)})`);
      }
    }
  });

  it("train lists the env's flags; its reward baseline defaults to normalizer, the library's to none", async () => {
    const r = await cli(["train", "--help"]);
    const help = helpEntries(r.stdout);
    for (const o of ENV_OPTIONS) expect.soft(help.get(o.flag!), `train --help lacks ${o.flag}`).toBeDefined();
    expect(help.get("--reward-baseline <b>")).toContain('(default: "normalizer")');
    expect(help.get("--reward-mode <mode>")).toContain('(default: "dense")');
    expect(help.get("--opponents <strategy...>")).toContain('(default: ["starter"])');
    expect(new PropAmmEnv().config.rewardBaseline).toBe("none");
  });
});

describe("docs and the Python client", () => {
  it("the docs' option tables are the schema's (npm run docs:options rewrites them)", () => {
    for (const doc of OPTION_DOCS) {
      const text = readFileSync(join(ROOT, doc), "utf8");
      expect(text, doc).toMatch(/<!-- options:[a-z-]+ -->/);
      expect(renderOptionDocs(text) === text, `${doc} is out of date: run npm run docs:options`).toBe(true);
    }
    // Every wire name appears in the protocol document, every flag in the gym document.
    const protocol = readFileSync(join(ROOT, "docs/protocol.md"), "utf8");
    for (const o of ALL)
      expect
        .soft(protocol, o.wire)
        .toContain(`\`${o.group === "env" ? "" : "sim."}${o.group === "pins" ? "pins." : ""}${o.wire}\``);
  });

  it("the Python client's config names are the schema's wire names", () => {
    const wire = [...ENV_OPTIONS.map((o) => o.wire), "sim"].sort();
    const dir = join(ROOT, "server/python/propamm_gym");
    const session = readFileSync(join(dir, "session.py"), "utf8");
    const signature = /def env_config\(([\s\S]*?)\) ->/.exec(session);
    expect(signature, "session.py: def env_config(...)").not.toBeNull();
    const params = [...signature![1].matchAll(/^\s*(\w+):/gm)].map((m) => m[1]);
    expect(params.sort()).toEqual(wire);
    const keys = [...new Set([...session.matchAll(/config\["(\w+)"\]/g)].map((m) => m[1]))];
    expect(keys.sort()).toEqual(wire);
    // The env classes pass each option through by name.
    for (const file of ["env.py", "vector_env.py"]) {
      const text = readFileSync(join(dir, file), "utf8");
      const call = /env_config\(([\s\S]*?)\)/.exec(text);
      expect(call, `${file}: env_config(...)`).not.toBeNull();
      const passed = [...call![1].matchAll(/(\w+)=(\w+)/g)].filter((m) => m[1] === m[2]).map((m) => m[1]);
      expect(passed.sort(), file).toEqual(wire);
      for (const name of wire)
        expect.soft(text, `${file} __init__ takes ${name}`).toMatch(new RegExp(`^\\s+${name}: `, "m"));
    }
  });
});

describe("a line-up on the command line (lineUp)", () => {
  it("takes commas or spaces between strategies, and 'none' alone as no opponents", () => {
    expect(lineUp(["starter", "fixed:40"], "--against")).toEqual(["starter", "fixed:40"]);
    expect(lineUp(["starter,fixed:40", "fixed:30"], "--against")).toEqual(["starter", "fixed:40", "fixed:30"]);
    expect(lineUp([" starter , fixed:40 "], "--against")).toEqual(["starter", "fixed:40"]);
    expect(lineUp(["none"], "--opponents")).toEqual([]);
  });

  it("refuses 'none' among strategies and an empty name, naming the flag", () => {
    expect(() => lineUp(["none,starter"], "--against")).toThrow(
      "--against: 'none' (no opponents) stands alone, got none starter",
    );
    expect(() => lineUp(["starter,"], "--opponents")).toThrow(/--opponents: an empty strategy name in starter,/);
    expect(() => lineUp([""], "--opponents")).toThrow(ConfigError);
  });
});
