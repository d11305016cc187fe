/**
 * The typed-config tables (training/hyperparameters.ts) and the two algorithms' tables: defaults
 * in table order, fresh copies, `--hp` validation, and a doc for every hyperparameter.
 */
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../env/config.js";
import { DEFAULT_ES_CONFIG, ES_HYPERPARAMETERS, EsAlgorithm } from "../../training/es.js";
import {
  applyHyper,
  defaultsOf,
  describeHyperparameters,
  hp,
  type HyperparameterTable,
} from "../../training/hyperparameters.js";
import { DEFAULT_PPO_CONFIG, PPO_HYPERPARAMETERS, PpoAlgorithm } from "../../training/ppo.js";
import { parseHyper } from "../../cli/train-command.js";

const TABLE = {
  hidden: hp([4, 4], "widths"),
  rate: hp(0.5, "a rate"),
  flag: hp(true, "a switch"),
  mode: hp<"a" | "b">("a", "a choice"),
};

describe("a hyperparameter table", () => {
  it("gives its defaults in table order, lists copied", () => {
    const a = defaultsOf(TABLE);
    expect(Object.keys(a)).toEqual(["hidden", "rate", "flag", "mode"]);
    expect(a).toEqual({ hidden: [4, 4], rate: 0.5, flag: true, mode: "a" });
    a.hidden.push(9);
    expect(defaultsOf(TABLE).hidden).toEqual([4, 4]);
    expect(TABLE.hidden.default).toEqual([4, 4]);
  });

  it("applyHyper takes known keys of the right kind and refuses the rest by name", () => {
    const d = defaultsOf(TABLE);
    expect(applyHyper(d, { rate: 2, hidden: [8], flag: false })).toEqual({
      hidden: [8],
      rate: 2,
      flag: false,
      mode: "a",
    });
    expect(d.rate).toBe(0.5);
    expect(() => applyHyper(d, { nope: 1 })).toThrow(ConfigError);
    expect(() => applyHyper(d, { nope: 1 })).toThrow("unknown hyperparameter 'nope' (known: hidden, rate, flag, mode)");
    expect(() => applyHyper(d, { rate: "x" })).toThrow("hyperparameter 'rate' must be a number");
    expect(() => applyHyper(d, { flag: 1 })).toThrow("hyperparameter 'flag' must be a boolean");
    // One number is a list of one (`--hp hidden=64`), an empty list a network without hidden layers.
    expect(applyHyper(d, { hidden: 16 }).hidden).toEqual([16]);
    expect(applyHyper(d, { hidden: [] }).hidden).toEqual([]);
    for (const bad of [0, 2.5, [4, 0], [1.5], ["4"], "4"])
      expect(() => applyHyper(d, { hidden: bad })).toThrow(
        "hyperparameter 'hidden' must be a list of positive integers",
      );
  });

  it("parseHyper reads numbers, booleans, lists, text and an empty value", () => {
    expect(parseHyper("rate=0.25")).toEqual({ rate: 0.25 });
    expect(parseHyper("hidden=64,32", { flag: true })).toEqual({ flag: true, hidden: [64, 32] });
    expect(parseHyper("hidden=64")).toEqual({ hidden: 64 });
    expect(parseHyper("hidden=")).toEqual({ hidden: [] });
    expect(parseHyper("flag=false")).toEqual({ flag: false });
    expect(parseHyper("mode=b")).toEqual({ mode: "b" });
    expect(() => parseHyper("=3")).toThrow("--hp expects key=value (got '=3')");
    expect(() => parseHyper("rate")).toThrow("--hp expects key=value");
  });

  it("describes each entry as key=default and its doc", () => {
    expect(describeHyperparameters(TABLE)).toEqual([
      { key: "hidden=4,4", doc: "widths" },
      { key: "rate=0.5", doc: "a rate" },
      { key: "flag=true", doc: "a switch" },
      { key: "mode=a", doc: "a choice" },
    ]);
  });
});

describe("the ES and PPO tables", () => {
  const tables: [string, HyperparameterTable, object, () => object][] = [
    ["es", ES_HYPERPARAMETERS, DEFAULT_ES_CONFIG, () => EsAlgorithm.defaults()],
    ["ppo", PPO_HYPERPARAMETERS, DEFAULT_PPO_CONFIG, () => PpoAlgorithm.defaults()],
  ];
  for (const [algo, table, defaults, fresh] of tables) {
    it(`${algo}: every hyperparameter has a doc; the defaults are the table's`, () => {
      for (const [k, h] of Object.entries(table)) expect(h.doc.length, k).toBeGreaterThan(10);
      expect(defaults).toEqual(defaultsOf(table));
      expect(fresh()).toEqual(defaults);
      expect(fresh()).not.toBe(fresh());
    });
  }
});
