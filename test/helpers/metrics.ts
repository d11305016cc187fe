/** Reading a training run's metrics.jsonl for comparisons between runs. */
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** Every row of `<out>/metrics.jsonl` without its wall-clock field (the one number that may differ between equal runs). */
export function metricsOf(out: string): Record<string, unknown>[] {
  return readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => {
      const { wallSeconds: _w, ...rest } = JSON.parse(l) as Record<string, unknown>;
      return rest;
    });
}
