import type { RandomStream } from "./rng.js";
import type { Side } from "./strategy.js";

/**
 * Retail order flow (spec §2 step 3): K ~ Poisson(rate) orders per step, each a buy of X with
 * probability 1/2, its size in Y log-normal with mean `meanSize`. Draws come only from the
 * retail stream, so the orders of a seed never depend on the strategies.
 */
export class RetailFlow {
  private readonly mu: number;
  private readonly poissonLimit: number;
  /** Side and Y-size of the order drawn by the last `nextOrder` call. */
  side: Side = 0;
  sizeY = 0;

  constructor(
    private readonly rate: number,
    meanSize: number,
    private readonly sizeSigma: number,
    private readonly stream: RandomStream,
  ) {
    this.mu = Math.log(meanSize) - 0.5 * sizeSigma * sizeSigma;
    this.poissonLimit = Math.exp(-rate);
  }

  /** Number of orders this step. */
  orderCount(): number {
    return this.rate > 30 ? this.stream.poisson(this.rate) : this.stream.poissonBelow(this.poissonLimit);
  }

  nextOrder(): void {
    this.side = this.stream.uniform() < 0.5 ? 0 : 1;
    this.sizeY = this.stream.logNormal(this.mu, this.sizeSigma);
  }
}
