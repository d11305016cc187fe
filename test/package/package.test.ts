/**
 * The package as a user's own project sees it, outside this repository: `npm pack` it, install
 * the tarball into an ES-module project and a CommonJS project in temporary folders, write
 * strategies there against the exported types and helpers, and run `npx propamm` on them.
 *
 * Two ways to install, because a real `npm install` of the tarball takes 25-60 s on two shared
 * cores (it resolves ~80 dependencies from npm's cache and writes ~360 MB):
 *  - PROPAMM_PACKAGE_INSTALL=npm (CI sets it): `npm install <tarball> --prefer-offline` in the
 *    ES-module project; the CommonJS project starts from a hard-linked copy of that tree (npm
 *    resolves the same tree for the same tarball) and runs the same `npm install` over it.
 *  - otherwise, what npm does with the parts the package controls: the tarball unpacked into
 *    node_modules/prop-amm-gym, its `bin` linked into node_modules/.bin, and each of its
 *    declared dependencies (only those: an undeclared import fails here as it would for a
 *    user) linked to the copy in this repository's node_modules.
 * `npm pack --ignore-scripts` packs the dist/ that `npm test` has just built: `prepare` (tsc)
 * would rebuild dist/ while other test files run the CLI from it.
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");
const tmp = mkdtempSync(join(tmpdir(), "propamm-package-"));
const ESM = join(tmp, "esm-project");
const CJS = join(tmp, "cjs-project");

/** The environment without what `npm test` set for itself (npm_config_*, lifecycle variables). */
const ENV: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries({ ...process.env, NO_COLOR: "1" }).filter(([k]) => !/^npm_/i.test(k)),
);

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
  shown: string;
}

function sh(cwd: string, command: string, args: string[], timeout = 120_000): Ran {
  const started = performance.now();
  const r: SpawnSyncReturns<string> = spawnSync(command, args, { cwd, env: ENV, encoding: "utf8", timeout });
  const seconds = (performance.now() - started) / 1000;
  const shown = `(${cwd}) ${command} ${args.join(" ")}\nexit ${r.status} after ${seconds.toFixed(1)} s${r.error ? ` (${r.error.message})` : ""}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", seconds, shown };
}

function ok(r: Ran): Ran {
  expect(r.status, r.shown).toBe(0);
  return r;
}

/** A fixed 30 bps constant-product fee written by a user: must play exactly like `fixed:30`. */
const STRATEGY_TS = `import type { AfterSwapEvent, Side, Strategy } from "prop-amm-gym";
import { SLOT, constantProductQuote, readFeeBps, writeFeeBps } from "prop-amm-gym";

const FEE = 30 / 10000;

const strategy: Strategy = {
  name: "User TS fixed 30",
  computeSwap(side: Side, input: number, reserveX: number, reserveY: number) {
    return constantProductQuote(side, input, reserveX, reserveY, FEE);
  },
  constantProductFees(_storage: Uint8Array, out: Float64Array) {
    out[0] = FEE;
    out[1] = FEE;
  },
  afterSwap(_event: AfterSwapEvent, storage: Uint8Array) {
    if (readFeeBps(storage, SLOT.fee0Wad) === 0) writeFeeBps(storage, SLOT.fee0Wad, 30);
  },
};

export default strategy;
`;

const STRATEGY_ESM_JS = `import { constantProductQuote } from "prop-amm-gym";

export default {
  name: "User ESM fixed 30",
  computeSwap: (side, input, x, y) => constantProductQuote(side, input, x, y, 0.003),
  constantProductFees(_storage, out) {
    out[0] = 0.003;
    out[1] = 0.003;
  },
};
`;

const STRATEGY_CJS_JS = `const { constantProductQuote } = require("prop-amm-gym");

module.exports = {
  name: "User CJS fixed 30",
  computeSwap: (side, input, x, y) => constantProductQuote(side, input, x, y, 0.003),
  constantProductFees(_storage, out) {
    out[0] = 0.003;
    out[1] = 0.003;
  },
};
`;

const TSCONFIG = JSON.stringify({
  compilerOptions: {
    module: "nodenext",
    moduleResolution: "nodenext",
    target: "ES2022",
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  },
  include: ["*.ts"],
});

let tarball = "";
let packed: string[] = [];
const REAL_NPM = process.env.PROPAMM_PACKAGE_INSTALL === "npm";

interface PackageJson {
  name: string;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  exports: Record<string, Record<string, string> | string>;
}

/** Installs the tarball into `dir` without resolving dependencies (see the file's comment). */
function installUnpacked(dir: string): void {
  const into = join(dir, "node_modules", "prop-amm-gym");
  mkdirSync(into, { recursive: true });
  ok(sh(dir, "tar", ["-xzf", tarball, "-C", into, "--strip-components=1"]));
  const pkg = JSON.parse(readFileSync(join(into, "package.json"), "utf8")) as PackageJson;
  const deps = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.optionalDependencies ?? {})];
  for (const dep of deps) {
    const source = join(ROOT, "node_modules", dep);
    if (!existsSync(source)) {
      // An optional dependency that did not install here (as it may not for a user).
      if (dep in (pkg.optionalDependencies ?? {})) continue;
      throw new Error(`dependency ${dep} is missing from ${ROOT}/node_modules`);
    }
    const link = join(dir, "node_modules", dep);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(source, link, "dir");
  }
  mkdirSync(join(dir, "node_modules", ".bin"), { recursive: true });
  for (const [name, target] of Object.entries(pkg.bin)) {
    chmodSync(join(into, target), 0o755);
    symlinkSync(
      relative(join(dir, "node_modules", ".bin"), join(into, target)),
      join(dir, "node_modules", ".bin", name),
    );
  }
  const project = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Record<string, unknown>;
  project.dependencies = { "prop-amm-gym": `file:${relative(dir, tarball)}` };
  writeFileSync(join(dir, "package.json"), JSON.stringify(project, null, 2));
}

beforeAll(() => {
  for (const f of ["dist/index.js", "dist/index.d.ts", "dist/cli/main.js"])
    if (!existsSync(join(ROOT, f))) throw new Error(`${f} is missing: run \`npm run build\` first`);
  const pack = ok(sh(ROOT, "npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", tmp]));
  const info = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  tarball = join(tmp, info[0].filename);
  packed = info[0].files.map((f) => f.path);

  mkdirSync(ESM);
  writeFileSync(join(ESM, "package.json"), JSON.stringify({ name: "esm-user", private: true, type: "module" }));
  mkdirSync(CJS);
  writeFileSync(join(CJS, "package.json"), JSON.stringify({ name: "cjs-user", private: true }));
  if (REAL_NPM) {
    const flags = ["--prefer-offline", "--no-audit", "--no-fund"];
    ok(sh(ESM, "npm", ["install", tarball, ...flags], 300_000));
    ok(sh(tmp, "cp", ["-al", join(ESM, "node_modules"), join(CJS, "node_modules")]));
    ok(sh(CJS, "npm", ["install", tarball, ...flags], 300_000));
  } else {
    installUnpacked(ESM);
    installUnpacked(CJS);
  }
}, 600_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("the tarball", () => {
  it("ships the built library with types, the CLI, the template and the docs, and no development files", () => {
    for (const f of ["package.json", "README.md", "strategies/template.ts", "dist/index.js", "dist/index.d.ts"])
      expect(packed, f).toContain(f);
    expect(packed).toContain("dist/cli/main.js");
    expect(packed).toContain("docs/training.md");
    // Tests, fixtures, benchmarks, CI and the Python client are for this repository only, and the
    // layers' TypeScript sources are compiled into dist/ (a strategy author gets the template).
    const development = packed.filter(
      (f) =>
        /^(test|bench|dist\/bench|examples|server\/python|\.ci|node_modules|runs)\//.test(f) ||
        /^(env|gym|agents|arena|training|server|cli)\/.*\.ts$/.test(f) ||
        /^(index\.ts|tsconfig.*\.json|vitest\.config\.ts|eslint\.config\.js|package-lock\.json)$/.test(f),
    );
    expect(development).toEqual([]);
  });

  it("declares exports for import, require and types, and the propamm command", () => {
    const pkg = JSON.parse(readFileSync(join(ESM, "node_modules/prop-amm-gym/package.json"), "utf8")) as PackageJson;
    expect(pkg.exports["."]).toMatchObject({
      types: "./dist/index.d.ts",
      import: "./dist/index.js",
      require: "./dist/index.js",
    });
    expect(pkg.bin.propamm).toBe("dist/cli/main.js");
    expect(JSON.parse(readFileSync(join(ESM, "package.json"), "utf8")).dependencies["prop-amm-gym"]).toMatch(
      /prop-amm-gym-.*\.tgz$/,
    );
  });
});

/** Edges of pool 0 in each simulation of a `--json` report. */
function edges(file: string): number[] {
  const json = JSON.parse(readFileSync(file, "utf8")) as { simulations: { pools: { edge: number }[] }[] };
  return json.simulations.map((s) => s.pools[0].edge);
}

const RUN = ["--simulations", "2", "--steps", "500"];

for (const [kind, dir, files] of [
  ["an ES-module project", ESM, { "strategy.ts": STRATEGY_TS, "strategy.js": STRATEGY_ESM_JS }],
  ["a CommonJS project", CJS, { "strategy.ts": STRATEGY_TS, "strategy.js": STRATEGY_CJS_JS }],
] as const) {
  describe(`${kind} that installed the tarball`, () => {
    beforeAll(() => {
      for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
      // What the issue's user did: copy the template out of the repository.
      copyFileSync(join(ROOT, "strategies/template.ts"), join(dir, "template.ts"));
      writeFileSync(join(dir, "tsconfig.json"), TSCONFIG);
    });

    it("validates the template and its own strategies with npx propamm", () => {
      const r = ok(sh(dir, "npx", ["propamm", "validate", "template.ts", "strategy.ts", "strategy.js"]));
      const names = [
        "Template: volatility-scaled fee",
        "User TS fixed 30",
        kind.startsWith("an ES") ? "User ESM fixed 30" : "User CJS fixed 30",
      ];
      ["template.ts", "strategy.ts", "strategy.js"].forEach((f, i) =>
        expect(r.stdout, r.shown).toMatch(
          new RegExp(`^ok    ${f.replace(".", "\\.")} \\(${names[i]}\\): \\d+ checks passed$`, "m"),
        ),
      );
    });

    it("runs its strategies, which play exactly like the built-in fixed:30", () => {
      const builtin = join(tmp, "builtin.json");
      if (!existsSync(builtin))
        ok(sh(dir, "npx", ["propamm", "run", "fixed:30", "starter", ...RUN, "--json", builtin]));
      for (const f of ["strategy.ts", "strategy.js"]) {
        const json = `runs/${f}.json`;
        const r = ok(sh(dir, "npx", ["propamm", "run", f, "starter", ...RUN, "--workers", "2", "--json", json]));
        expect(r.stdout, r.shown).toMatch(/^User (TS|ESM|CJS) fixed 30\s+[+-]\d/m);
        expect(r.stdout, r.shown).toMatch(/^\[Normalizer\]\s/m);
        expect(edges(join(dir, json)), r.shown).toEqual(edges(builtin));
      }
    });

    it("type checks the strategies against the exported types", () => {
      ok(sh(dir, process.execPath, [TSC, "-p", "tsconfig.json"]));
    });

    it("imports the library the way the project's own modules do", () => {
      const code = kind.startsWith("an ES")
        ? 'import("prop-amm-gym").then((m) => console.log(typeof m.runBatch, typeof m.PropAmmEnv, m.SLOT.fee0Wad))'
        : 'const m = require("prop-amm-gym"); console.log(typeof m.runBatch, typeof m.PropAmmEnv, m.SLOT.fee0Wad, require("prop-amm-gym/package.json").name)';
      const r = ok(sh(dir, process.execPath, ["-e", code]));
      const slot = readFileSync(join(ROOT, "runtime/slots.ts"), "utf8").match(/fee0Wad: (\d+)/)![1];
      expect(r.stdout.trim()).toBe(`function function ${slot}${kind.startsWith("an ES") ? "" : " prop-amm-gym"}`);
    });
  });
}
