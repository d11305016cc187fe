/**
 * Runs the Python client's pytest suite (server/python/tests) against the built server
 * (dist/cli/main.js). Skipped, with the reason printed, when no Python with numpy, pyzmq,
 * msgpack, gymnasium, pettingzoo and pytest is found (`npm run setup:python` creates .venv/ with them).
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const VENV_PYTHON = join(ROOT, ".venv", "bin", "python");
/** Import name -> pip package name. */
const REQUIRED: Record<string, string> = {
  numpy: "numpy",
  zmq: "pyzmq",
  msgpack: "msgpack",
  gymnasium: "gymnasium",
  pettingzoo: "pettingzoo",
  pytest: "pytest",
};

const CHECK_SCRIPT = `
import importlib, json, sys
missing = []
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception:
        missing.append(name)
print(json.dumps(missing))
`;

interface PythonCheck {
  python: string | null;
  skipReason: string | null;
}

function findPython(): PythonCheck {
  const candidates = [VENV_PYTHON, "python3"].filter((p) => p !== VENV_PYTHON || existsSync(p));
  let best: { python: string; missing: string[] } | null = null;
  for (const python of candidates) {
    const r = spawnSync(python, ["-c", CHECK_SCRIPT, ...Object.keys(REQUIRED)], { encoding: "utf8", timeout: 60_000 });
    if (r.status !== 0) continue;
    const missing = JSON.parse(r.stdout.trim()) as string[];
    if (missing.length === 0) return { python, skipReason: null };
    if (best === null) best = { python, missing };
  }
  if (best === null) return { python: null, skipReason: "no Python interpreter found (.venv/bin/python or python3)" };
  const names = best.missing.map((m) => (REQUIRED[m] === m ? m : `${REQUIRED[m]} (import ${m})`)).join(", ");
  return {
    python: null,
    skipReason: `${best.python} lacks the Python package(s) ${names}; run \`npm run setup:python\` to create .venv/`,
  };
}

const check = findPython();
if (check.skipReason) console.warn(`[python.test] SKIPPED the Python client tests: ${check.skipReason}`);

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", fail);
    child.on("close", (code) => done({ code, output }));
  });
}

describe.skipIf(check.python === null)("Python client (server/python)", () => {
  it("passes its pytest suite against `propamm serve`", { timeout: 300_000 }, async () => {
    expect(existsSync(join(ROOT, "dist", "cli", "main.js")), "dist/cli/main.js: run `npm run build`").toBe(true);
    const pkg = join(ROOT, "server", "python");
    const env = { ...process.env, PYTHONPATH: [pkg, process.env.PYTHONPATH].filter(Boolean).join(delimiter) };
    const { code, output } = await run(
      check.python!,
      ["-m", "pytest", "server/python/tests", "-q", "-x", "-rs", "-p", "no:cacheprovider"],
      env,
    );
    if (code !== 0) console.error(`pytest exited with ${code}:\n${output}`);
    // Tests of optional packages (torch, stable-baselines3, ray) skip with their reason (-rs).
    const skipped = output.split("\n").filter((line) => line.startsWith("SKIPPED"));
    if (skipped.length > 0) console.warn(`[python.test] pytest skipped:\n${skipped.join("\n")}`);
    expect(code, "pytest exit code (its output is printed above)").toBe(0);
  });
});
