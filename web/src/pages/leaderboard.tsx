/** The leaderboard: a competition's ranked rows with their confidence intervals. */
import { useMemo } from "preact/hooks";
import type { Competition, LeaderboardRow } from "../api";
import { AuthorLink, Card, CiBar, ciDomain, Empty, EntryLink, Est, Loading, Notice, When } from "../components";
import { est } from "../format";
import { useResource } from "../hooks";
import { setQuery, type Location } from "../router";

export interface Competitions {
  default: string;
  competitions: Competition[];
}

export function reproduceCommand(c: Competition): string {
  return (
    `npx propamm eval <file> --against ${c.opponents.join(",")} --simulations ${c.simulations} ` +
    `--seed-start ${c.seedStart} --steps ${c.steps} --epoch-len ${c.epochLen}`
  );
}

export function CompetitionFacts({ c }: { c: Competition }) {
  return (
    <ul class="chips" aria-label="competition settings">
      <li>
        <b>{c.simulations}</b> seeds from {c.seedStart}
      </li>
      <li>
        <b>{c.steps.toLocaleString()}</b> steps
      </li>
      <li>
        epochs of <b>{c.epochLen.toLocaleString()}</b>
      </li>
      <li>
        against <b>{c.opponents.join(", ") || "nobody"}</b>
      </li>
    </ul>
  );
}

export function LeaderboardPage({ loc }: { loc: Location }) {
  const comps = useResource<Competitions>("/api/competitions");
  const competition = loc.query.get("competition") ?? comps.data?.default ?? null;
  const latest = loc.query.get("latest") === "1";
  const board = useResource<{ competition: Competition; rows: LeaderboardRow[] }>(
    competition ? `/api/leaderboard?competition=${encodeURIComponent(competition)}${latest ? "&latest=1" : ""}` : null,
    10_000,
  );
  const rows = board.data?.rows ?? [];
  const domain = useMemo(() => ciDomain(rows.map((r) => r.vsNormalizer)), [rows]);
  const c = board.data?.competition;

  return (
    <div class="page">
      <div class="page-head">
        <div>
          <p class="eyebrow">Leaderboard{c ? ` · ${c.id}` : ""}</p>
          <h1>{c?.title ?? "Leaderboard"}</h1>
        </div>
        <a class="button primary" href="/submit">
          Submit a strategy
        </a>
      </div>
      {c && <CompetitionFacts c={c} />}
      {comps.error && <Notice>{comps.error}</Notice>}
      {board.error && <Notice>{board.error}</Notice>}

      <Card
        class="flush"
        title={
          <>
            Rankings{" "}
            {board.data && (
              <span class="count" data-testid="row-count">
                {rows.length} {rows.length === 1 ? "row" : "rows"}
              </span>
            )}
          </>
        }
        actions={
          <>
            {comps.data && comps.data.competitions.length > 1 && (
              <label class="inline">
                <span class="sr-only">Competition</span>
                <select
                  value={competition ?? ""}
                  onChange={(e) => setQuery({ competition: (e.target as HTMLSelectElement).value })}
                >
                  {comps.data.competitions.map((x) => (
                    <option key={x.id} value={x.id}>
                      {x.title} ({x.id})
                    </option>
                  ))}
                </select>
              </label>
            )}
            <label class="switch">
              <input
                type="checkbox"
                checked={latest}
                onChange={(e) => setQuery({ latest: (e.target as HTMLInputElement).checked ? "1" : null })}
              />
              <span>Latest version per author</span>
            </label>
          </>
        }
      >
        {!board.data && !board.error && <Loading what="Loading the leaderboard" />}
        {board.data && rows.length === 0 && (
          <Empty>
            No entries yet. <a href="/submit">Submit the first strategy</a>.
          </Empty>
        )}
        {rows.length > 0 && (
          <div class="table-wrap">
            <table class="board stack">
              <thead>
                <tr>
                  <th class="num">Rank</th>
                  <th>Strategy</th>
                  <th>Author</th>
                  <th class="num">Edge vs normalizer</th>
                  <th class="bar-col">
                    <span class="sr-only">95% confidence interval</span>
                  </th>
                  <th class="num">Edge</th>
                  <th class="num">vs leader</th>
                  <th class="num hide-md">Submitted</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.entryId} data-entry={r.entryId} class={r.rank === 1 ? "leader" : ""}>
                    <td class="num rank" data-label="Rank">
                      {r.tiedWithAbove ? (
                        <span
                          class="tie"
                          title={`Shares its rank with the row above: their paired difference, ${est(r.vsAbove)}, contains zero`}
                        >
                          ={r.rank}
                        </span>
                      ) : (
                        <span class={`rank-n rank-${r.rank}`}>{r.rank}</span>
                      )}
                    </td>
                    <td class="name" data-label="Strategy">
                      <EntryLink id={r.entryId} name={r.name} version={r.version} />
                    </td>
                    <td data-label="Author">
                      <AuthorLink author={r.author} />
                    </td>
                    <td class="num" data-label="vs normalizer">
                      <Est e={r.vsNormalizer} />
                    </td>
                    <td class="bar-col" data-label="95% CI">
                      <CiBar e={r.vsNormalizer} domain={domain} />
                    </td>
                    <td class="num" data-label="Edge">
                      <Est e={r.edge} />
                    </td>
                    <td class="num" data-label="vs leader">
                      {r.vsLeader ? <Est e={r.vsLeader} /> : <span class="muted">leader</span>}
                    </td>
                    <td class="num hide-md muted" data-label="Submitted">
                      <When t={r.createdAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      {c && (
        <details class="card explain">
          <summary>How rows are ranked, and how to reproduce one</summary>
          <p>
            Rows are ranked by mean edge against the normalizer over the competition's {c.simulations} seeds; ± is the
            half-width of the 95% confidence interval of the mean (Student t). A row marked <b>=</b> shares the rank of
            the row above: the 95% CI of their paired difference (by seed) contains zero, so the seeds cannot order
            them. "vs leader" is the paired difference against the first row.
          </p>
          <p>Every row is the result of this command, which anyone can run:</p>
          <pre class="code">{reproduceCommand(c)}</pre>
        </details>
      )}
    </div>
  );
}
