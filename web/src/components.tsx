/** Small shared pieces: state badges, CI bars, estimates, notices, key-value lists. */
import type { ComponentChildren } from "preact";
import type { Estimate, JobState } from "./api";
import { ago, dateTime, est, num, pm } from "./format";

export function StateBadge({ state, cancelling }: { state: JobState; cancelling?: boolean }) {
  return (
    <span class={`badge badge-${state}`} data-state={state}>
      {state === "running" && <span class="pulse" aria-hidden="true" />}
      {cancelling && state === "running" ? "cancelling" : state}
    </span>
  );
}

/** mean ± ci, with the mean emphasised. */
export function Est({ e, signed = true }: { e: Estimate | null | undefined; signed?: boolean }) {
  if (!e) return <span class="muted">–</span>;
  return (
    <span class="est" title={`mean ${e.mean}\n95% CI half-width ${e.ci95}\nstd ${e.std}\nn ${e.n}`}>
      <span class={`mean ${e.mean > 0 ? "pos" : e.mean < 0 ? "neg" : ""}`}>{num(e.mean, signed)}</span>{" "}
      <span class="ci">{pm(e.ci95)}</span>
    </span>
  );
}

/** The domain that holds every mean ± ci (and zero), padded a little. */
export function ciDomain(es: readonly (Estimate | null)[]): [number, number] {
  let lo = 0;
  let hi = 0;
  for (const e of es) {
    if (!e) continue;
    const h = Number.isFinite(e.ci95) ? e.ci95 : 0;
    lo = Math.min(lo, e.mean - h);
    hi = Math.max(hi, e.mean + h);
  }
  const pad = (hi - lo) * 0.04 || 1;
  return [lo - pad, hi + pad];
}

/** A small horizontal interval: the 95% CI as a bar, the mean as a dot, zero as a tick. */
export function CiBar({ e, domain, width = 140 }: { e: Estimate; domain: [number, number]; width?: number }) {
  const h = 18;
  const [lo, hi] = domain;
  // Percentages of the width: the same bar stretches to any width (a table cell, a phone's row).
  const x = (v: number): number => ((v - lo) / (hi - lo || 1)) * 94 + 3;
  const ci = Number.isFinite(e.ci95) ? e.ci95 : 0;
  const cls = e.mean - ci > 0 ? "pos" : e.mean + ci < 0 ? "neg" : "mid";
  const left = x(e.mean - ci);
  return (
    <svg class={`cibar ${cls}`} width={width} height={h} aria-label={`95% CI ${est(e)}`} role="img">
      <line class="track" x1="3%" x2="97%" y1={h / 2} y2={h / 2} />
      <line class="zero" x1={`${x(0)}%`} x2={`${x(0)}%`} y1={2} y2={h - 2} />
      <rect
        class="range"
        x={`${left}%`}
        width={`${Math.max(1, x(e.mean + ci) - left)}%`}
        y={h / 2 - 3}
        height={6}
        rx={3}
      />
      <circle class="dot" cx={`${x(e.mean)}%`} cy={h / 2} r={4} />
    </svg>
  );
}

export function Loading({ what = "Loading" }: { what?: string }) {
  return (
    <div class="loading" role="status">
      <span class="spinner" aria-hidden="true" /> {what}…
    </div>
  );
}

export function Notice({
  kind = "error",
  children,
}: {
  kind?: "error" | "warn" | "info" | "ok";
  children: ComponentChildren;
}) {
  return (
    <div class={`notice notice-${kind}`} role={kind === "error" ? "alert" : "status"}>
      {children}
    </div>
  );
}

export function Card({
  title,
  actions,
  children,
  class: cls = "",
}: {
  title?: ComponentChildren;
  actions?: ComponentChildren;
  children: ComponentChildren;
  class?: string;
}) {
  return (
    <section class={`card ${cls}`}>
      {(title || actions) && (
        <header class="card-head">
          {title && <h2>{title}</h2>}
          {actions && <div class="card-actions">{actions}</div>}
        </header>
      )}
      {children}
    </section>
  );
}

/** A definition list of facts, two columns wide on a laptop, one on a phone. */
export function Facts({ items }: { items: [ComponentChildren, ComponentChildren][] }) {
  return (
    <dl class="facts">
      {items.map(([k, v], i) => (
        <div key={i}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

export function When({ t }: { t: number | string | null }) {
  if (t === null) return <span class="muted">–</span>;
  return (
    <time dateTime={new Date(t).toISOString()} title={dateTime(t)}>
      {ago(t)}
    </time>
  );
}

export const AuthorLink = ({ author }: { author: string }) => (
  <a class="author" href={`/authors/${encodeURIComponent(author)}`}>
    {author}
  </a>
);

export const EntryLink = ({ id, name, version }: { id: string; name: string; version: number }) => (
  <a class="entry-link" href={`/entries/${id}`}>
    {name} <span class="version">v{version}</span>
  </a>
);

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="empty">{children}</div>;
}
