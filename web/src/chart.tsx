/**
 * uPlot in Preact: a chart that fills its container's width (following resizes), takes its
 * colours from the page's CSS variables (light or dark), and updates its data in place.
 */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Theme {
  fg: string;
  muted: string;
  grid: string;
  accent: string;
  accent2: string;
  good: string;
  bad: string;
  palette: string[];
}

export function theme(): Theme {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string): string => css.getPropertyValue(name).trim() || fallback;
  return {
    fg: v("--fg", "#1b1f24"),
    muted: v("--muted", "#57606a"),
    grid: v("--grid", "rgba(128,128,128,0.18)"),
    accent: v("--accent", "#4f6bed"),
    accent2: v("--accent-2", "#e8833a"),
    good: v("--good", "#1a7f37"),
    bad: v("--bad", "#cf222e"),
    palette: [1, 2, 3, 4, 5, 6].map((i) => v(`--series-${i}`, "#888")),
  };
}

/** Axis defaults in the theme's colours. */
export function axis(t: Theme, extra: Partial<uPlot.Axis> = {}): uPlot.Axis {
  return {
    stroke: t.muted,
    grid: { stroke: t.grid, width: 1 },
    ticks: { stroke: t.grid, width: 1 },
    font: "12px system-ui, sans-serif",
    labelFont: "12px system-ui, sans-serif",
    ...extra,
  };
}

export interface ChartProps {
  /** Builds the options for a width (the theme is read when the chart is made). */
  options: (t: Theme) => Omit<uPlot.Options, "width" | "height">;
  data: uPlot.AlignedData;
  height?: number;
  /** Describes the chart for screen readers. */
  label: string;
}

export function Chart({ options, data, height = 260, label }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latest = useRef(data);
  latest.current = data;

  useEffect(() => {
    const el = box.current!;
    const make = (): void => {
      plot.current?.destroy();
      const width = Math.max(200, el.clientWidth);
      plot.current = new uPlot({ ...options(theme()), width, height }, latest.current, el);
    };
    make();
    let lastWidth = el.clientWidth;
    const ro = new ResizeObserver(() => {
      const w = el.clientWidth;
      if (w !== lastWidth && w > 0) {
        lastWidth = w;
        plot.current?.setSize({ width: Math.max(200, w), height });
      }
    });
    ro.observe(el);
    const scheme = window.matchMedia("(prefers-color-scheme: dark)");
    scheme.addEventListener("change", make);
    return () => {
      ro.disconnect();
      scheme.removeEventListener("change", make);
      plot.current?.destroy();
      plot.current = null;
    };
  }, [options, height]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return <div class="chart" ref={box} role="img" aria-label={label} />;
}

/** An x axis of whole numbers (epochs, iterations, submissions). */
export const intAxis = (t: Theme, label: string): uPlot.Axis =>
  axis(t, {
    label,
    incrs: [0, 1, 2, 3, 4, 5, 6, 7, 8].flatMap((k) => [1, 2, 5].map((m) => m * 10 ** k)),
    values: (_u, ticks) => ticks.map((v) => (Number.isInteger(v) ? String(v) : "")),
  });

/** Bars centred on x values (a histogram's bin centres). */
export const barPaths = (): uPlot.Series.PathBuilder => uPlot.paths.bars!({ size: [0.9, 80], align: 0 });

/** Draws a vertical line at x (data units) with a small label at its top (or bottom): a mean, zero, a threshold. */
export function vline(u: uPlot, x: number, color: string, text: string, dash: number[] = [], bottom = false): void {
  const px = u.valToPos(x, "x", true);
  if (!Number.isFinite(px) || px < u.bbox.left - 1 || px > u.bbox.left + u.bbox.width + 1) return;
  const ctx = u.ctx;
  const dpr = devicePixelRatio || 1;
  ctx.save();
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.5 * dpr;
  ctx.setLineDash(dash.map((d) => d * dpr));
  ctx.beginPath();
  ctx.moveTo(px, u.bbox.top);
  ctx.lineTo(px, u.bbox.top + u.bbox.height);
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.fillStyle = color;
  ctx.font = `${11 * dpr}px system-ui, sans-serif`;
  const right = px > u.bbox.left + u.bbox.width * 0.75;
  ctx.textAlign = right ? "right" : "left";
  ctx.fillText(
    text,
    px + (right ? -4 : 4) * dpr,
    bottom ? u.bbox.top + u.bbox.height - 4 * dpr : u.bbox.top + 12 * dpr,
  );
  ctx.restore();
}

/** Draws a horizontal line at y (data units, scale `y`). */
export function hline(u: uPlot, y: number, color: string, dash: number[] = [4, 4]): void {
  const py = u.valToPos(y, "y", true);
  if (!Number.isFinite(py) || py < u.bbox.top || py > u.bbox.top + u.bbox.height) return;
  const ctx = u.ctx;
  const dpr = devicePixelRatio || 1;
  ctx.save();
  ctx.strokeStyle = color;
  ctx.lineWidth = dpr;
  ctx.setLineDash(dash.map((d) => d * dpr));
  ctx.beginPath();
  ctx.moveTo(u.bbox.left, py);
  ctx.lineTo(u.bbox.left + u.bbox.width, py);
  ctx.stroke();
  ctx.restore();
}
