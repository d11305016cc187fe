/**
 * Writes the docs' option tables from the configuration schema (cli/options-docs.ts).
 * `npm run docs:options` rewrites them; `-- --check` only says which doc is out of date.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { OPTION_DOCS, renderOptionDocs } from "../cli/options-docs.js";

const root = resolve(import.meta.dirname, "..");
const check = process.argv.includes("--check");
let stale = 0;
for (const doc of OPTION_DOCS) {
  const file = join(root, doc);
  const text = readFileSync(file, "utf8");
  const next = renderOptionDocs(text);
  if (next === text) continue;
  stale++;
  if (check) console.error(`${doc}: option tables are out of date (npm run docs:options)`);
  else {
    writeFileSync(file, next);
    console.log(`wrote ${doc}`);
  }
}
if (check && stale > 0) process.exitCode = 1;
