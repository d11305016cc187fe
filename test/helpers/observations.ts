/**
 * Policy inputs for tests of the policy path (normalisation, clipping, the forward pass, saved
 * and exported networks): the same five-feature observations wherever two implementations of a
 * policy are compared on them. Drawn from a named engine stream (env/rng.ts), so a name fixes
 * the set.
 */
import { RandomStream } from "../../env/rng.js";

/**
 * n observations from the observation box [0, 10] x [0, 1]^4; every tenth has its first four
 * features stretched by 1.5, a little outside the box, to exercise the clip path.
 */
export function randomObservations(n: number, seed: string): Float32Array[] {
  const rng = new RandomStream(seed);
  return Array.from({ length: n }, (_, k) => {
    const spread = k % 10 === 0 ? 1.5 : 1;
    return Float32Array.from([
      rng.uniform() * 10 * spread,
      rng.uniform() * spread,
      rng.uniform() * spread,
      rng.uniform() * spread,
      rng.uniform(),
    ]);
  });
}
