import seedrandom from "seedrandom";

/**
 * A seeded random stream. Built on seedrandom's Alea generator (fast, 32-bit state
 * updates, reproducible on every platform). Each simulation derives several independent
 * streams from its seed by name, so adding a strategy never shifts the draws of the price
 * path or the retail orders (common random numbers).
 */
/** A stream's complete state, for checkpoints: the generator's words and the spare normal. */
export interface RandomStreamState {
  alea: seedrandom.State.Alea;
  spareNormal: number;
  hasSpare: boolean;
}

export class RandomStream {
  private readonly prng: seedrandom.StatefulPRNG<seedrandom.State.Alea> | null;
  private readonly next: () => number;
  private spareNormal = 0;
  private hasSpare = false;

  /** `state`: true for a stream whose state can be saved, or a saved state to resume from. */
  constructor(seed: string, state?: RandomStreamState | true) {
    if (state === undefined) {
      this.prng = null;
      this.next = seedrandom.alea(seed);
      return;
    }
    this.prng = seedrandom.alea(seed, { state: state === true ? true : { ...state.alea } });
    this.next = this.prng;
    if (state !== true) {
      this.spareNormal = state.spareNormal;
      this.hasSpare = state.hasSpare;
    }
  }

  /** The state to resume this stream from (new RandomStream(anySeed, state)). */
  state(): RandomStreamState {
    if (this.prng === null) throw new Error("this stream was created without state support (pass state: true)");
    return { alea: this.prng.state(), spareNormal: this.spareNormal, hasSpare: this.hasSpare };
  }

  /** Uniform on [0, 1). */
  uniform(): number {
    return this.next();
  }

  /** Uniform on [lo, hi). */
  uniformIn(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer uniform on {lo, ..., hi}. */
  integerIn(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Standard normal draw (Marsaglia polar method; the second variate is kept for the next call). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spareNormal;
    }
    let u = 0;
    let v = 0;
    let s = 0;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    this.spareNormal = v * m;
    this.hasSpare = true;
    return u * m;
  }

  /**
   * Poisson draw by Knuth's product-of-uniforms method: exact, and cheap for the small
   * rates (below 2 orders per step) this market uses.
   */
  poisson(rate: number): number {
    if (rate <= 0) return 0;
    if (rate > 30) {
      // Large rates never occur with the spec's ranges; the normal approximation keeps a
      // pinned large rate usable rather than slow.
      return Math.max(0, Math.round(rate + Math.sqrt(rate) * this.normal()));
    }
    return this.poissonBelow(Math.exp(-rate));
  }

  /** Knuth's method with exp(-rate) precomputed (the retail flow draws with a fixed rate). */
  poissonBelow(limit: number): number {
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }

  /** Log-normal draw with the given log-mean and log-standard-deviation. */
  logNormal(mu: number, sigma: number): number {
    return Math.exp(mu + sigma * this.normal());
  }
}

/** The independent streams of one simulation (spec §2: market, price path, retail, other). */
export interface SimulationStreams {
  market: RandomStream;
  price: RandomStream;
  retail: RandomStream;
  other: RandomStream;
}

export function simulationStreams(seed: number): SimulationStreams {
  return {
    market: new RandomStream(`propamm:${seed}:market`),
    price: new RandomStream(`propamm:${seed}:price`),
    retail: new RandomStream(`propamm:${seed}:retail`),
    other: new RandomStream(`propamm:${seed}:other`),
  };
}
