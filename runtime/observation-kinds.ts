/**
 * The observation kinds as values (spec §6.3), for option checks and file validation. Kept out of
 * runtime/mapping.ts, which exported policies inline and which needs only the type.
 */
import type { ObservationKind } from "./mapping.js";

/** Every observation kind, in the order help texts list them. */
export const OBSERVATION_KINDS: readonly ObservationKind[] = ["seed", "seed-vol", "extended"];

/** Whether a value (from a checkpoint, a protocol message) names an observation kind. */
export function isObservationKind(x: unknown): x is ObservationKind {
  return (OBSERVATION_KINDS as readonly unknown[]).includes(x);
}
