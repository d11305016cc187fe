/** metrics.jsonl: one JSON object per line, appended as training goes, flushed each line. */
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";

export class MetricsLog {
  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
  }

  write(record: Record<string, unknown>): void {
    appendFileSync(this.path, JSON.stringify(record) + "\n");
  }
}
