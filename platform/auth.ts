/**
 * API tokens and request limits. A token is 32 random bytes (base64url) shown once when made;
 * the store keeps only its sha256, so a leaked database gives no usable token. Rate limits are
 * token buckets in this process's memory (per API server; several servers each apply their own).
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { Role, Store, TokenRow } from "./store.js";

export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** Makes a token for `author`, stores its hash and returns the token (the only time it is seen). */
export async function issueToken(store: Store, author: string, role: Role): Promise<{ token: string; row: TokenRow }> {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/.test(author)) {
    throw new Error("author: 1-40 characters of letters, digits, '_', '.' and '-', starting with a letter or digit");
  }
  const token = `pamm_${randomBytes(32).toString("base64url")}`;
  const row: TokenRow = { id: randomUUID(), hash: hashToken(token), author, role, createdAt: Date.now() };
  await store.addToken(row);
  return { token, row };
}

/** Token buckets: `capacity` requests at once, refilled at `perMinute` a minute. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly capacity: number,
    private readonly perMinute: number,
  ) {}

  /** Takes one request from `key`'s bucket; returns 0 if allowed, else the seconds until it would be. */
  take(key: string, now = Date.now()): number {
    if (this.perMinute <= 0) return 0;
    let b = this.buckets.get(key);
    if (!b) {
      // Bounded memory under a flood of distinct keys: forget full buckets first.
      if (this.buckets.size > 50_000) this.buckets.clear();
      b = { tokens: this.capacity, at: now };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(this.capacity, b.tokens + ((now - b.at) / 60_000) * this.perMinute);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - b.tokens) * 60) / this.perMinute);
  }
}
