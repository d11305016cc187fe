/** Text output for the CLI: the spec §7 table, paired differences and error counts. */
import type { Estimate, Summary } from "../arena/stats.js";

function signed(x: number, digits = 2): string {
  if (!Number.isFinite(x)) return "n/a";
  return (x >= 0 ? "+" : "") + x.toFixed(digits);
}

function ci(e: Estimate, digits = 2): string {
  return Number.isFinite(e.ci95) ? `±${e.ci95.toFixed(digits)}` : "";
}

function pad(s: string, w: number, right = false): string {
  return right ? s.padStart(w) : s.padEnd(w);
}

export function formatTable(summary: Summary): string {
  const nameW = Math.max(24, ...summary.rows.map((r) => r.name.length + (r.oracle ? 0 : 0))) + 2;
  const head =
    pad("Strategy", nameW) +
    pad("Mean Edge", 22, true) +
    pad("Std Edge", 11, true) +
    pad("vs Norm", 22, true) +
    pad("Sharpe", 9, true) +
    pad("Final Cap%", 12, true);
  const lines = [head, "-".repeat(head.length)];
  for (const r of summary.rows) {
    const cap = r.normalizer ? "-" : `${(r.finalWeight.mean * 100).toFixed(1)}%`;
    const vs = r.normalizer ? "-" : `${signed(r.vsNormalizer.mean)} ${ci(r.vsNormalizer)}`;
    lines.push(
      pad(r.name, nameW) +
        pad(`${signed(r.edge.mean)} ${ci(r.edge)}`, 22, true) +
        pad(Number.isFinite(r.edge.std) ? r.edge.std.toFixed(2) : "n/a", 11, true) +
        pad(vs, 22, true) +
        pad(Number.isFinite(r.sharpe) ? r.sharpe.toFixed(3) : "n/a", 9, true) +
        pad(cap, 12, true),
    );
  }
  lines.push(`(${summary.simulations} simulations; ± is the 95% confidence interval of the mean)`);
  if (summary.rows.some((r) => r.oracle)) {
    lines.push("Oracle rows are a research ceiling: they know the fair price and cannot be deployed.");
  }
  return lines.join("\n");
}

export function formatPaired(summary: Summary): string {
  if (summary.paired.length === 0) return "";
  const lines = ["Paired differences (same seeds):"];
  for (const p of summary.paired) {
    lines.push(
      `  ${p.a} - ${p.b}: ${signed(p.diff.mean)} ${ci(p.diff)}  (wins ${(p.winRate * 100).toFixed(1)}% of simulations)`,
    );
  }
  return lines.join("\n");
}

export function formatErrors(summary: Summary): string {
  const lines: string[] = [];
  for (const r of summary.rows) {
    const e = r.errors;
    const total = e.quoteErrors + e.invalidQuotes + e.hookErrors + e.feeErrors;
    if (e.stopped) lines.push(`  ${r.name}: stopped in ${e.stopped} simulation(s); first: ${e.firstStopped ?? ""}`);
    if (total === 0) continue;
    lines.push(
      `  ${r.name}: ${e.quoteErrors} quote throws, ${e.invalidQuotes} invalid quotes (counted as 0), ${e.hookErrors} hook throws, ${e.feeErrors} bad fee declarations${e.firstError ? `; first: ${e.firstError}` : ""}${e.lastError ? `; last: ${e.lastError}` : ""}`,
    );
  }
  return lines.length ? ["Contained strategy errors (the run continued):", ...lines].join("\n") : "";
}
