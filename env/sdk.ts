/**
 * What a strategy file gets for `import ... from "prop-amm-gym"` when it is bundled for the
 * sandbox (arena/sandbox.ts, docs/sandbox.md): the engine's strategy-side exports, none of which
 * imports a Node built-in. The package's other exports (runner, gym, server) are not there.
 */
export * from "./abi.js";
export * from "./capital.js";
export * from "./config.js";
export * from "./errors.js";
export * from "./features.js";
export * from "./options.js";
export * from "./pool.js";
export * from "./storage.js";
export type * from "./strategy.js";
export { BUILTIN_HELP, builtinSource } from "./builtins/index.js";
export { fixedFee } from "./builtins/fixed.js";
export { normalizer, constantProductQuote } from "./builtins/normalizer.js";
export { oracle, isOracle } from "./builtins/oracle.js";
export { starter, STARTER_NAME, MIN_FEE_BPS } from "./builtins/starter.js";
export { agentPool, AGENT_NAME, AGENT_SLOT, initialFeatures, readFeatures } from "./builtins/agent.js";
export type { AgentFeatures, AgentOptions, DecisionKind } from "./builtins/agent.js";
