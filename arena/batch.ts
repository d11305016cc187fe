/**
 * One entry for the commands that run batches: in the sandbox (code we did not write) or in
 * watched threads of this process (trusted local files). docs/sandbox.md.
 */
import { type BatchOptions, type BatchResult, runBatch } from "./runner.js";
import { runBatchSandboxed } from "./sandbox.js";

export interface StrategyRunOptions extends BatchOptions {
  /** Run every strategy in the sandbox child process. */
  sandbox?: boolean;
}

export function runStrategies(opts: StrategyRunOptions): Promise<BatchResult> {
  return opts.sandbox ? runBatchSandboxed(opts) : runBatch(opts);
}
