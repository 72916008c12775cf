// The module the Worker bundle gets for "zod" (wrangler.toml [alias]): zod's
// entry point, index.js, over the lean export list of ./exports.ts.
import * as z from "./exports";

export * from "./exports";
export { z, z as default };
