/**
 * The docs' option tables, written from the configuration schema (env/options.ts,
 * gym/options.ts) between markers `<!-- options:NAME -->` and `<!-- /options:NAME -->`.
 * `npm run docs:options` rewrites them; a test fails when a doc is out of date.
 */
import { PIN_OPTIONS, SIM_OPTIONS, type OptionSpec } from "../env/options.js";
import { ENV_OPTIONS } from "../gym/options.js";

/** The docs holding generated option tables, relative to the repository root. */
export const OPTION_DOCS = ["README.md", "docs/gym.md", "docs/protocol.md"] as const;

const WIRE_TYPE = { integer: "int", number: "float", boolean: "bool", choice: "str", list: "list of str" } as const;

function code(s: string): string {
  return `\`${s}\``;
}

/** The default as a doc shows it, with any command's own default after it. */
function defaultCell(o: OptionSpec): string {
  if (o.default === undefined) return o.defaultText ?? "none";
  const own = Object.entries(o.commandDefaults ?? {}).map(
    ([cmd, v]) => `; \`propamm ${cmd}\`: ${code(JSON.stringify(v))}`,
  );
  const notes = Object.entries(o.commandDefaultNotes ?? {}).map(([cmd, note]) => `; \`propamm ${cmd}\`: ${note}`);
  return code(JSON.stringify(o.default)) + own.join("") + notes.join("");
}

function validCell(o: OptionSpec): string {
  return o.check.kind === "choice"
    ? (o.check.choices ?? []).map((c) => code(JSON.stringify(c))).join(", ")
    : o.check.expected;
}

/** The option's path in its config object: `steps` is `sim.steps`, a pin `sim.pins.sigma`. */
function path(o: OptionSpec, name: string): string {
  return o.group === "env" ? name : o.group === "sim" ? `sim.${name}` : `sim.pins.${name}`;
}

/** A markdown table with its columns padded as prettier pads them. */
export function markdownTable(header: string[], rows: string[][]): string {
  const width = header.map((h, i) => Math.max(3, h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(width[i])).join(" | ")} |`;
  return [line(header), line(width.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

const ALL = (): OptionSpec[] => [...ENV_OPTIONS, ...SIM_OPTIONS, ...PIN_OPTIONS];

/** The generated text of each marker name. */
export function optionSections(): Record<string, string> {
  const flags = (rows: readonly OptionSpec[]): string =>
    rows
      .filter((o) => o.flag !== null)
      .map((o) => code(o.flag!.split(" ")[0]))
      .join(", ");
  return {
    // README: the flags of `run`, `eval`, `sweep` and `train`, inline in a sentence.
    "cli-sim": flags(SIM_OPTIONS),
    "cli-pins": flags(PIN_OPTIONS),
    gym: markdownTable(
      ["option", "default", "valid values", "CLI flag", "meaning"],
      ALL().map((o) => [
        code(path(o, o.key)),
        defaultCell(o),
        validCell(o),
        o.flag === null ? "" : code(o.flag),
        o.help,
      ]),
    ),
    protocol: markdownTable(
      ["key", "type", "default", "valid values", "meaning"],
      ALL().map((o) => [code(path(o, o.wire)), WIRE_TYPE[o.check.kind], defaultCell(o), validCell(o), o.help]),
    ),
  };
}

/**
 * A doc's text with every marked section rewritten. A section whose begin marker ends its line
 * is a block (a blank line either side, as prettier keeps them); otherwise it is inline.
 */
export function renderOptionDocs(text: string): string {
  const sections = optionSections();
  return text.replace(
    /<!-- options:([a-z-]+) -->([\s\S]*?)<!-- \/options:\1 -->/g,
    (_whole: string, name: string, inner: string) => {
      const body = sections[name];
      if (body === undefined) throw new Error(`unknown option docs marker '${name}'`);
      const block = inner.startsWith("\n");
      return block
        ? `<!-- options:${name} -->\n\n${body}\n\n<!-- /options:${name} -->`
        : `<!-- options:${name} -->${body}<!-- /options:${name} -->`;
    },
  );
}
