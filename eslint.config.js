import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "dist/",
      "node_modules/",
      "runs/",
      ".venv/",
      "submissions/",
      "checkpoints/",
      "demo/",
      "eval/",
      "coverage/",
      "reports/",
      ".stryker-tmp/",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.cjs"],
    languageOptions: { sourceType: "commonjs", globals: { module: "writable", require: "readonly" } },
  },
  {
    // The dashboard (web/src) runs in the browser: its globals, and none of Node's.
    files: ["web/src/**/*.{ts,tsx}"],
    languageOptions: {
      globals: Object.fromEntries(
        [
          "window",
          "document",
          "location",
          "history",
          "localStorage",
          "fetch",
          "EventSource",
          "ResizeObserver",
          "requestAnimationFrame",
          "cancelAnimationFrame",
          "getComputedStyle",
          "devicePixelRatio",
          "performance",
          "console",
          "setTimeout",
          "clearTimeout",
          "setInterval",
          "clearInterval",
          "URL",
          "URLSearchParams",
          "Blob",
          "File",
          "Event",
        ].map((g) => [g, "readonly"]),
      ),
    },
  },
  {
    ignores: ["web/src/**"],
    languageOptions: { globals: { process: "readonly", console: "readonly", performance: "readonly" } },
  },
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
);
