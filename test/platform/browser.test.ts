/**
 * The dashboard end to end, in a real browser: a platform (API + one worker process) on
 * loopback with a small competition, driven by Chromium through playwright-core. It submits
 * strategies/template.ts from the Submit page, follows the job's live log to its end, finds
 * the row (with its CI) on the leaderboard, opens the entry's charts, the jobs list, the
 * author page and the replay page, and leaves screenshots (laptop and phone) in
 * reports/screenshots/ (PROPAMM_SCREENSHOTS to move them).
 *
 * Needs `npm run build` (the worker processes run dist/cli/main.js; the dashboard is
 * dist/web, built here if missing) and Chromium (/usr/bin/chromium, or PROPAMM_CHROMIUM);
 * without Chromium the tests are skipped with the reason printed.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningPlatform } from "../../platform/platform.js";
import { tempDir } from "../helpers/tmp.js";

const ROOT = resolve(import.meta.dirname, "../..");
const CHROMIUM = process.env.PROPAMM_CHROMIUM ?? "/usr/bin/chromium";
const SHOTS = process.env.PROPAMM_SCREENSHOTS ?? join(ROOT, "reports", "screenshots");
const LAPTOP = { width: 1366, height: 768 };
const PHONE = { width: 390, height: 844 };
const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

const skipReason = existsSync(CHROMIUM)
  ? null
  : `no Chromium at ${CHROMIUM} (Debian: apt-get install chromium; or set PROPAMM_CHROMIUM)`;
if (skipReason) console.warn(`[browser.test] SKIPPED the dashboard's browser tests: ${skipReason}`);

interface Row {
  entryId: string;
  name: string;
  rank: number;
  tiedWithAbove: boolean;
  vsNormalizer: { mean: number; ci95: number };
}

describe.skipIf(skipReason !== null)("the dashboard in Chromium", () => {
  const dir = tempDir("propamm-web-");
  let platform: RunningPlatform | undefined;
  let browser: Browser | undefined;
  let base = "";
  let token = "";
  const problems: string[] = [];

  /** A page that records the browser's errors (checked by the last test). */
  async function open(viewport = LAPTOP, colorScheme: "light" | "dark" = "light"): Promise<[BrowserContext, Page]> {
    const ctx = await browser!.newContext({ viewport, colorScheme, deviceScaleFactor: 1 });
    const page = await ctx.newPage();
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      // The browser reports every 4xx answer; the refused submission's are expected.
      if (m.type() === "error" && !/status of 4\d\d/.test(m.text())) problems.push(`console error: ${m.text()}`);
    });
    return [ctx, page];
  }

  const shot = (page: Page, name: string, fullPage = true): Promise<Buffer> =>
    page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage });

  const apiJson = async <T>(path: string, init?: RequestInit): Promise<T> => {
    const res = await fetch(base + path, init);
    expect(res.status, `${path}: ${res.status}`).toBeLessThan(300);
    return (await res.json()) as T;
  };

  beforeAll(async () => {
    expect(existsSync(join(ROOT, "dist", "cli", "main.js")), "dist/cli/main.js: run `npm run build`").toBe(true);
    if (!existsSync(join(ROOT, "dist", "web", "index.html"))) {
      execFileSync(process.execPath, [join(ROOT, "web", "build.mjs")], { stdio: "inherit" });
    }
    mkdirSync(SHOTS, { recursive: true });
    const competition = join(dir, "e2e.json");
    writeFileSync(
      competition,
      JSON.stringify({ id: "e2e", title: "e2e", simulations: 6, steps: 1000, epochLen: 500, seedStart: 500000 }),
    );
    // The built platform: its worker processes run the built CLI next to it.
    const { startPlatform } = (await import(
      pathToFileURL(join(ROOT, "dist", "platform", "platform.js")).href
    )) as typeof import("../../platform/platform.js");
    platform = await startPlatform({
      role: "all",
      host: "127.0.0.1",
      port: 0,
      dataDir: join(dir, "data"),
      workers: 1,
      competitionFiles: [competition],
      leaseMs: 30_000,
      api: { rateLimitPerMinute: 0, jobsPerMinute: 0 },
      webDir: join(ROOT, "dist", "web"),
      say: () => undefined,
    });
    base = platform.url!.replace("[::1]", "127.0.0.1");
    token = /^local (\S+)$/m.exec(readFileSync(join(dir, "data", "tokens.txt"), "utf8"))![1];
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
  });

  it("shows the API's 4xx message when a submission is refused", async () => {
    const [ctx, page] = await open();
    await page.goto(`${base}/submit`);
    await page.fill("#token", "pamm_not_a_real_token");
    await page.press("#token", "Tab");
    await expect.poll(() => page.textContent("[data-testid=token-status]")).toContain("unknown token");
    await page.click("button[role=tab]:has-text('Paste')");
    await page.fill("#source", "export default 1;");
    await page.fill("#filename", "x.ts");
    await page.click("button[type=submit]");
    const alert = page.locator("[role=alert]");
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/unknown token \(401\)/);
    expect(page.url()).toBe(`${base}/submit`);
    await ctx.close();
  });

  let jobUrl = "";
  it("submits strategies/template.ts and follows the job's live log to its end", { timeout: 240_000 }, async () => {
    const [ctx, page] = await open();
    await page.goto(`${base}/submit`);
    await page.fill("#token", token);
    await page.press("#token", "Tab");
    await expect.poll(() => page.textContent("[data-testid=token-status]")).toContain("Signed in as local");
    await page.setInputFiles("input[type=file][name=file]", join(ROOT, "strategies", "template.ts"));
    await expect.poll(() => page.inputValue("#filename")).toBe("template.ts");
    await page.fill("#name", "e2e template");
    await shot(page, "submit-laptop");
    await page.click("button[type=submit]");
    await page.waitForURL(new RegExp(`/jobs/${UUID}$`));
    jobUrl = page.url();
    // The log streams in while the job runs, and ends with the `end` event's state.
    const end = page.locator("[data-testid=log-end]");
    await end.waitFor({ timeout: 200_000 });
    expect(await end.textContent()).toContain("succeeded");
    const log = (await page.textContent("[data-testid=log]")) ?? "";
    expect(log).toContain("$ propamm validate template.ts");
    expect(log).toContain("$ propamm eval template.ts --against starter --simulations 6");
    await page.locator(".badge[data-state=succeeded]").first().waitFor();
    await page.locator("[data-testid=entry-link]").waitFor();
    await page.locator("[data-testid=artifacts] a", { hasText: "receipt.json" }).waitFor();
    await shot(page, "job-laptop");
    await ctx.close();
  });

  it("lists the row on the leaderboard with its confidence interval", { timeout: 240_000 }, async () => {
    // A second entry (by API), so that there is a ranking, a comparison and maybe a tie.
    const source = readFileSync(join(ROOT, "strategies", "template.ts"), "utf8").replace(
      "BASE_FEE_BPS = 30",
      "BASE_FEE_BPS = 60",
    );
    const job = await apiJson<{ id: string }>("/api/jobs", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ job_type: "submit", name: "wide fee", strategy: { filename: "wide.ts", source } }),
    });
    await expect
      .poll(async () => (await apiJson<{ state: string }>(`/api/jobs/${job.id}`)).state, {
        timeout: 100_000,
        interval: 500,
      })
      .toBe("succeeded");
    const { rows } = await apiJson<{ rows: Row[] }>("/api/leaderboard");
    expect(rows.map((r) => r.name).sort()).toEqual(["e2e template", "wide fee"]);

    for (const [viewport, name] of [
      [LAPTOP, "leaderboard-laptop"],
      [PHONE, "leaderboard-phone"],
    ] as const) {
      const [ctx, page] = await open(viewport);
      await page.goto(base);
      await page.locator("tr[data-entry]").nth(1).waitFor();
      for (const r of rows) {
        const tr = page.locator(`tr[data-entry="${r.entryId}"]`);
        const text = (await tr.textContent()) ?? "";
        expect(text).toContain(r.name);
        expect(text).toContain("local");
        // mean ± ci, as printed (a true minus sign for negatives)
        const shown = r.vsNormalizer.mean.toFixed(Math.abs(r.vsNormalizer.mean) >= 100 ? 1 : 2).replace("-", "−");
        expect(text).toContain(shown);
        expect(text).toMatch(new RegExp(`± ${r.vsNormalizer.ci95.toFixed(r.vsNormalizer.ci95 >= 100 ? 1 : 2)}`));
        expect(await tr.locator("svg.cibar").count()).toBe(1);
        expect((await tr.locator("td.rank").textContent())?.trim()).toBe(`${r.tiedWithAbove ? "=" : ""}${r.rank}`);
        const box = await tr.locator("svg.cibar").boundingBox();
        expect(box!.width).toBeGreaterThan(50);
      }
      await shot(page, name);
      if (viewport === LAPTOP) {
        await page.click("label.switch");
        await page.waitForURL(/latest=1/);
        await expect.poll(() => page.locator("tr[data-entry]").count()).toBe(1); // one author: one row
        await page.click("label.switch");
        await expect.poll(() => page.locator("tr[data-entry]").count()).toBe(2);
      }
      await ctx.close();
    }
  });

  it("opens an entry: the edge histogram and the weights chart are drawn", async () => {
    for (const [viewport, name, scheme] of [
      [LAPTOP, "entry-laptop", "light"],
      [PHONE, "entry-phone", "light"],
      [LAPTOP, "entry-laptop-dark", "dark"],
    ] as const) {
      const [ctx, page] = await open(viewport, scheme);
      await page.goto(base);
      await page.click("tr[data-entry] a.entry-link:has-text('e2e template')");
      await page.waitForURL(new RegExp(`/entries/${UUID}$`));
      for (const chart of ["histogram", "weights"]) {
        const canvas = page.locator(`[data-testid=${chart}] canvas`);
        await canvas.waitFor();
        const box = await canvas.boundingBox();
        expect(box!.width, chart).toBeGreaterThan(150);
        expect(box!.height, chart).toBeGreaterThan(100);
      }
      const comparisons = page.locator("[data-testid=comparisons] tbody tr");
      expect(await comparisons.count()).toBe(1);
      expect(await comparisons.first().textContent()).toMatch(/wide fee.*±.*%/);
      const receipt = await page.getAttribute("[data-testid=receipt]", "href");
      expect(receipt).toMatch(new RegExp(`^/api/jobs/${UUID}/artifacts/receipt.json$`));
      expect((await fetch(base + receipt!)).status).toBe(200);
      await shot(page, name);
      await ctx.close();
    }
  });

  it("shows the job list, a job page on a phone, and the author's history", async () => {
    const [ctx, page] = await open();
    await page.goto(`${base}/jobs`);
    await expect.poll(() => page.locator("[data-testid=jobs] tbody tr").count()).toBe(2);
    await shot(page, "jobs-laptop");
    await page.goto(`${base}/authors/local`);
    await expect.poll(() => page.locator("[data-testid=versions] tbody tr").count()).toBe(2);
    // uPlot draws in an effect, after the table has painted: wait for the canvas, do not count at once
    await expect.poll(() => page.locator(".chart canvas").count()).toBe(1); // edge over submissions
    await shot(page, "author-laptop");
    await ctx.close();

    const [pctx, phone] = await open(PHONE);
    await phone.goto(jobUrl);
    await phone.locator("[data-testid=log-end]").waitFor();
    await shot(phone, "job-phone");
    await phone.goto(`${base}/submit`);
    await shot(phone, "submit-phone");
    await pctx.close();
  });

  it("draws a train job's learning curve from its metrics lines", { timeout: 240_000 }, async () => {
    // timesteps 1: one iteration (the smallest run), then its held-out evaluation.
    const job = await apiJson<{ id: string }>("/api/jobs", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ job_type: "train", params: { timesteps: 1, algo: "es" } }),
    });
    const [ctx, page] = await open();
    await page.goto(`${base}/jobs/${job.id}`);
    const end = page.locator("[data-testid=log-end]");
    await end.waitFor({ timeout: 200_000 });
    expect(await end.textContent()).toContain("succeeded");
    const canvas = page.locator("[data-testid=learning-curve] canvas");
    await canvas.waitFor();
    const box = await canvas.boundingBox();
    expect(box!.width).toBeGreaterThan(200);
    expect(box!.height).toBeGreaterThan(100);
    expect(await page.textContent(".card:has([data-testid=learning-curve])")).toContain("1 held-out evaluation");
    await shot(page, "job-train-laptop");
    await ctx.close();
  });

  it("cancels a running job from its page, and the live log ends 'cancelled'", { timeout: 180_000 }, async () => {
    const job = await apiJson<{ id: string }>("/api/jobs", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ job_type: "train", params: { timesteps: 5_000_000, algo: "es" } }),
    });
    const [ctx, page] = await open();
    await page.goto(base);
    await page.evaluate((t) => localStorage.setItem("propamm.token", t), token);
    await page.goto(`${base}/jobs/${job.id}`);
    await page.locator(".badge[data-state=running]").first().waitFor({ timeout: 100_000 });
    await expect.poll(() => page.textContent("[data-testid=log]"), { timeout: 30_000 }).toContain("$ propamm train");
    await page.click("button:has-text('Cancel job')");
    const end = page.locator("[data-testid=log-end]");
    await end.waitFor({ timeout: 40_000 }); // a running job stops within a third of the lease (10 s)
    expect(await end.textContent()).toContain("cancelled");
    await page.locator(".badge[data-state=cancelled]").first().waitFor();
    await shot(page, "job-cancelled-laptop", false);
    await ctx.close();
  });

  it("replays a simulation tape: play, step and scrub", async () => {
    const tape = join(dir, "tape.json");
    writeFileSync(tape, JSON.stringify(syntheticTrace(300)));
    for (const [viewport, name] of [
      [LAPTOP, "replay-laptop"],
      [PHONE, "replay-phone"],
    ] as const) {
      const [ctx, page] = await open(viewport);
      await page.goto(`${base}/replay`);
      await page.setInputFiles("[data-testid=trace-file]", tape);
      await page.locator("[data-testid=player]").waitFor();
      const canvases = page.locator(".chart canvas");
      await expect.poll(() => canvases.count()).toBe(4); // drawn in effects, after the player paints
      for (let i = 0; i < 4; i++) expect((await canvases.nth(i).boundingBox())!.height).toBeGreaterThan(100);
      expect(await page.textContent("[data-testid=step]")).toContain("299");
      await page.fill("input.scrubber", "120");
      await expect.poll(() => page.textContent("[data-testid=step]")).toMatch(/step 120 /);
      await page.click("button[aria-label='step forward']");
      await expect.poll(() => page.textContent("[data-testid=step]")).toMatch(/step 121 /);
      await page.click("[data-testid=play]");
      await expect.poll(() => page.textContent("[data-testid=step]"), { timeout: 10_000 }).toMatch(/step 299 /);
      await shot(page, name);
      await ctx.close();
    }
  });

  it("saw no page errors or console errors", () => {
    expect(problems).toEqual([]);
  });
});

/** A small tape in the docs/trace.md version-1 layout: two strategies and the normalizer. */
function syntheticTrace(T: number): Record<string, unknown> {
  const P = 3;
  const price = Array.from({ length: T }, (_, t) => 100 * Math.exp(0.02 * Math.sin(t / 17) + 0.0004 * t));
  const col = (f: (p: number, t: number) => number): number[][] =>
    Array.from({ length: P }, (_, p) => Array.from({ length: T }, (_, t) => f(p, t)));
  const trades = { step: [] as number[], pool: [] as number[], kind: [] as number[], side: [] as number[] };
  const more = { input: [] as number[], output: [] as number[], edge: [] as number[], order: [] as number[] };
  const rest = { flowShare: [] as number[], reserveX: [] as number[], reserveY: [] as number[] };
  for (let t = 0; t < T; t++)
    for (let p = 0; p < P; p++) {
      trades.step.push(t);
      trades.pool.push(p);
      trades.kind.push(t % 2);
      trades.side.push((t + p) % 2);
      more.input.push(1 + p);
      more.output.push(0.01);
      more.edge.push(0.05 - 0.01 * p);
      more.order.push(t % 2 ? t : -1);
      rest.flowShare.push(t % 2 ? 1 / P : 0);
      rest.reserveX.push(100);
      rest.reserveY.push(10_000);
    }
  return {
    format: "propamm-trace",
    version: 1,
    seed: 42,
    config: { steps: T, epochLen: 100 },
    market: { sigma: 0.001, retailRate: 0.8, retailMeanSize: 20, normalizerFeeBps: 30, normalizerLiquidity: 1 },
    pools: [
      { name: "e2e template", index: 0, normalizer: false, oracle: false, constantProduct: true },
      { name: "starter", index: 1, normalizer: false, oracle: false, constantProduct: true },
      { name: "normalizer", index: 2, normalizer: true, oracle: false, constantProduct: true },
    ],
    initial: { price: 100, reserveX: [100, 100, 100], reserveY: [10_000, 10_000, 10_000], weight: [0.5, 0.5, null] },
    steps: {
      count: T,
      price,
      spot: col((p, t) => price[t] * (1 + 0.002 * (p - 1) * Math.cos(t / 9))),
      reserveX: col(() => 100),
      reserveY: col((_, t) => 100 * price[t]),
      bidFeeBps: col((p, t) => 30 + 10 * p + 5 * Math.sin(t / 25)),
      askFeeBps: col((p, t) => 32 + 10 * p + 5 * Math.cos(t / 25)),
      edge: col((p, t) => t * (0.05 - 0.01 * p)),
    },
    orders: { step: [], side: [], amount: [] },
    trades: { ...trades, ...more, ...rest },
    epochs: {
      step: [99, 199, 299],
      epoch: [0, 1, 2],
      rebalanced: [true, true, false],
      weight: [
        [0.55, 0.6, 0.6],
        [0.45, 0.4, 0.4],
        [null, null, null],
      ],
      edge: [
        [5, 5, 5],
        [4, 4, 4],
        [3, 3, 3],
      ],
      score: [
        [1, 1, 1],
        [0.8, 0.8, 0.8],
        [0.6, 0.6, 0.6],
      ],
      trades: [
        [100, 100, 100],
        [100, 100, 100],
        [100, 100, 100],
      ],
    },
  };
}
