/** Submitting a strategy (or validating, running or evaluating one) as a job. */
import { useEffect, useState } from "preact/hooks";
import { api, ApiError, type Job, type JobType } from "../api";
import { Card, Notice } from "../components";
import { bytes } from "../format";
import { useResource, useToken } from "../hooks";
import { navigate } from "../router";
import type { Competitions } from "./leaderboard";

const FILE_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\.(ts|js|mjs|rs)$/;

const TYPES: { type: Exclude<JobType, "train">; label: string; help: string }[] = [
  {
    type: "submit",
    label: "Submit",
    help: "validate, then evaluate on the competition's seeds: adds a leaderboard row",
  },
  { type: "validate", label: "Validate", help: "check the strategy's rules (monotone, finite, bounded...) only" },
  { type: "run", label: "Run", help: "simulate against opponents and keep result.json" },
  { type: "eval", label: "Evaluate", help: "evaluate against opponents with plots, without a leaderboard row" },
];

/** The token box: kept in localStorage, checked against /api/me. */
export function TokenField() {
  const [token, setToken] = useToken();
  const [draft, setDraft] = useState(token);
  const [show, setShow] = useState(false);
  const [me, setMe] = useState<{ author: string; role: string } | null>(null);
  const [err, setErr] = useState<string | null>(null);
  useEffect(() => setDraft(token), [token]);
  useEffect(() => {
    setMe(null);
    setErr(null);
    if (!token) return;
    let live = true;
    api.get<{ author: string; role: string }>("/api/me", token).then(
      (m) => live && setMe(m),
      (e: Error) => live && setErr(e.message),
    );
    return () => {
      live = false;
    };
  }, [token]);
  return (
    <div class="field">
      <label for="token">API token</label>
      <div class="input-row">
        <input
          id="token"
          name="token"
          type={show ? "text" : "password"}
          autocomplete="off"
          spellcheck={false}
          placeholder="pamm_…"
          value={draft}
          onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
          onChange={(e) => setToken((e.target as HTMLInputElement).value)}
        />
        <button type="button" class="ghost" onClick={() => setShow(!show)} aria-pressed={show}>
          {show ? "Hide" : "Show"}
        </button>
        {token && (
          <button type="button" class="ghost" onClick={() => setToken("")}>
            Forget
          </button>
        )}
      </div>
      <p class="hint" data-testid="token-status">
        {me ? (
          <span class="ok">
            ✓ Signed in as <b>{me.author}</b>
            {me.role === "admin" ? " (admin)" : ""}
          </span>
        ) : err ? (
          <span class="bad">{err}</span>
        ) : (
          "Kept in this browser only. The platform's first start writes one for the author “local” to <data-dir>/tokens.txt."
        )}
      </p>
    </div>
  );
}

export function SubmitPage() {
  const [token] = useToken();
  const comps = useResource<Competitions>("/api/competitions");
  const [mode, setMode] = useState<"file" | "paste">("file");
  const [filename, setFilename] = useState("");
  const [source, setSource] = useState("");
  const [type, setType] = useState<Exclude<JobType, "train">>("submit");
  const [name, setName] = useState("");
  const [competition, setCompetition] = useState("");
  const [simulations, setSimulations] = useState("");
  const [opponents, setOpponents] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const onFile = async (f: File | undefined): Promise<void> => {
    setError(null);
    if (!f) return;
    setFilename(f.name);
    setSource(await f.text());
  };

  const problems: string[] = [];
  if (!token) problems.push("an API token");
  if (!source.trim()) problems.push(mode === "file" ? "a strategy file" : "the strategy's source");
  if (!FILE_RE.test(filename)) problems.push("a file name ending in .ts, .js, .mjs or .rs");

  const submit = async (ev: Event): Promise<void> => {
    ev.preventDefault();
    setError(null);
    if (problems.length) {
      setError(`Needs ${problems.join(", ")}.`);
      return;
    }
    const body: Record<string, unknown> = { job_type: type, strategy: { filename, source } };
    if (type === "submit") {
      if (name.trim()) body.name = name.trim();
      if (competition) body.competition = competition;
    } else {
      const params: Record<string, unknown> = {};
      if (simulations) params.simulations = Number(simulations);
      const opp = opponents
        .split(/[\s,]+/)
        .map((s) => s.trim())
        .filter(Boolean);
      if (opp.length) params.opponents = opp;
      if (Object.keys(params).length) body.params = params;
      if (name.trim()) body.name = name.trim();
    }
    setBusy(true);
    try {
      const job = await api.post<Job>("/api/jobs", body, token);
      navigate(`/jobs/${job.id}`);
    } catch (err) {
      setError(err instanceof ApiError && err.status ? `${err.message} (${err.status})` : (err as Error).message);
      setBusy(false);
    }
  };

  const lines = source ? source.split("\n").length : 0;
  return (
    <div class="page narrow">
      <div class="page-head">
        <div>
          <p class="eyebrow">New job</p>
          <h1>Submit a strategy</h1>
        </div>
      </div>
      <form onSubmit={submit} class="stack-form" novalidate>
        <Card title="Who">
          <TokenField />
        </Card>

        <Card
          title="Strategy"
          actions={
            <div class="segmented" role="tablist">
              <button
                type="button"
                role="tab"
                aria-selected={mode === "file"}
                class={mode === "file" ? "on" : ""}
                onClick={() => setMode("file")}
              >
                Upload
              </button>
              <button
                type="button"
                role="tab"
                aria-selected={mode === "paste"}
                class={mode === "paste" ? "on" : ""}
                onClick={() => setMode("paste")}
              >
                Paste
              </button>
            </div>
          }
        >
          {mode === "file" ? (
            <label class="drop">
              <input
                type="file"
                name="file"
                accept=".ts,.js,.mjs,.rs"
                onChange={(e) => void onFile((e.target as HTMLInputElement).files?.[0])}
              />
              {source ? (
                <span>
                  <b>{filename}</b> · {bytes(new Blob([source]).size)} · {lines} lines
                  <br />
                  <span class="muted">Choose another file to replace it</span>
                </span>
              ) : (
                <span>
                  <b>Choose a file</b> or drop it here
                  <br />
                  <span class="muted">TypeScript, JavaScript or Rust (.ts, .js, .mjs, .rs)</span>
                </span>
              )}
            </label>
          ) : (
            <div class="field">
              <label for="source">Source</label>
              <textarea
                id="source"
                name="source"
                rows={14}
                spellcheck={false}
                placeholder="export default function create() { … }"
                value={source}
                onInput={(e) => setSource((e.target as HTMLTextAreaElement).value)}
              />
            </div>
          )}
          <div class="field">
            <label for="filename">File name</label>
            <input
              id="filename"
              name="filename"
              placeholder="my_strategy.ts"
              value={filename}
              onInput={(e) => setFilename((e.target as HTMLInputElement).value)}
            />
            {filename && !FILE_RE.test(filename) && (
              <p class="hint bad">A plain name (no folders) ending in .ts, .js, .mjs or .rs.</p>
            )}
          </div>
        </Card>

        <Card title="Job">
          <div class="grid-2">
            <div class="field">
              <label for="job-type">Type</label>
              <select
                id="job-type"
                name="job_type"
                value={type}
                onChange={(e) => setType((e.target as HTMLSelectElement).value as typeof type)}
              >
                {TYPES.map((t) => (
                  <option key={t.type} value={t.type}>
                    {t.label}
                  </option>
                ))}
              </select>
              <p class="hint">{TYPES.find((t) => t.type === type)?.help}</p>
            </div>
            <div class="field">
              <label for="name">Name {type === "submit" ? "on the leaderboard" : "(optional)"}</label>
              <input
                id="name"
                name="name"
                maxLength={64}
                placeholder={filename.replace(/\.(ts|js|mjs|rs)$/, "") || "my strategy"}
                value={name}
                onInput={(e) => setName((e.target as HTMLInputElement).value)}
              />
            </div>
            {type === "submit" && comps.data && comps.data.competitions.length > 1 && (
              <div class="field">
                <label for="competition">Competition</label>
                <select
                  id="competition"
                  value={competition || comps.data.default}
                  onChange={(e) => setCompetition((e.target as HTMLSelectElement).value)}
                >
                  {comps.data.competitions.map((c) => (
                    <option key={c.id} value={c.id}>
                      {c.title} ({c.id})
                    </option>
                  ))}
                </select>
              </div>
            )}
            {type !== "submit" && type !== "validate" && (
              <>
                <div class="field">
                  <label for="simulations">Simulations</label>
                  <input
                    id="simulations"
                    type="number"
                    min={1}
                    placeholder="default"
                    value={simulations}
                    onInput={(e) => setSimulations((e.target as HTMLInputElement).value)}
                  />
                </div>
                <div class="field">
                  <label for="opponents">Opponents</label>
                  <input
                    id="opponents"
                    placeholder="starter, fixed:45"
                    value={opponents}
                    onInput={(e) => setOpponents((e.target as HTMLInputElement).value)}
                  />
                </div>
              </>
            )}
          </div>
        </Card>

        {error && <Notice>{error}</Notice>}
        <div class="form-actions">
          <button type="submit" class="primary big" disabled={busy}>
            {busy ? "Sending…" : type === "submit" ? "Submit to the leaderboard" : `Queue the ${type} job`}
          </button>
          {problems.length > 0 && !error && <span class="hint">Needs {problems.join(", ")}.</span>}
        </div>
      </form>
    </div>
  );
}
