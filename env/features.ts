/**
 * The feature updates shared by the starter, the agent pool and exported policies (spec §5)
 * live in the policy runtime (runtime/features.ts), which exported policies inline; re-exported
 * here for the engine's public API.
 */
export { INITIAL_FLOW_EMA, INITIAL_VOL, type TradeFeatureEvent, updateFeatures } from "../runtime/features.js";
