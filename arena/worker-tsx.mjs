// Runs env/worker.ts in a worker thread when the engine is used from its TypeScript sources
// (tests): Node 20 does not apply `--import tsx` from a Worker's execArgv.
import { tsImport } from "tsx/esm/api";

await tsImport("./worker.ts", import.meta.url);
