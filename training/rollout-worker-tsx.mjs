// Runs rollout-worker.ts in a worker thread when used from the TypeScript sources (tests):
// Node 20 does not apply `--import tsx` from a Worker's execArgv.
import { tsImport } from "tsx/esm/api";

await tsImport("./rollout-worker.ts", import.meta.url);
