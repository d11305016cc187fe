/** prop-amm gym: public API. */
export * from "./env/abi.js";
export * from "./env/arbitrage.js";
export * from "./env/capital.js";
export * from "./env/config.js";
export * from "./env/errors.js";
export * from "./env/options.js";
export * from "./env/features.js";
export * from "./arena/loader.js";
export { BUILTIN_HELP, builtinSource } from "./env/builtins/index.js";
export * from "./env/pool.js";
export * from "./env/price.js";
export * from "./env/retail.js";
export * from "./env/rng.js";
export * from "./env/router.js";
export * from "./arena/runner.js";
export * from "./env/simulation.js";
export * from "./arena/stats.js";
export * from "./arena/tournament.js";
export {
  BradleyTerryError,
  fitBradleyTerry,
  information as bradleyTerryInformation,
  logLikelihood as bradleyTerryLogLikelihood,
  separation as bradleyTerrySeparation,
} from "./arena/bradley-terry.js";
export type { BradleyTerryFit, BradleyTerryOptions, PairwiseRecord } from "./arena/bradley-terry.js";
export * from "./env/storage.js";
export * from "./env/trace.js";
export type * from "./env/strategy.js";
export { fixedFee } from "./env/builtins/fixed.js";
export { normalizer, constantProductQuote } from "./env/builtins/normalizer.js";
export { oracle, isOracle } from "./env/builtins/oracle.js";
export { starter, starterSeed, STARTER_NAME, STARTER_SEED_NAME, MIN_FEE_BPS } from "./env/builtins/starter.js";
export * from "./gym/env.js";
export * from "./gym/options.js";
export * from "./gym/spaces.js";
export {
  agentPool,
  AGENT_NAME,
  AGENT_SLOT,
  initialFeatures,
  readExtendedFeatures,
  readFeatures,
} from "./env/builtins/agent.js";
export type { AgentFeatures, AgentOptions, DecisionKind, ExtendedFeatures } from "./env/builtins/agent.js";
export { EXT_SLOT } from "./runtime/slots.js";
export * from "./gym/vector-env.js";
export * from "./gym/wrappers.js";
export * from "./gym/checker.js";
export * from "./gym/multi-agent-env.js";
