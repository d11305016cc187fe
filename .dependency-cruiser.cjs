/**
 * Layering rules, checked by `npm test` (npm run lint:layers). Layers, lowest first:
 *   runtime  -> the portable policy runtime: imports nothing outside itself
 *   env      -> the market engine and built-in strategies
 *   gym      -> the RL environment (env, vector env, spaces, wrappers, checker)
 *   agents   -> policies: MLP evaluator, policy-as-strategy, checkpoint format, export
 *   arena    -> batches, statistics, validation, evaluation, strategy resolution
 *   training -> learning algorithms, rollouts, tfjs
 *   server   -> the ZeroMQ server
 *   platform -> the competition platform: job API, queue, workers, leaderboard (runs cli as a child process)
 *   cli      -> the command line
 * A module may import its own layer and any layer below it; never one above, never in a circle.
 * web/ (the platform's dashboard, browser code) stands apart: it imports none of them.
 */
const LAYERS = ["runtime", "env", "gym", "agents", "arena", "training", "server", "platform", "cli"];

const upward = LAYERS.map((layer, i) => ({
  name: `no-upward-from-${layer}`,
  comment: `${layer}/ may only import ${LAYERS.slice(0, i + 1).join(", ")}`,
  severity: "error",
  from: { path: `^${layer}/` },
  to: { path: `^(${LAYERS.slice(i + 1).join("|") || "(?!)"}|bench|test|index\\.ts)(/|$)` },
}));

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "import circles make layers meaningless",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    ...upward,
    {
      name: "runtime-imports-nothing",
      comment: "the policy runtime is inlined into exported strategies: it may import only itself",
      severity: "error",
      from: { path: "^runtime/" },
      to: { pathNot: "^runtime/" },
    },
    {
      name: "web-is-browser-only",
      comment: "the dashboard (web/) runs in the browser and talks to the platform over HTTP: it imports no Node layer",
      severity: "error",
      from: { path: "^web/" },
      to: { path: `^(${LAYERS.join("|")}|bench|test|index\\.ts)(/|$)` },
    },
    {
      name: "no-test-imports-from-code",
      severity: "error",
      from: { pathNot: "^test/" },
      to: { path: "^test/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(dist|node_modules|\\.venv)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".tsx", ".js", ".mjs"] },
  },
};
