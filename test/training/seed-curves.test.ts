/**
 * Learning curves across training seeds (`propamm train --seeds K`, training/seed-curves.ts,
 * cli/train-seeds.ts). The truth: each run's own metrics.jsonl, read and summarised here by
 * hand; a standalone single-seed run of the same seed; the SVG and TensorBoard files decoded here.
 * Runs are tiny (500-step simulations, population 4).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { aggregateSeeds, type EvalRecord, readEvalRecords } from "../../training/seed-curves.js";
import { runCliAsync, showRun as show, STACK_FRAME } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";

const tmp = tempDir("propamm-seeds-");
const cli = (args: string[]) => runCliAsync(args, { cwd: tmp, timeoutMs: 120_000 });

// Decisions every 100 steps (not ES's default, every trade), so that 1000 decisions make several iterations.
const TINY = ["--timesteps", "1000", "--hp", "population=4", "--steps", "500", "--epoch-len", "250"];
TINY.push("--decision-interval", "100");
const EVAL = ["--eval-every", "1", "--eval-episodes", "2", "--workers", "1"];

const rec = (iteration: number, timesteps: number, vs: number): EvalRecord => ({
  iteration,
  timesteps,
  meanReturn: vs / 10,
  meanEdge: vs + 1,
  meanEdgeVsNormalizer: vs,
});

/** Eval records of a metrics.jsonl, read independently of the module. */
function evals(dir: string): Record<string, number>[] {
  return readFileSync(join(dir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, number | string>)
    .filter((r) => r.type === "eval") as Record<string, number>[];
}

/** Scalars of a TensorBoard event file: tag, step, float32 value (a minimal protobuf reader). */
function scalars(file: Buffer): { tag: string; step: number; value: number }[] {
  const out: { tag: string; step: number; value: number }[] = [];
  const varint = (b: Buffer, p: { i: number }): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const byte = b[p.i++];
      v += (byte & 0x7f) * mul;
      mul *= 128;
      if (!(byte & 0x80)) return v;
    }
  };
  const fields = (b: Buffer): { f: number; w: number; v: number | Buffer }[] => {
    const p = { i: 0 };
    const r: { f: number; w: number; v: number | Buffer }[] = [];
    while (p.i < b.length) {
      const k = varint(b, p);
      const [f, w] = [k >>> 3, k & 7];
      if (w === 0) r.push({ f, w, v: varint(b, p) });
      else if (w === 1) r.push({ f, w, v: b.subarray(p.i, (p.i += 8)) });
      else if (w === 5) r.push({ f, w, v: b.subarray(p.i, (p.i += 4)) });
      else {
        const n = varint(b, p);
        r.push({ f, w, v: b.subarray(p.i, (p.i += n)) });
      }
    }
    return r;
  };
  let o = 0;
  while (o < file.length) {
    const len = Number(file.readBigUInt64LE(o));
    const ev = fields(file.subarray(o + 12, o + 12 + len));
    o += 16 + len;
    const step = ev.find((x) => x.f === 2)?.v as number | undefined;
    const summary = ev.find((x) => x.f === 5)?.v as Buffer | undefined;
    if (summary === undefined) continue;
    for (const value of fields(summary)) {
      const vf = fields(value.v as Buffer);
      out.push({
        tag: (vf.find((x) => x.f === 1)!.v as Buffer).toString("utf8"),
        step: step ?? 0,
        value: (vf.find((x) => x.f === 2)!.v as Buffer).readFloatLE(0),
      });
    }
  }
  return out;
}

describe("aggregating runs across seeds", () => {
  it("aligns evaluations by iteration (those every run has) and takes mean, min, max and sample sd", () => {
    const runs = [
      { seed: 0, out: "a", evals: [rec(1, 100, 1), rec(2, 200, 3), rec(3, 300, 5)] },
      { seed: 1, out: "b", evals: [rec(1, 110, 2), rec(2, 190, 7)] },
      { seed: 2, out: "c", evals: [rec(1, 90, 6), rec(2, 210, -1), rec(4, 400, 9)] },
    ];
    const c = aggregateSeeds(runs);
    expect(c.curve.map((p) => p.iteration)).toEqual([1, 2]);
    expect(c.curve[0].timesteps).toEqual({ mean: 100, min: 90, max: 110, sd: 10 });
    expect(c.curve[0].values.meanEdgeVsNormalizer.mean).toBeCloseTo(3, 12);
    expect(c.curve[0].values.meanEdgeVsNormalizer.min).toBe(1);
    expect(c.curve[0].values.meanEdgeVsNormalizer.max).toBe(6);
    expect(c.curve[0].values.meanEdgeVsNormalizer.sd).toBeCloseTo(Math.sqrt(7), 12); // (4+1+9)/2
    expect(c.curve[1].values.meanEdge.mean).toBeCloseTo(4, 12);
    // The final figures are each run's last evaluation: 5, 7 and 9.
    expect(c.final.meanEdgeVsNormalizer).toMatchObject({ min: 5, max: 9 });
    expect(c.final.meanEdgeVsNormalizer.mean).toBeCloseTo(7, 12);
    expect(c.final.meanEdgeVsNormalizer.sd).toBeCloseTo(2, 12);
    expect(c.final.timesteps).toMatchObject({ min: 190, max: 400 });
    expect(() => aggregateSeeds([{ seed: 0, out: "x", evals: [] }])).toThrow(/x has no held-out evaluation/);
  });
});

describe("reading a run's evaluations", () => {
  it("keeps eval records only, and of an iteration evaluated twice (a resume from an older checkpoint) the later", () => {
    const dir = join(tmp, "resumed");
    mkdirSync(dir, { recursive: true });
    const line = (o: object) => JSON.stringify(o);
    const e = (iteration: number, vs: number) => ({
      type: "eval",
      wallSeconds: 1,
      iteration,
      timesteps: iteration * 10,
      episodes: 4,
      meanReturn: 0,
      meanEdge: 0,
      meanEdgeVsNormalizer: vs,
      seeds: [500000, 500001],
    });
    const lines = [e(1, 1), { type: "train", iteration: 2 }, e(2, 2), e(3, 3), e(2, 20), e(3, 30), e(4, 40)];
    writeFileSync(join(dir, "metrics.jsonl"), lines.map(line).join("\n") + "\n");
    const got = readEvalRecords(dir);
    expect(got.map((r) => [r.iteration, r.meanEdgeVsNormalizer, r.timesteps])).toEqual([
      [1, 1, 10],
      [2, 20, 20],
      [3, 30, 30],
      [4, 40, 40],
    ]);
  });
});

describe("propamm train --seeds", () => {
  it("trains K ordinary runs in <out>/seed-<s>/ and writes curves, SVG, TensorBoard and a table that follow from their files", async () => {
    const out = join(tmp, "seeds");
    const args = ["train", ...TINY, ...EVAL, "--seed", "3", "--seeds", "2", "--out", out];
    const r = await cli(args);
    expect(r.status, show(args, r)).toBe(0);
    expect(readdirSync(out).sort()).toEqual(["learning_curve.svg", "seed-3", "seed-4", "seeds.json", "tb"]);
    const per = [evals(join(out, "seed-3")), evals(join(out, "seed-4"))];
    for (const e of per) expect(e.length).toBeGreaterThanOrEqual(2);

    // Seed 3's run is exactly the run `train --seed 3` makes on its own.
    const alone = join(tmp, "alone");
    const a = await cli(["train", ...TINY, ...EVAL, "--seed", "3", "--out", alone]);
    expect(a.status, show(args, a)).toBe(0);
    const records = (dir: string) =>
      readFileSync(join(dir, "metrics.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => {
          const { wallSeconds, ...rest } = JSON.parse(l) as Record<string, unknown>;
          expect(typeof wallSeconds).toBe("number");
          return rest;
        });
    expect(records(alone)).toEqual(records(join(out, "seed-3")));
    const weights = (dir: string) =>
      readFileSync(join(dir, readFileSync(join(dir, "LATEST"), "utf8").trim(), "policy", "weights.bin"));
    expect(Buffer.compare(weights(alone), weights(join(out, "seed-3")))).toBe(0);

    // seeds.json: recomputed from the two metrics.jsonl files.
    const j = JSON.parse(readFileSync(join(out, "seeds.json"), "utf8"));
    const iterations = per[0].map((e) => e.iteration).filter((it) => per[1].some((e) => e.iteration === it));
    expect(j.curve.map((p: { iteration: number }) => p.iteration)).toEqual(iterations);
    for (const [k, it] of iterations.entries()) {
      const v = per.map((e) => e.find((x) => x.iteration === it)!.meanEdgeVsNormalizer);
      const p = j.curve[k].values.meanEdgeVsNormalizer;
      expect(p.mean).toBeCloseTo((v[0] + v[1]) / 2, 12);
      expect(p.min).toBe(Math.min(...v));
      expect(p.max).toBe(Math.max(...v));
      expect(p.sd).toBeCloseTo(Math.abs(v[0] - v[1]) / Math.SQRT2, 12);
    }
    const last = per.map((e) => e[e.length - 1]);
    for (const key of ["meanEdgeVsNormalizer", "meanEdge", "meanReturn", "timesteps"]) {
      expect(j.final[key].mean).toBeCloseTo((last[0][key] + last[1][key]) / 2, 12);
      expect(j.final[key].min).toBe(Math.min(last[0][key], last[1][key]));
      expect(j.final[key].max).toBe(Math.max(last[0][key], last[1][key]));
    }
    // The table prints the same final figures.
    const row = r.stdout.split("\n").find((l) => l.startsWith("edge vs normalizer"))!;
    const cells = row.trim().split(/\s+/).slice(3).map(Number);
    const f = j.final.meanEdgeVsNormalizer;
    expect(cells.slice(0, 3)).toEqual([f.mean, f.min, f.max].map((v: number) => Number(v.toFixed(2))));
    expect(r.stdout).toMatch(/^Final held-out evaluation across 2 training seeds/m);

    // The SVG: one mean line with one min-max band, one line per seed, with as many points as evaluations.
    const svg = readFileSync(join(out, "learning_curve.svg"), "utf8");
    const polylines = [...svg.matchAll(/<polyline points="([^"]*)"/g)].map((m) => m[1].split(" ").length);
    expect(polylines).toEqual([iterations.length, per[0].length, per[1].length]);
    const bands = [...svg.matchAll(/<path d="M ([^"]*) Z" fill="[^"]*" fill-opacity="0.15"/g)];
    expect(bands).toHaveLength(1);
    expect(bands[0][1].split(" L ")).toHaveLength(2 * iterations.length);
    expect(svg).toContain("mean of 2 seeds (band: min-max)");

    // TensorBoard: mean/min/max of each metric at each common iteration, at the mean timesteps.
    const files = readdirSync(join(out, "tb"));
    expect(files).toHaveLength(1);
    const s = scalars(readFileSync(join(out, "tb", files[0])));
    expect(s).toHaveLength(3 * 3 * iterations.length);
    const means = s.filter((x) => x.tag === "eval_seeds/meanEdgeVsNormalizer/mean");
    expect(means.map((x) => x.step)).toEqual(
      j.curve.map((p: { timesteps: { mean: number } }) => Math.round(p.timesteps.mean)),
    );
    means.forEach((x, k) => expect(x.value).toBe(Math.fround(j.curve[k].values.meanEdgeVsNormalizer.mean)));
    const maxes = s.filter((x) => x.tag === "eval_seeds/meanReturn/max");
    maxes.forEach((x, k) => expect(x.value).toBe(Math.fround(j.curve[k].values.meanReturn.max)));
  }, 240_000);

  it("refuses --seeds 0 and --seeds > 1 without held-out evaluations, with exit code 2", async () => {
    const cases: [string[], RegExp][] = [
      [["--seeds", "0"], /--seeds <k>' argument '0' is invalid/],
      [
        ["--seeds", "2", "--eval-every", "0"],
        /--seeds > 1 compares the runs' held-out evaluations: give --eval-every > 0/,
      ],
    ];
    for (const [extra, message] of cases) {
      const args = ["train", ...TINY, "--out", join(tmp, "bad"), ...extra];
      const r = await cli(args);
      expect(r.status, show(args, r)).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(STACK_FRAME);
    }
  });
});
