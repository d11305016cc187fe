/** An author's history: every version they submitted (with its rank today) and their recent jobs. */
import { useMemo } from "preact/hooks";
import type uPlot from "uplot";
import { isTerminal, type AuthorDetail } from "../api";
import { axis, Chart, hline, intAxis, type Theme } from "../chart";
import { Card, CiBar, ciDomain, Empty, EntryLink, Est, Loading, Notice, When } from "../components";
import { num } from "../format";
import { useResource } from "../hooks";
import type { Location } from "../router";
import { JobsTable } from "./jobs";

export function AuthorPage({ author, loc }: { author: string; loc: Location }) {
  const competition = loc.query.get("competition");
  const r = useResource<AuthorDetail>(
    `/api/authors/${encodeURIComponent(author)}${competition ? `?competition=${encodeURIComponent(competition)}` : ""}`,
    5000,
    (d) => d.jobs.some((j) => !isTerminal(j.state)),
  );
  const d = r.data;
  const entries = d?.entries ?? [];
  const domain = useMemo(() => ciDomain(entries.map((e) => e.vsNormalizer)), [entries]);

  const data = useMemo((): uPlot.AlignedData => {
    const xs = entries.map((_, i) => i + 1);
    return [
      xs,
      entries.map((e) => e.vsNormalizer.mean),
      entries.map((e) => e.vsNormalizer.mean - (Number.isFinite(e.vsNormalizer.ci95) ? e.vsNormalizer.ci95 : 0)),
      entries.map((e) => e.vsNormalizer.mean + (Number.isFinite(e.vsNormalizer.ci95) ? e.vsNormalizer.ci95 : 0)),
    ];
  }, [entries]);
  const options = useMemo(
    () =>
      (t: Theme): Omit<uPlot.Options, "width" | "height"> => ({
        scales: { x: { time: false } },
        axes: [intAxis(t, "submission"), axis(t, { label: "edge vs normalizer" })],
        series: [
          {
            label: "submission",
            value: (_u, v) => (v == null ? "–" : `${entries[v - 1]?.name ?? ""} v${entries[v - 1]?.version ?? ""}`),
          },
          {
            label: "mean",
            stroke: t.accent,
            width: 2,
            points: { show: true, size: 7 },
            value: (_u, v) => num(v, true),
          },
          { label: "CI low", stroke: t.accent + "55", width: 1, value: (_u, v) => num(v, true) },
          { label: "CI high", stroke: t.accent + "55", width: 1, value: (_u, v) => num(v, true) },
        ],
        bands: [{ series: [3, 2], fill: t.accent + "22" }],
        hooks: { draw: [(u: uPlot) => hline(u, 0, t.muted)] },
      }),
    [entries],
  );

  if (r.error)
    return (
      <div class="page">
        <Notice>{r.error}</Notice>
        <a href="/">← The leaderboard</a>
      </div>
    );
  if (!d) return <Loading what={`Loading ${author}`} />;
  const best = entries.reduce<(typeof entries)[number] | null>((b, e) => (b === null || e.rank < b.rank ? e : b), null);

  return (
    <div class="page">
      <div class="page-head">
        <div>
          <p class="eyebrow">Author · {d.competition}</p>
          <h1>{author}</h1>
          <p class="sub">
            {entries.length} version{entries.length === 1 ? "" : "s"} on the leaderboard, {d.jobs.length} recent job
            {d.jobs.length === 1 ? "" : "s"}
            {best && (
              <>
                {" "}
                · best rank <b>{best.rank}</b> with{" "}
                <EntryLink id={best.entryId} name={best.name} version={best.version} />
              </>
            )}
          </p>
        </div>
      </div>

      {entries.length > 1 && (
        <Card title="Edge vs normalizer over submissions">
          <Chart options={options} data={data} height={220} label={`${author}'s submissions over time`} />
        </Card>
      )}

      <Card title="Versions" class="flush">
        {entries.length === 0 ? (
          <Empty>No leaderboard entries in {d.competition}.</Empty>
        ) : (
          <div class="table-wrap">
            <table class="stack" data-testid="versions">
              <thead>
                <tr>
                  <th>Strategy</th>
                  <th class="num">Rank now</th>
                  <th class="num">Edge vs normalizer</th>
                  <th class="bar-col">
                    <span class="sr-only">95% confidence interval</span>
                  </th>
                  <th class="num">Edge</th>
                  <th class="num">Submitted</th>
                </tr>
              </thead>
              <tbody>
                {[...entries].reverse().map((e) => (
                  <tr key={e.entryId}>
                    <td data-label="Strategy" class="name">
                      <EntryLink id={e.entryId} name={e.name} version={e.version} />
                    </td>
                    <td class="num" data-label="Rank now">
                      {e.tiedWithAbove ? "=" : ""}
                      {e.rank}
                    </td>
                    <td class="num" data-label="vs normalizer">
                      <Est e={e.vsNormalizer} />
                    </td>
                    <td class="bar-col" data-label="95% CI">
                      <CiBar e={e.vsNormalizer} domain={domain} />
                    </td>
                    <td class="num" data-label="Edge">
                      <Est e={e.edge} />
                    </td>
                    <td class="num muted" data-label="Submitted">
                      <When t={e.createdAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>

      <Card
        title="Recent jobs"
        class="flush"
        actions={<a href={`/jobs?author=${encodeURIComponent(author)}`}>All of {author}'s jobs →</a>}
      >
        <JobsTable jobs={d.jobs} showAuthor={false} />
      </Card>
    </div>
  );
}
