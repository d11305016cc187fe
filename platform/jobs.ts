/**
 * What each job type runs. A job is one or more `propamm` command lines executed in a child
 * process (worker.ts); this file turns a job's parameters into those command lines and the
 * files they leave into a result and artifacts. Every command that loads uploaded code runs it
 * with `--sandbox` (docs/sandbox.md), and training accepts only built-in opponents, because
 * training runs its opponents in watched threads rather than the sandbox.
 */
import { builtinSource } from "../env/sdk.js";
import { competitionEvalArgs, type Competition } from "./competition.js";
import type { JobType } from "./store.js";

/** The parameters a client may set, per job type (all optional; the API's schema bounds them). */
export interface JobParams {
  simulations?: number;
  seed_start?: number;
  steps?: number;
  epoch_len?: number;
  /** Built-in strategies, or `sha256:<hex>` of an uploaded strategy (run and eval only). */
  opponents?: string[];
  /** train: agent decisions to train for. */
  timesteps?: number;
  /** train: training seed. */
  seed?: number;
  /** train: es or ppo. */
  algo?: "es" | "ppo";
}

/** An opponent file the worker must write into the job folder before running. */
export interface OpponentFile {
  sha256: string;
  /** File name inside the job folder. */
  file: string;
}

export interface Step {
  /** Shown in the log before the step runs. */
  title: string;
  args: string[];
  /** A step whose failure does not fail the job (its exit code is recorded in the result). */
  optional?: boolean;
}

export interface JobPlan {
  steps: Step[];
  opponentFiles: OpponentFile[];
}

export const SHA_REF = /^sha256:([0-9a-f]{64})$/;

/** Splits opponents into command-line specs and stored files to write. Throws on an unknown built-in. */
export function resolveOpponents(
  opponents: readonly string[],
  allowUploads: boolean,
): { specs: string[]; files: OpponentFile[] } {
  const specs: string[] = [];
  const files: OpponentFile[] = [];
  opponents.forEach((o, i) => {
    const ref = SHA_REF.exec(o);
    if (ref) {
      if (!allowUploads) throw new Error(`opponents[${i}]: only built-in strategies can be training opponents`);
      const file = `opponent-${i}-${ref[1].slice(0, 12)}`;
      files.push({ sha256: ref[1], file });
      specs.push(file);
      return;
    }
    let ok = false;
    try {
      ok = builtinSource(o) !== undefined;
    } catch {
      ok = false;
    }
    if (!ok) throw new Error(`opponents[${i}]: '${o}' is neither a built-in strategy nor sha256:<hex> of an upload`);
    specs.push(o);
  });
  return { specs, files };
}

/** Simulation settings as flags; `train` takes no seed range (it draws its own, and evaluates on its own). */
function simArgs(p: JobParams, seeds = true): string[] {
  const out: string[] = [];
  if (seeds && p.simulations !== undefined) out.push("--simulations", String(p.simulations));
  if (seeds && p.seed_start !== undefined) out.push("--seed-start", String(p.seed_start));
  if (p.steps !== undefined) out.push("--steps", String(p.steps));
  if (p.epoch_len !== undefined) out.push("--epoch-len", String(p.epoch_len));
  return out;
}

/**
 * The command lines of a job. `strategyFile` is the uploaded strategy's file name in the job
 * folder (null for train); opponent file names are filled in by the caller from `opponentFiles`
 * (with their extension) through `fileOf`.
 */
export function planJob(
  type: JobType,
  params: JobParams,
  strategyFile: string | null,
  competition: Competition | undefined,
  fileOf: (f: OpponentFile) => string,
  limits: { memoryMb: number; callTimeMs: number },
): JobPlan {
  const sandbox = [
    "--sandbox",
    "--workers",
    "1",
    "--memory-limit",
    String(limits.memoryMb),
    "--call-time-limit",
    String(limits.callTimeMs),
  ];
  const opp = resolveOpponents(params.opponents ?? [], type !== "train");
  const oppSpecs = opp.specs.map((s) => {
    const f = opp.files.find((x) => x.file === s);
    return f ? fileOf(f) : s;
  });
  const need = (): string => {
    if (!strategyFile) throw new Error(`a ${type} job needs a strategy`);
    return strategyFile;
  };
  // A function: a train job has no strategy to validate.
  const validate = (): Step => ({
    title: "validate",
    args: ["validate", need(), "--sandbox", "--memory-limit", String(limits.memoryMb)],
  });
  switch (type) {
    case "validate":
      return { steps: [validate()], opponentFiles: opp.files };
    case "run":
      return {
        steps: [
          {
            title: "run",
            // The first seed's tape too, for the dashboard's replay (docs/trace.md).
            args: [
              "run",
              need(),
              ...oppSpecs,
              "--json",
              "result.json",
              "--trace",
              "trace.json",
              ...simArgs(params),
              ...sandbox,
            ],
          },
        ],
        opponentFiles: opp.files,
      };
    case "eval": {
      const against = oppSpecs.length ? oppSpecs : ["starter"];
      return {
        steps: [
          {
            title: "eval",
            args: [
              "eval",
              need(),
              "--against",
              ...against,
              "--json",
              "result.json",
              "--plots",
              "plots",
              ...simArgs(params),
              ...sandbox,
            ],
          },
        ],
        opponentFiles: opp.files,
      };
    }
    case "submit": {
      if (!competition) throw new Error("a submit job needs a competition");
      return {
        steps: [
          validate(),
          {
            title: `evaluate in competition '${competition.id}'`,
            args: [
              ...competitionEvalArgs(competition, need()),
              "--json",
              "result.json",
              "--plots",
              "plots",
              ...sandbox,
            ],
          },
        ],
        opponentFiles: [],
      };
    }
    case "train": {
      const args = ["train", "--out", "run", "--workers", "1", "--eval-every", "1", ...simArgs(params, false)];
      if (params.timesteps !== undefined) args.push("--timesteps", String(params.timesteps));
      if (params.seed !== undefined) args.push("--seed", String(params.seed));
      if (params.algo !== undefined) args.push("--algo", params.algo);
      if (oppSpecs.length) args.push("--opponents", ...oppSpecs);
      return {
        steps: [
          { title: "train", args },
          { title: "export the policy", args: ["export", "run", "--out", "policy.ts"] },
        ],
        opponentFiles: [],
      };
    }
  }
}
