/**
 * The layering rules (.dependency-cruiser.cjs) reject an upward import and an import circle.
 * `npm test` runs the same rules over the real tree (npm run lint:layers); here they meet a
 * small tree built to break them, so a rule that stopped matching would be noticed.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "./helpers/tmp.js";

const ROOT = resolve(import.meta.dirname, "..");
const TMP = tempDir("propamm-layers-");
const DEPCRUISE = join(ROOT, "node_modules", "dependency-cruiser", "bin", "dependency-cruise.mjs");

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(TMP, "tree-"));
  cpSync(join(ROOT, ".dependency-cruiser.cjs"), join(dir, ".dependency-cruiser.cjs"));
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { module: "NodeNext" } }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

function cruise(dir: string): { status: number | null; out: string } {
  const folders = ["runtime", "env", "gym"].filter((f) => existsSync(join(dir, f)));
  const r = spawnSync(process.execPath, [DEPCRUISE, "--config", ".dependency-cruiser.cjs", ...folders], {
    cwd: dir,
    encoding: "utf8",
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe("layering rules", () => {
  it("accept imports that look down", () => {
    const dir = tree({
      "runtime/math.ts": "export const two = 2;\n",
      "env/pool.ts": 'import { two } from "../runtime/math.js";\nexport const pool = two;\n',
      "gym/env.ts": 'import { pool } from "../env/pool.js";\nexport const env = pool;\n',
    });
    const r = cruise(dir);
    expect(r.out).toContain("no dependency violations");
    expect(r.status).toBe(0);
  });

  it("reject an engine module that imports the gym", () => {
    const dir = tree({
      "env/pool.ts": 'import { env } from "../gym/env.js";\nexport const pool = () => env;\n',
      "gym/env.ts": "export const env = 1;\n",
    });
    const r = cruise(dir);
    expect(r.status).not.toBe(0);
    expect(r.out).toContain("no-upward-from-env");
    expect(r.out).toContain("env/pool.ts → gym/env.ts");
  });

  it("reject a circle inside one layer", () => {
    const dir = tree({
      "env/a.ts": 'import { b } from "./b.js";\nexport const a = () => b;\n',
      "env/b.ts": 'import { a } from "./a.js";\nexport const b = () => a;\n',
    });
    const r = cruise(dir);
    expect(r.status).not.toBe(0);
    expect(r.out).toContain("no-circular");
  });

  it("reject a runtime module that imports the engine", () => {
    const dir = tree({
      "runtime/features.ts": 'import { slot } from "../env/storage.js";\nexport const f = slot;\n',
      "env/storage.ts": "export const slot = 0;\n",
    });
    const r = cruise(dir);
    expect(r.status).not.toBe(0);
    expect(r.out).toContain("runtime-imports-nothing");
  });
});
