/**
 * PropAmmEnv's render_mode (Gymnasium semantics, docs/gym.md): fixed at construction, "ansi"
 * makes render() return a text picture built on the trace recorder, no mode makes it return
 * undefined, and recording changes no observation, reward or result. The expected text comes
 * from the simulation's own pools and the episode's tape, read independently of the renderer.
 */
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../env/config.js";
import { checkEnv } from "../../gym/checker.js";
import { EnvError, PropAmmEnv, type StepResult } from "../../gym/env.js";
import { ScaleReward, Wrapper } from "../../gym/wrappers.js";
import { RandomStream } from "../../env/rng.js";

const SIM = { steps: 600, epochLen: 200 };
const CONFIG = { sim: SIM, decisionInterval: 25, opponents: ["starter", "fixed:30"] };

function play(env: PropAmmEnv, seed: number, onStep?: (r: StepResult) => void): StepResult[] {
  env.reset({ seed });
  const rng = new RandomStream(`render:${seed}`);
  const out: StepResult[] = [];
  for (let k = 0; k < 10_000; k++) {
    const r = env.step(env.actionSpace.sample(rng));
    out.push(r);
    onStep?.(r);
    if (r.terminated) break;
  }
  return out;
}

describe("render_mode", () => {
  it("without a render mode render() returns undefined, before and after reset", () => {
    const env = new PropAmmEnv(CONFIG);
    expect(env.renderMode).toBeUndefined();
    expect(env.render()).toBeUndefined();
    env.reset({ seed: 1 });
    env.step([0, 0]);
    expect(env.render()).toBeUndefined();
  });

  it("is fixed at construction, must be a supported mode, and is listed in the metadata", () => {
    expect(PropAmmEnv.metadata.renderModes).toEqual(["ansi"]);
    const env = new PropAmmEnv({ ...CONFIG, renderMode: "ansi" });
    expect(env.renderMode).toBe("ansi");
    expect(() => new PropAmmEnv({ ...CONFIG, renderMode: "human" as "ansi" })).toThrow(ConfigError);
    expect(() => new PropAmmEnv({ ...CONFIG, renderMode: "human" as "ansi" })).toThrow(
      /renderMode must be one of "ansi"/,
    );
  });

  it('"ansi" before reset() is an error', () => {
    expect(() => new PropAmmEnv({ ...CONFIG, renderMode: "ansi" }).render()).toThrow(EnvError);
  });

  it('"ansi" shows the step, the fair price, every pool and the last trades of where the episode paused', () => {
    const env = new PropAmmEnv({ ...CONFIG, renderMode: "ansi" });
    env.reset({ seed: 4 });
    const first = env.render()!;
    expect(first).toMatch(/^seed 4 {2}step 0\/600 {2}epoch 0 {2}fair price 100\.0000$/m);
    expect(first).toContain("no trades yet");
    expect(first).toMatch(/agent decision: reset/);
    let checked = 0;
    play(env, 4, (r) => {
      if (r.terminated) return;
      const text = env.render()!;
      const sim = env.simulation!;
      expect(text).toContain(`step ${r.info.simStep}/600`);
      expect(text).toContain(`fair price ${sim.fairPrice.toFixed(4)}`);
      const lines = text.split("\n");
      sim.pools.forEach((p, i) => {
        const row = lines.find((l) => l.startsWith(`${String(i).padStart(2)} `))!;
        expect(row).toContain(p.strategy.name.slice(0, 20));
        expect(row).toContain((p.reserveY / p.reserveX).toFixed(4));
        expect(row).toContain(p.reserveX.toFixed(4));
        expect(row).toContain(p.edge.toFixed(3));
        expect(row).toContain((p.fee0 * 10000).toFixed(1));
      });
      // The last trades listed are the tape's last trades (docs/trace.md), oldest first.
      const tr = env.trace()!.trades;
      const listed = lines.filter((l) => l.startsWith("  step "));
      const n = tr.step.length;
      expect(listed).toHaveLength(Math.min(5, n));
      listed.forEach((l, j) => {
        const k = n - listed.length + j;
        expect(l).toMatch(new RegExp(`^  step ${tr.step[k]} (arb|retail) +pool ${tr.pool[k]} side ${tr.side[k]}:`));
        expect(l).toContain(`edge ${tr.edge[k].toFixed(4)}`);
      });
      expect(lines.at(-1)).toMatch(/^agent decision: (swap \(side [01]\)|epoch), fees /);
      checked++;
    });
    expect(checked).toBeGreaterThan(10);
    expect(env.render()).toContain("step 600/600 (finished)");
  });

  it("recording for render() changes no observation, reward or result", () => {
    const quiet = new PropAmmEnv(CONFIG);
    const plain = play(quiet, 9);
    expect(quiet.trace()).toBeUndefined();
    const shown = play(new PropAmmEnv({ ...CONFIG, renderMode: "ansi" }), 9);
    expect(shown.length).toBe(plain.length);
    expect(shown.map((r) => [Array.from(r.observation), r.reward])).toEqual(
      plain.map((r) => [Array.from(r.observation), r.reward]),
    );
    expect(shown.at(-1)!.info.episode).toStrictEqual(plain.at(-1)!.info.episode);
  });

  it("wrappers pass render() and renderMode through, and the env checker accepts both modes", () => {
    const env = new PropAmmEnv({ ...CONFIG, renderMode: "ansi" });
    const wrapped = new ScaleReward(env, 2);
    expect(wrapped.renderMode).toBe("ansi");
    wrapped.reset({ seed: 2 });
    wrapped.step([0.1, 0.2]);
    expect(wrapped.render()).toBe(env.render());
    expect(checkEnv(env, { steps: 30 })).toEqual([]);
    expect(checkEnv(new PropAmmEnv(CONFIG), { steps: 30 })).toEqual([]);
  });

  it("the env checker names a render() that breaks Gymnasium's semantics", () => {
    class RendersAnyway extends Wrapper {
      override render(): string | undefined {
        return "something";
      }
    }
    class RendersNothing extends Wrapper {
      override render(): string | undefined {
        return undefined;
      }
    }
    expect(checkEnv(new RendersAnyway(new PropAmmEnv(CONFIG)), { steps: 10 })).toEqual([
      "render() returned something although renderMode is not set",
    ]);
    expect(checkEnv(new RendersNothing(new PropAmmEnv({ ...CONFIG, renderMode: "ansi" })), { steps: 10 })).toEqual([
      'render() with renderMode "ansi" must return a non-empty string (got undefined)',
    ]);
  });
});
