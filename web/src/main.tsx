/**
 * The platform dashboard: a Preact single-page app served by the platform's API (platform/api.ts
 * answers every non-API path with index.html, so routes are real paths). Built by web/build.mjs.
 */
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api } from "./api";
import { Notice } from "./components";
import { useToken } from "./hooks";
import { AuthorPage } from "./pages/author";
import { EntryPage } from "./pages/entry";
import { JobPage } from "./pages/job";
import { JobsPage } from "./pages/jobs";
import { LeaderboardPage } from "./pages/leaderboard";
import { ReplayPage } from "./pages/replay";
import { SubmitPage } from "./pages/submit";
import { installLinkHandler, match, useLocation, type Location } from "./router";
import "./style.css";

const NAV: { href: string; label: string; active: (path: string) => boolean }[] = [
  { href: "/", label: "Leaderboard", active: (p) => p === "/" || p.startsWith("/entries/") },
  { href: "/jobs", label: "Jobs", active: (p) => p.startsWith("/jobs") },
  { href: "/submit", label: "Submit", active: (p) => p === "/submit" },
  { href: "/replay", label: "Replay", active: (p) => p.startsWith("/replay") },
];

function Me() {
  const [token] = useToken();
  const [me, setMe] = useState<string | null>(null);
  useEffect(() => {
    setMe(null);
    if (!token) return;
    let live = true;
    api.get<{ author: string }>("/api/me", token).then(
      (m) => live && setMe(m.author),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [token]);
  if (!me) return null;
  return (
    <a class="me" href={`/authors/${encodeURIComponent(me)}`} title="your entries and jobs">
      <span class="avatar" aria-hidden="true">
        {me.slice(0, 1).toUpperCase()}
      </span>
      <span class="me-name">{me}</span>
    </a>
  );
}

function Page({ loc }: { loc: Location }) {
  const p = loc.path;
  if (p === "/" || p === "/index.html") return <LeaderboardPage loc={loc} />;
  if (p === "/submit") return <SubmitPage />;
  if (p === "/jobs") return <JobsPage loc={loc} />;
  if (p === "/replay") return <ReplayPage loc={loc} />;
  let m = match("/jobs/:id", p);
  if (m) return <JobPage key={m.id} id={m.id} />;
  m = match("/entries/:id", p);
  if (m) return <EntryPage key={m.id} id={m.id} />;
  m = match("/authors/:author", p);
  if (m) return <AuthorPage key={m.author} author={m.author} loc={loc} />;
  return (
    <div class="page">
      <h1>Not found</h1>
      <Notice kind="info">
        There is no page at <code>{p}</code>. <a href="/">Back to the leaderboard</a>.
      </Notice>
    </div>
  );
}

function App() {
  const loc = useLocation();
  useEffect(() => {
    const h = document.querySelector("main h1");
    document.title = h?.textContent ? `${h.textContent} · prop-amm` : "prop-amm";
  });
  return (
    <>
      <header class="top">
        <div class="top-inner">
          <a class="brand" href="/">
            <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
              <path d="M3 18 L9 11 L13 14 L21 5" fill="none" stroke="currentColor" stroke-width="2.4" />
              <circle cx="21" cy="5" r="2" fill="currentColor" />
            </svg>
            <span>prop-amm</span>
          </a>
          <nav aria-label="main">
            {NAV.map((n) => (
              <a key={n.href} href={n.href} class={n.active(loc.path) ? "active" : ""}>
                {n.label}
              </a>
            ))}
          </nav>
          <Me />
        </div>
      </header>
      <main>
        <Page loc={loc} />
      </main>
      <footer class="foot">
        <span>prop-amm gym competition platform</span>
        <a href="/api/openapi.json" target="_blank" rel="noopener">
          API (OpenAPI)
        </a>
        <a href="/health" target="_blank" rel="noopener">
          health
        </a>
      </footer>
    </>
  );
}

installLinkHandler();
render(<App />, document.getElementById("app")!);
