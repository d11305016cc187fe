/**
 * One error base class (env/errors.ts): every error class the project raises on purpose is a
 * PropAmmError whose code gives the CLI's exit code and the protocol's error code. The truth is
 * the documents: README's exit codes (0 success, 1 validation or run failed, 2 bad input) and
 * docs/protocol.md's table of error codes.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { tempDir } from "../helpers/tmp.js";
import { ERROR_CODES, PropAmmError, exitCodeOf, wireErrorCodeOf } from "../../env/errors.js";
import { ConfigError } from "../../env/config.js";
import { EnvError } from "../../gym/env.js";
import { CheckpointError } from "../../agents/checkpoint.js";
import { ExportError } from "../../agents/export.js";
import { ArrayError } from "../../server/arrays.js";
import { ProtocolError, RequestHandler } from "../../server/handler.js";

const ROOT = resolve(import.meta.dirname, "../..");

/** The codes in docs/protocol.md's "Error codes" table. */
function documentedCodes(): string[] {
  const text = readFileSync(join(ROOT, "docs/protocol.md"), "utf8");
  const section = text.slice(text.indexOf("## Error codes"), text.indexOf("## Numbers and retries"));
  return [...section.matchAll(/^\| `([A-Z_]+)`/gm)].map((m) => m[1]);
}

const TMP = tempDir("propamm-errors-");

describe("error codes", () => {
  it("every protocol code the table gives is one docs/protocol.md documents, and every documented one is used", () => {
    const documented = documentedCodes();
    expect(documented.length).toBe(11);
    const used = new Set(Object.values(ERROR_CODES).map((c) => c.wire));
    expect([...used].sort()).toEqual([...documented].sort());
  });

  it("each error class keeps its name and message and maps to README's exit code and the protocol's code", () => {
    const cases: [unknown, string, number, string][] = [
      [new ConfigError("steps must be an integer >= 1 (got 0)"), "ConfigError", 2, "CONFIG"],
      [new CheckpointError("checkpoint not found: x"), "CheckpointError", 2, "CONFIG"],
      [new ExportError("unknown export format 'py'"), "ExportError", 2, "CONFIG"],
      [new ArrayError("actions must be finite"), "ArrayError", 2, "BAD_ACTION"],
      [new ProtocolError("UNKNOWN_ENV", "no open session 'x'"), "ProtocolError", 2, "UNKNOWN_ENV"],
      [new ProtocolError("BAD_REQUEST", "'cmd' must be a string"), "ProtocolError", 2, "BAD_REQUEST"],
      [new EnvError("call reset() before step()"), "EnvError", 1, "ENV"],
      [new Error("a bug"), "Error", 1, "INTERNAL"],
      [new RangeError("a bug"), "RangeError", 1, "INTERNAL"],
    ];
    for (const [err, name, exit, wire] of cases) {
      const e = err as Error;
      expect(e.name).toBe(name);
      expect(e instanceof PropAmmError, name).toBe(wire !== "INTERNAL");
      expect(exitCodeOf(e), name).toBe(exit);
      expect(wireErrorCodeOf(e), name).toBe(wire);
    }
    expect(new ConfigError("steps must be an integer >= 1 (got 0)").message).toBe(
      "steps must be an integer >= 1 (got 0)",
    );
    expect(exitCodeOf("thrown string")).toBe(1);
    expect(wireErrorCodeOf(undefined)).toBe("INTERNAL");
  });

  it("the server answers a damaged checkpoint opponent with CONFIG naming the file, not INTERNAL", async () => {
    const dir = mkdtempSync(join(TMP, "damaged-"));
    writeFileSync(join(dir, "state.json"), "{ not json");
    const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });
    // Clients may name checkpoints only inside the server's strategy folder (docs/sandbox.md).
    const h = new RequestHandler({ strategyDir: TMP });
    const reply = packr.unpack(
      await h.handle(packr.pack({ v: 1, id: 1, cmd: "make", config: { opponents: [dir] } })),
    ) as { ok: boolean; error?: { code: string; message: string } };
    expect(reply.ok).toBe(false);
    expect(reply.error?.code).toBe("CONFIG");
    expect(reply.error?.message).toContain(join(dir, "state.json"));
  });
});
