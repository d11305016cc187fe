/**
 * `propamm tournament`: a round robin on fixed seeds (docs/spec.md §7.7). Every pair of entrants
 * (resolved as `propamm eval` resolves candidates) plays the same seeds in one market with the
 * normalizer; prints Bradley–Terry ratings with 95% intervals and the paired edge matrix, and
 * writes JSON.
 */
import type { Command } from "commander";
import { ConfigError } from "../env/config.js";
import { defaultWorkers } from "../arena/runner.js";
import { formatTournament, runTournament, TOURNAMENT_FORMAT, type Tournament } from "../arena/tournament.js";
import {
  addSandboxOptions,
  addSimulationOptions,
  configFromOptions,
  integer,
  printModeLine,
  real,
  sandboxFromOptions,
  type SandboxOptions,
  type SimOptions,
} from "./options.js";
import { progressBar } from "./progress.js";
import { writeJsonAtomic } from "./report.js";
import { prepareOutputFile } from "./outputs.js";
import { EVAL_SEED_START } from "./eval-command.js";

interface TournamentCliOptions extends SimOptions, SandboxOptions {
  simulations: number;
  seedStart: number;
  workers: number;
  json?: string;
  prior: number;
  anchor?: string;
  bootstrap: number;
  bootstrapSeed: number;
}

/** The `--json` document (keys documented in docs/spec.md §7.7). */
export function tournamentJson(t: Tournament): unknown {
  return {
    format: TOURNAMENT_FORMAT,
    entrants: t.entrants,
    seeds: t.seeds,
    config: t.config,
    rating: t.rating,
    ratings: t.ratings.map((r, i) => ({ spec: t.entrants[i].spec, name: t.entrants[i].name, ...r })),
    matrix: t.matrix,
    matches: t.matches.map((m) => ({
      a: t.entrants[m.a].spec,
      b: t.entrants[m.b].spec,
      diff: m.diff,
      winsA: m.winsA,
      winsB: m.winsB,
      ties: m.ties,
      edgeA: m.edgeA,
      edgeB: m.edgeB,
      edgeNormalizer: m.edgeNormalizer,
    })),
  };
}

export function addTournamentCommand(program: Command): void {
  const command = addSimulationOptions(
    program
      .command("tournament")
      .description(
        "round robin: every pair of strategies or checkpoints plays the same seeds; Bradley-Terry ratings with 95% intervals and the paired edge matrix",
      )
      .argument("<entrant...>", "checkpoint folders, strategy files or built-ins (at least 2)")
      .option("--simulations <n>", "seeds every pair plays", integer(1), 200)
      .option("--seed-start <n>", "first seed (training never uses seeds below 1,000,000)", integer(0), EVAL_SEED_START)
      .option(
        "--workers <n>",
        "worker threads (results are identical for any count)",
        integer(0, 256),
        defaultWorkers(),
      )
      .option("--json <file>", "write the matches' per-seed edges, the matrix and the ratings as JSON")
      .option(
        "--prior <games>",
        "virtual games per pair, half a win each, that keep ratings finite when one entrant wins every seed (0: plain maximum likelihood)",
        real((v) => v >= 0 && Number.isFinite(v), "a number >= 0"),
        1,
      )
      .option("--anchor <entrant>", "the entrant whose rating is 0 (default: the ratings' mean is 0)")
      .option(
        "--bootstrap <n>",
        "bootstrap resamples of the seeds for the ratings' intervals (0: none)",
        integer(0),
        1000,
      )
      .option("--bootstrap-seed <n>", "seed of the bootstrap's random stream", integer(0), 0),
  );
  addSandboxOptions(command, false).action(async (entrants: string[], o: TournamentCliOptions) => {
    if (entrants.length < 2)
      throw new ConfigError(`a tournament needs at least 2 entrants (got ${entrants.length}: ${entrants.join(", ")})`);
    let anchor: "mean" | number = "mean";
    if (o.anchor !== undefined) {
      anchor = entrants.indexOf(o.anchor);
      if (anchor < 0)
        throw new ConfigError(`--anchor '${o.anchor}' is not one of the entrants (${entrants.join(", ")})`);
    }
    if (o.json) prepareOutputFile(o.json, "--json");
    const { sandbox, limits } = sandboxFromOptions(o, false);
    printModeLine(sandbox, limits);
    const bar = progressBar("tournament");
    const t = await runTournament(entrants, {
      sandbox,
      limits,
      config: configFromOptions(o),
      simulations: o.simulations,
      seedStart: o.seedStart,
      workers: o.workers,
      prior: o.prior,
      anchor,
      bootstrap: o.bootstrap,
      bootstrapSeed: o.bootstrapSeed,
      onProgress: (d, total) => bar.update(d, total),
    });
    bar.finish();
    console.log(formatTournament(t));
    if (o.json) {
      writeJsonAtomic(o.json, tournamentJson(t));
      console.log(`wrote ${o.json}`);
    }
  });
}
