// Builds the platform dashboard into dist/web/: index.html, assets/app.js and assets/app.css
// (Preact + uPlot, bundled and minified by esbuild; no network resources at run time).
// The platform serves this folder (platform/platform.ts DEFAULT_WEB_DIR); `npm run build` runs it.
//   node web/build.mjs [--out <dir>] [--dev]   (--dev: unminified, inline source maps)
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const outIndex = args.indexOf("--out");
const out = resolve(outIndex >= 0 ? args[outIndex + 1] : join(here, "..", "dist", "web"));
const dev = args.includes("--dev");

const started = performance.now();
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "assets"), { recursive: true });

const result = await build({
  entryPoints: { app: join(here, "src", "main.tsx") },
  bundle: true,
  outdir: join(out, "assets"),
  format: "esm",
  target: ["es2020", "chrome100", "firefox100", "safari15"],
  jsx: "automatic",
  jsxImportSource: "preact",
  minify: !dev,
  sourcemap: dev ? "inline" : "linked",
  legalComments: "none",
  logLevel: "warning",
  metafile: true,
});
if (result.errors.length) process.exit(1);

const version = (file) =>
  createHash("sha256")
    .update(readFileSync(join(out, "assets", file)))
    .digest("hex")
    .slice(0, 10);

// The assets are cached for a year (platform/api.ts): a content hash in the query string makes
// a new build load new files.
const icon =
  "data:image/svg+xml," +
  encodeURIComponent(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><rect width="24" height="24" rx="6" fill="#4f5bd5"/>' +
      '<path d="M4 17 L9.5 11 L13 13.5 L20 6" fill="none" stroke="#fff" stroke-width="2.4"/></svg>',
  );
const html = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="color-scheme" content="light dark" />
    <meta name="description" content="prop-amm gym competition platform: leaderboard, jobs and submissions" />
    <title>prop-amm</title>
    <link rel="icon" href="${icon}" />
    <link rel="stylesheet" href="/assets/app.css?v=${version("app.css")}" />
    <script type="module" src="/assets/app.js?v=${version("app.js")}"></script>
  </head>
  <body>
    <div id="app"></div>
    <noscript>The dashboard needs JavaScript; the API is at /api (see /api/openapi.json).</noscript>
  </body>
</html>
`;
writeFileSync(join(out, "index.html"), html);

const sizes = Object.entries(result.metafile.outputs)
  .filter(([f]) => !f.endsWith(".map"))
  .map(([f, o]) => `${f.split("/").pop()} ${(o.bytes / 1024).toFixed(1)} KB`);
console.log(`web: ${out} (${sizes.join(", ")}) in ${Math.round(performance.now() - started)} ms`);
