// The configuration reference in docs/configuration.md, generated from the
// schema (src/core/config/schema.ts): `npm run docs:config` rewrites the block
// between the markers, and scripts/lib/config-docs.test.ts fails when the
// file differs from what the schema says.
import { type Declaration, BINDINGS, VARIABLE_NAMES, VARIABLES } from "../../src/core/config/schema.ts";

export const BEGIN_MARKER = "<!-- BEGIN GENERATED: npm run docs:config (from src/core/config/schema.ts) -->";
export const END_MARKER = "<!-- END GENERATED -->";

function cell(text: string): string {
  return text.replace(/\|/g, "\\|");
}

function shownDefault(declaration: Declaration<unknown>): string {
  if (declaration.required) return "required";
  if (declaration.shownDefault !== undefined) return declaration.shownDefault;
  const value = declaration.default;
  if (Array.isArray(value)) return value.length === 0 ? "empty" : `\`${value.join(",")}\``;
  return value === undefined ? "unset" : `\`${String(value)}\``;
}

/** A Markdown table with its columns padded, as Biome formats one (so `biome ci` and this agree). */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) => Math.max(title.length, 3, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((text, i) => text.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(header), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)].join("\n");
}

/** The generated tables: variables (secrets first, as declared), then bindings. */
export function configurationTables(): string {
  const rows = VARIABLE_NAMES.map((name) => {
    const declaration: Declaration<unknown> = VARIABLES[name];
    const dev = declaration.dev ? " `npm run dev` generates one into `.dev.vars`." : "";
    return [
      `\`${name}\``,
      declaration.secret ? "secret" : "var",
      shownDefault(declaration),
      declaration.accepts,
      declaration.doc + dev,
    ].map(cell);
  });
  const bindings = Object.entries(BINDINGS).map(([name, binding]) =>
    [`\`${name}\``, "required" in binding ? "yes" : "no", binding.doc].map(cell),
  );
  return [
    table(["Variable", "Kind", "Default", "Accepts", "Meaning"], rows),
    "",
    table(["Binding", "Required", "Meaning"], bindings),
  ].join("\n");
}

/** `doc` with the block between the markers replaced by the current tables. */
export function withGeneratedTables(doc: string): string {
  const begin = doc.indexOf(BEGIN_MARKER);
  const end = doc.indexOf(END_MARKER);
  if (begin === -1 || end < begin) throw new Error(`the markers are missing: ${BEGIN_MARKER} ... ${END_MARKER}`);
  return `${doc.slice(0, begin + BEGIN_MARKER.length)}\n${configurationTables()}\n${doc.slice(end)}`;
}
