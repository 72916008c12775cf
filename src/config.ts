// The configuration lives in src/core/config/ (one zod schema declares each
// variable); this module re-exports it for the code that imports it from here.
export * from "./core/config";
