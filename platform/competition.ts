/**
 * A competition: the fixed, published evaluation every submission gets, so that rows of the
 * leaderboard are comparable and paired by seed. Changing any field makes a different
 * competition (give it a new id): entries are only ever compared on the same definition.
 */
import { builtinSource } from "../env/sdk.js";

export interface Competition {
  /** Short id used in URLs and the database ([a-z0-9-], 1-40 characters). */
  id: string;
  title: string;
  /** First evaluation seed; seeds seedStart .. seedStart + simulations - 1. */
  seedStart: number;
  simulations: number;
  /** The line-up each submission meets (built-in strategies), besides the normalizer. */
  opponents: string[];
  steps: number;
  epochLen: number;
}

export const DEFAULT_COMPETITION: Competition = {
  id: "default",
  title: "One strategy against the starter and the normalizer",
  seedStart: 500_000,
  simulations: 100,
  opponents: ["starter"],
  steps: 10_000,
  epochLen: 1_000,
};

function int(v: unknown, field: string, lo: number, hi: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) {
    throw new Error(`competition: '${field}' must be an integer in [${lo}, ${hi}] (got ${JSON.stringify(v)})`);
  }
  return v;
}

/** Checks a competition definition (from a JSON file) field by field; fills defaults for missing fields. */
export function parseCompetition(value: unknown): Competition {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error("competition: expected a JSON object");
  }
  const v = { ...DEFAULT_COMPETITION, ...(value as Record<string, unknown>) } as Record<string, unknown>;
  const known = new Set(Object.keys(DEFAULT_COMPETITION));
  for (const k of Object.keys(value)) {
    if (!known.has(k)) throw new Error(`competition: unknown field '${k}' (fields: ${[...known].join(", ")})`);
  }
  if (typeof v.id !== "string" || !/^[a-z0-9][a-z0-9-]{0,39}$/.test(v.id)) {
    throw new Error("competition: 'id' must be 1-40 characters of a-z, 0-9 and '-'");
  }
  if (typeof v.title !== "string" || v.title.length > 200) throw new Error("competition: 'title' must be a string");
  if (!Array.isArray(v.opponents) || v.opponents.length > 8) {
    throw new Error("competition: 'opponents' must be a list of at most 8 built-in strategies");
  }
  for (const o of v.opponents) {
    if (typeof o !== "string" || builtinSource(o) === undefined) {
      throw new Error(`competition: opponent ${JSON.stringify(o)} is not a built-in strategy`);
    }
  }
  const steps = int(v.steps, "steps", 100, 100_000);
  return {
    id: v.id,
    title: v.title,
    seedStart: int(v.seedStart, "seedStart", 0, 2 ** 31),
    simulations: int(v.simulations, "simulations", 2, 10_000),
    opponents: v.opponents as string[],
    steps,
    epochLen: int(v.epochLen, "epochLen", 1, steps),
  };
}

/** The `propamm eval` arguments that evaluate `file` in this competition (the worker runs exactly these). */
export function competitionEvalArgs(c: Competition, file: string): string[] {
  return [
    "eval",
    file,
    "--against",
    ...c.opponents,
    "--simulations",
    String(c.simulations),
    "--seed-start",
    String(c.seedStart),
    "--steps",
    String(c.steps),
    "--epoch-len",
    String(c.epochLen),
  ];
}
