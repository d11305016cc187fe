/**
 * Small SVG charts for evaluation reports (no dependencies): overlaid histograms and line
 * charts with confidence bands. Plain text files a researcher can open in any browser.
 */
import { mean } from "../arena/stats.js";

const PALETTE = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#ff7f0e",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#17becf",
  "#bcbd22",
];
const W = 760;
const H = 420;
const M = { left: 70, right: 20, top: 40, bottom: 90 };

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** "Nice" tick values covering [lo, hi]. */
export function ticks(lo: number, hi: number, count = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

function fmt(v: number): string {
  const a = Math.abs(v);
  if (Number.isInteger(v) || a >= 10) return v.toFixed(0);
  return a >= 1 ? v.toFixed(1) : v.toFixed(2);
}

interface Frame {
  x: (v: number) => number;
  y: (v: number) => number;
  parts: string[];
}

function frame(
  title: string,
  xLabel: string,
  yLabel: string,
  xr: [number, number],
  yr: [number, number],
  xTicks?: number[],
): Frame {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x = (v: number): number => M.left + ((v - xr[0]) / (xr[1] - xr[0] || 1)) * pw;
  const y = (v: number): number => M.top + ph - ((v - yr[0]) / (yr[1] - yr[0] || 1)) * ph;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
  for (const t of ticks(yr[0], yr[1])) {
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y(t)}" y2="${y(t)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${M.left - 6}" y="${y(t) + 4}" text-anchor="end">${fmt(t)}</text>`);
  }
  for (const t of xTicks ?? ticks(xr[0], xr[1])) {
    parts.push(`<line x1="${x(t)}" x2="${x(t)}" y1="${M.top + ph}" y2="${M.top + ph + 5}" stroke="#333"/>`);
    parts.push(`<text x="${x(t)}" y="${M.top + ph + 18}" text-anchor="middle">${fmt(t)}</text>`);
  }
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${M.left + pw / 2}" y="${M.top + ph + 38}" text-anchor="middle">${esc(xLabel)}</text>`);
  parts.push(
    `<text transform="translate(16 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
  );
  return { x, y, parts };
}

function legend(parts: string[], names: string[]): void {
  const y0 = H - 28;
  let x0 = M.left;
  names.forEach((n, i) => {
    parts.push(
      `<rect x="${x0}" y="${y0 - 9}" width="12" height="12" fill="${PALETTE[i % PALETTE.length]}" fill-opacity="0.8"/>`,
    );
    parts.push(`<text x="${x0 + 16}" y="${y0 + 1}">${esc(n)}</text>`);
    x0 += 28 + Math.min(260, n.length * 7);
  });
}

export interface Series {
  name: string;
  values: number[];
}

/** Overlaid step histograms on a shared bin grid, with each series' mean marked. */
export function histogramSvg(title: string, xLabel: string, series: Series[], bins = 40): string {
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  if (!(hi > lo)) {
    lo -= 1;
    hi += 1;
  }
  const width = (hi - lo) / bins;
  const counts = series.map((s) => {
    const c = new Array<number>(bins).fill(0);
    for (const v of s.values) if (Number.isFinite(v)) c[Math.min(bins - 1, Math.floor((v - lo) / width))]++;
    return c.map((k) => k / Math.max(1, s.values.length));
  });
  const ymax = Math.max(...counts.flat(), 1e-9) * 1.1;
  const f = frame(title, xLabel, "fraction of simulations", [lo, hi], [0, ymax]);
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    let d = `M ${f.x(lo)} ${f.y(0)}`;
    counts[i].forEach((c, b) => {
      d += ` L ${f.x(lo + b * width)} ${f.y(c)} L ${f.x(lo + (b + 1) * width)} ${f.y(c)}`;
    });
    d += ` L ${f.x(hi)} ${f.y(0)} Z`;
    f.parts.push(`<path d="${d}" fill="${color}" fill-opacity="0.18" stroke="${color}" stroke-width="1.5"/>`);
    const m = s.values.length > 0 ? mean(s.values) : 0;
    f.parts.push(
      `<line x1="${f.x(m)}" x2="${f.x(m)}" y1="${f.y(0)}" y2="${f.y(ymax)}" stroke="${color}" stroke-dasharray="5 3" stroke-width="1.5"/>`,
    );
  });
  legend(
    f.parts,
    series.map((s) => s.name),
  );
  f.parts.push("</svg>");
  return f.parts.join("\n");
}

export interface Line {
  name: string;
  x: number[];
  y: number[];
  /** Optional half-width of a band around y (e.g. a 95% CI). */
  band?: number[];
  /** Optional lower and upper edges of a band (e.g. the min and max across runs), instead of `band`. */
  lower?: number[];
  upper?: number[];
  /** Stroke width (default 2) and opacity (default 1) of the line. */
  width?: number;
  opacity?: number;
}

/** The band's lower and upper edge at each point, if the line has one. */
function bandEdges(l: Line): { lo: number[]; hi: number[] } | null {
  if (l.lower && l.upper) return { lo: l.lower, hi: l.upper };
  if (l.band) return { lo: l.y.map((v, k) => v - l.band![k]), hi: l.y.map((v, k) => v + l.band![k]) };
  return null;
}

export function lineChartSvg(
  title: string,
  xLabel: string,
  yLabel: string,
  lines: Line[],
  opts: { yRange?: [number, number]; marker?: boolean } = {},
): string {
  const xs = lines.flatMap((l) => l.x);
  const ys = lines
    .flatMap((l) => {
      const b = bandEdges(l);
      return b ? [...l.y, ...b.lo, ...b.hi] : l.y;
    })
    .filter(Number.isFinite);
  const xr: [number, number] = [Math.min(...xs), Math.max(...xs)];
  if (!(xr[1] > xr[0])) xr[1] = xr[0] + 1;
  let yr: [number, number] = opts.yRange ?? [Math.min(...ys), Math.max(...ys)];
  if (!(yr[1] > yr[0])) yr = [yr[0] - 1, yr[0] + 1];
  const pad = (yr[1] - yr[0]) * 0.05;
  if (!opts.yRange) yr = [yr[0] - pad, yr[1] + pad];
  const f = frame(title, xLabel, yLabel, xr, yr);
  lines.forEach((l, i) => {
    const color = PALETTE[i % PALETTE.length];
    const b = bandEdges(l);
    if (b) {
      const up = l.x.map((x, k) => `${f.x(x)} ${f.y(b.hi[k])}`);
      const down = l.x.map((x, k) => `${f.x(x)} ${f.y(b.lo[k])}`).reverse();
      f.parts.push(`<path d="M ${[...up, ...down].join(" L ")} Z" fill="${color}" fill-opacity="0.15" stroke="none"/>`);
    }
    const opacity = l.opacity === undefined ? "" : ` stroke-opacity="${l.opacity}"`;
    f.parts.push(
      `<polyline points="${l.x.map((x, k) => `${f.x(x)},${f.y(l.y[k])}`).join(" ")}" fill="none" stroke="${color}" stroke-width="${l.width ?? 2}"${opacity}/>`,
    );
    if (opts.marker)
      for (let k = 0; k < l.x.length; k++)
        f.parts.push(`<circle cx="${f.x(l.x[k])}" cy="${f.y(l.y[k])}" r="3" fill="${color}"/>`);
  });
  legend(
    f.parts,
    lines.map((l) => l.name),
  );
  f.parts.push("</svg>");
  return f.parts.join("\n");
}
