// zod's public API as the Worker uses it: zod/v4/classic/external.js without
// the parts a bundle keeps only because @hono/zod-openapi hands the whole `z`
// namespace to zod-to-openapi as a value (so esbuild cannot drop what no one
// calls): every locale but English (which schemas.js registers itself),
// toJSONSchema / fromJSONSchema, the `core` namespace (which re-exports the
// locales) and z.compile. wrangler.toml's `alias` points "zod" at ./index.ts
// for the Worker's bundle; Node, type checking and (unless they read the
// alias) tests use zod itself. Relative paths: an import of "zod/..." would
// be aliased back here.
export * from "../../../node_modules/zod/v4/classic/schemas.js";
export * from "../../../node_modules/zod/v4/classic/checks.js";
export * from "../../../node_modules/zod/v4/classic/errors.js";
export * from "../../../node_modules/zod/v4/classic/parse.js";
export * from "../../../node_modules/zod/v4/classic/compat.js";
export {
  globalRegistry,
  registry,
  config,
  memoizer,
  $output,
  $input,
  $brand,
  clone,
  regexes,
  treeifyError,
  prettifyError,
  formatError,
  flattenError,
  TimePrecision,
  util,
  NEVER,
  toZod,
  getDiscriminatedOption,
} from "../../../node_modules/zod/v4/core/index.js";
export { deepPartial } from "../../../node_modules/zod/v4/classic/deep-partial.js";
export { input, output } from "../../../node_modules/zod/v4/classic/in-out.js";
export { ZodISODateTime, ZodISODate, ZodISOTime, ZodISODuration } from "../../../node_modules/zod/v4/classic/iso.js";
export * as iso from "../../../node_modules/zod/v4/classic/iso.js";
export * as coerce from "../../../node_modules/zod/v4/classic/coerce.js";
