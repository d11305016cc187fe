/**
 * A job's live log: server-sent events from /api/jobs/{id}/logs/stream (`log` events, then one
 * `end` event), batched per animation frame, shown in a panel that follows the tail while the
 * reader is at the bottom.
 */
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { JobState, LogLine } from "./api";

export interface LogState {
  lines: LogLine[];
  /** The `metrics` lines (a train job's metrics.jsonl records), parsed. */
  metrics: Record<string, unknown>[];
  end: { state: JobState | "deleted"; error: string | null } | null;
  connected: boolean;
}

/** Lines kept on screen; older ones are dropped (the whole log stays at /api/jobs/{id}/logs). */
const MAX_LINES = 5000;

export function useJobLog(jobId: string): LogState {
  const [state, setState] = useState<LogState>({ lines: [], metrics: [], end: null, connected: false });
  useEffect(() => {
    setState({ lines: [], metrics: [], end: null, connected: false });
    const es = new EventSource(`/api/jobs/${jobId}/logs/stream`);
    let pending: LogLine[] = [];
    let frame = 0;
    const flush = (): void => {
      frame = 0;
      const batch = pending;
      pending = [];
      if (batch.length === 0) return;
      const metrics: Record<string, unknown>[] = [];
      for (const l of batch) {
        if (l.stream !== "metrics") continue;
        try {
          metrics.push(JSON.parse(l.line) as Record<string, unknown>);
        } catch {
          // a torn line: skipped
        }
      }
      setState((s) => {
        const lines = s.lines.concat(batch.filter((l) => l.stream !== "metrics"));
        return {
          ...s,
          lines: lines.length > MAX_LINES ? lines.slice(lines.length - MAX_LINES) : lines,
          metrics: metrics.length ? s.metrics.concat(metrics) : s.metrics,
        };
      });
    };
    es.addEventListener("open", () => setState((s) => ({ ...s, connected: true })));
    es.addEventListener("log", (ev) => {
      pending.push(JSON.parse((ev as MessageEvent<string>).data) as LogLine);
      if (!frame) frame = requestAnimationFrame(flush);
    });
    es.addEventListener("end", (ev) => {
      es.close();
      if (frame) cancelAnimationFrame(frame);
      flush();
      const end = JSON.parse((ev as MessageEvent<string>).data) as LogState["end"];
      setState((s) => ({ ...s, end, connected: false }));
    });
    es.addEventListener("error", () => setState((s) => ({ ...s, connected: false })));
    return () => {
      es.close();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [jobId]);
  return state;
}

const clock = (iso: string): string => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleTimeString([], { hour12: false });
};

export function LogView({ log, running }: { log: LogState; running: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  const [follow, setFollow] = useState(true);
  const following = useRef(true);

  useLayoutEffect(() => {
    const el = box.current;
    if (el && following.current) el.scrollTop = el.scrollHeight;
  }, [log.lines]);

  const onScroll = (): void => {
    const el = box.current!;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 32;
    if (atBottom !== following.current) {
      following.current = atBottom;
      setFollow(atBottom);
    }
  };
  const jump = (): void => {
    const el = box.current!;
    following.current = true;
    setFollow(true);
    el.scrollTop = el.scrollHeight;
  };

  return (
    <div class="log-wrap">
      <div class="log" ref={box} onScroll={onScroll} data-testid="log" tabIndex={0} aria-live="off">
        {log.lines.length === 0 && (
          <div class="log-empty">
            {log.end ? "(no output)" : running ? "Waiting for output…" : "Waiting for a worker…"}
          </div>
        )}
        {log.lines.map((l) => (
          <div key={l.id} class={`ll ll-${l.stream}`}>
            <span class="ts" aria-hidden="true">
              {clock(l.at)}
            </span>
            <span class="tx">{l.line || " "}</span>
          </div>
        ))}
        {log.end && (
          <div class={`ll ll-end ll-end-${log.end.state}`} data-testid="log-end">
            <span class="ts" aria-hidden="true" />
            <span class="tx">
              ■ {log.end.state}
              {log.end.error ? `: ${log.end.error}` : ""}
            </span>
          </div>
        )}
      </div>
      {!follow && (
        <button type="button" class="follow" onClick={jump}>
          ↓ Follow
        </button>
      )}
    </div>
  );
}
