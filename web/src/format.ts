/** Numbers, estimates, sizes and times as the dashboard prints them. */
import type { Estimate } from "./api";

/** A number with a precision that suits its size; NaN and infinities as a dash. */
export function num(x: number | null | undefined, signed = false): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  const a = Math.abs(x);
  const digits = a >= 1000 ? 0 : a >= 100 ? 1 : a >= 0.1 || a === 0 ? 2 : 3;
  const s = a < 0.001 && a > 0 ? x.toExponential(1) : x.toFixed(digits);
  return signed && x > 0 ? `+${s}` : s.replace("-", "−");
}

/** `±h` for a CI half-width (a dash when it cannot be computed, e.g. one seed). */
export const pm = (ci: number): string => `± ${Number.isFinite(ci) ? num(ci) : "–"}`;

export const est = (e: Estimate | null | undefined, signed = true): string =>
  e ? `${num(e.mean, signed)} ${pm(e.ci95)}` : "–";

export const pct = (x: number, digits = 0): string => (Number.isFinite(x) ? `${(x * 100).toFixed(digits)}%` : "–");

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

const toMs = (t: number | string): number => (typeof t === "number" ? t : Date.parse(t));

/** "12 s ago", "3 min ago", "yesterday"...; older than a week: the date. */
export function ago(t: number | string, now = Date.now()): string {
  const d = (now - toMs(t)) / 1000;
  if (!Number.isFinite(d)) return "–";
  if (d < 5) return "just now";
  if (d < 60) return `${Math.round(d)} s ago`;
  if (d < 3600) return `${Math.round(d / 60)} min ago`;
  if (d < 86400) return `${Math.round(d / 3600)} h ago`;
  if (d < 7 * 86400) return `${Math.round(d / 86400)} d ago`;
  return new Date(toMs(t)).toLocaleDateString();
}

export const dateTime = (t: number | string | null): string => (t === null ? "–" : new Date(toMs(t)).toLocaleString());

export const shortId = (id: string): string => id.slice(0, 8);
