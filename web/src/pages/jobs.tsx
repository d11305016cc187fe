/** The jobs list (newest first, filterable), and the table it shares with author pages. */
import { useEffect, useState } from "preact/hooks";
import { api, isTerminal, JOB_STATES, JOB_TYPES, type Job } from "../api";
import { AuthorLink, Card, Empty, Loading, Notice, StateBadge, When } from "../components";
import { duration, shortId } from "../format";
import { useResource } from "../hooks";
import { setQuery, type Location } from "../router";

function runTime(j: Job): string {
  if (!j.started_at) return "–";
  const end = j.finished_at ? Date.parse(j.finished_at) : Date.now();
  return duration(end - Date.parse(j.started_at));
}

export function JobsTable({ jobs, showAuthor = true }: { jobs: Job[]; showAuthor?: boolean }) {
  if (jobs.length === 0) return <Empty>No jobs.</Empty>;
  return (
    <div class="table-wrap">
      <table class="stack jobs" data-testid="jobs">
        <thead>
          <tr>
            <th>State</th>
            <th>Job</th>
            <th>Type</th>
            {showAuthor && <th>Author</th>}
            <th class="num">Queued</th>
            <th class="num">Run time</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((j) => (
            <tr key={j.id} data-job={j.id}>
              <td data-label="State">
                <StateBadge state={j.state} cancelling={j.cancel_requested} />
              </td>
              <td data-label="Job" class="name">
                <a href={`/jobs/${j.id}`}>{j.name ?? shortId(j.id)}</a>
                {j.error && (
                  <div class="err-line" title={j.error}>
                    {j.error}
                  </div>
                )}
              </td>
              <td data-label="Type">
                <span class="type">{j.job_type}</span>
              </td>
              {showAuthor && (
                <td data-label="Author">
                  <AuthorLink author={j.author} />
                </td>
              )}
              <td class="num muted" data-label="Queued">
                <When t={j.created_at} />
              </td>
              <td class="num" data-label="Run time">
                {runTime(j)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function JobsPage({ loc }: { loc: Location }) {
  const state = loc.query.get("state") ?? "";
  const type = loc.query.get("job_type") ?? "";
  const author = loc.query.get("author") ?? "";
  const q = new URLSearchParams({ limit: "50" });
  if (state) q.set("state", state);
  if (type) q.set("job_type", type);
  if (author) q.set("author", author);
  const first = useResource<{ jobs: Job[] }>(`/api/jobs?${q}`, 3000);
  const [older, setOlder] = useState<Job[]>([]);
  const [more, setMore] = useState<{ busy: boolean; done: boolean; error: string | null }>({
    busy: false,
    done: false,
    error: null,
  });
  useEffect(() => {
    setOlder([]);
    setMore({ busy: false, done: false, error: null });
  }, [state, type, author]);

  const jobs = [...(first.data?.jobs ?? []), ...older];
  const loadOlder = async (): Promise<void> => {
    const last = jobs[jobs.length - 1];
    if (!last) return;
    setMore({ busy: true, done: false, error: null });
    try {
      const qq = new URLSearchParams(q);
      qq.set("before", last.created_at);
      const r = await api.get<{ jobs: Job[] }>(`/api/jobs?${qq}`);
      setOlder((o) => [...o, ...r.jobs]);
      setMore({ busy: false, done: r.jobs.length < 50, error: null });
    } catch (err) {
      setMore({ busy: false, done: false, error: (err as Error).message });
    }
  };
  const active = jobs.filter((j) => !isTerminal(j.state)).length;

  return (
    <div class="page">
      <div class="page-head">
        <div>
          <p class="eyebrow">Queue</p>
          <h1>Jobs</h1>
          <p class="sub">{active > 0 ? `${active} queued or running` : "Nothing queued or running"}</p>
        </div>
        <a class="button primary" href="/submit">
          New job
        </a>
      </div>
      <Card
        class="flush"
        actions={
          <div class="filters">
            <select
              aria-label="state"
              value={state}
              onChange={(e) => setQuery({ state: (e.target as HTMLSelectElement).value })}
            >
              <option value="">any state</option>
              {JOB_STATES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
            <select
              aria-label="type"
              value={type}
              onChange={(e) => setQuery({ job_type: (e.target as HTMLSelectElement).value })}
            >
              <option value="">any type</option>
              {JOB_TYPES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
            <input
              aria-label="author"
              placeholder="author"
              value={author}
              onChange={(e) => setQuery({ author: (e.target as HTMLInputElement).value.trim() })}
            />
          </div>
        }
        title="Newest first"
      >
        {first.error && <Notice>{first.error}</Notice>}
        {!first.data && !first.error ? <Loading what="Loading jobs" /> : <JobsTable jobs={jobs} />}
        {first.data && jobs.length >= 50 && !more.done && (
          <div class="more">
            <button type="button" class="ghost" onClick={() => void loadOlder()} disabled={more.busy}>
              {more.busy ? "Loading…" : "Older jobs"}
            </button>
            {more.error && <span class="bad"> {more.error}</span>}
          </div>
        )}
      </Card>
    </div>
  );
}
