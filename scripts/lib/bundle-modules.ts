// The modules of a `wrangler deploy --dry-run --outdir` build, for Miniflare.
// Miniflare given `modules: true` and a scriptPath loads that one file and
// nothing it imports, so a module the bundle keeps beside its script (the
// password hasher's argon2.wasm, imported as a precompiled
// WebAssembly.Module) would be missing: "No such module". This lists the
// script first and every other module wrangler wrote, typed by wrangler's
// default module rules.
import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { gzipSync } from "node:zlib";

export type BundleModule = { type: "ESModule" | "CompiledWasm" | "Data" | "Text"; path: string };

/**
 * wrangler's default rules: **\/*.wasm, **\/*.wasm?module CompiledWasm; **\/*.bin Data; **\/*.txt, *.html, *.sql Text.
 */
function typeOf(file: string): BundleModule["type"] | undefined {
  if (file.endsWith(".wasm")) return "CompiledWasm";
  if (file.endsWith(".bin")) return "Data";
  if (/\.(txt|html|sql)$/.test(file)) return "Text";
  if (/\.(m?js)$/.test(file)) return "ESModule";
  return undefined;
}

/** Miniflare's `modules` and `modulesRoot` for the build whose entry script is `script`. */
export function bundleModules(script: string): { modules: BundleModule[]; modulesRoot: string } {
  const dir = dirname(script);
  const main = basename(script);
  const others = readdirSync(dir)
    .filter((file) => file !== main)
    .sort()
    .flatMap((file) => {
      const type = typeOf(file);
      return type ? [{ type, path: join(dir, file) }] : [];
    });
  return { modules: [{ type: "ESModule", path: script }, ...others], modulesRoot: dir };
}

/** Raw and gzip bytes of everything a deploy of this build uploads (each module gzipped on its own). */
export function bundleBytes(script: string): { raw: number; gzip: number; modules: number } {
  const { modules } = bundleModules(script);
  let raw = 0;
  let gzip = 0;
  for (const module of modules) {
    const bytes = readFileSync(module.path);
    raw += bytes.byteLength;
    gzip += gzipSync(bytes).byteLength;
  }
  return { raw, gzip, modules: modules.length };
}
