import type { RandomStream } from "./rng.js";

/**
 * Geometric Brownian motion with zero drift in price (spec §2 step 1):
 * S <- S * exp(-sigma^2/2 + sigma * Z), so E[S_{t+1}] = S_t.
 */
export class PriceProcess {
  price: number;
  private readonly drift: number;

  constructor(
    initial: number,
    private readonly sigma: number,
    private readonly stream: RandomStream,
  ) {
    this.price = initial;
    this.drift = -0.5 * sigma * sigma;
  }

  next(): number {
    this.price *= Math.exp(this.drift + this.sigma * this.stream.normal());
    return this.price;
  }
}
