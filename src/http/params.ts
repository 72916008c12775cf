// Ids in paths, parsed once where they enter: in docs/api.md, ids are UUIDs compared
// case-insensitively, so a UUID is lower-cased here and every layer after
// (services, database, audit rows, the edge revocation list) sees one
// spelling. Anything else passes through unchanged, so a malformed id gets
// the same 404 as an unknown one from the service (never a 400).
import { z } from "@hono/zod-openapi";
import { UUID_PATTERN } from "../core/ids";

const EXAMPLE_ID = "0b6f1c3e-5d2a-4e8f-9a41-2c7d8e9f0a1b";

/** A UUID path segment, lower-cased; a non-UUID unchanged (the service answers 404). */
export const UuidParam = z
  .string()
  .transform((id) => (UUID_PATTERN.test(id) ? id.toLowerCase() : id))
  .openapi({ format: "uuid", example: EXAMPLE_ID });

/** `{id}` in a path: a user's or a session's id. */
export const IdParams = z.object({
  id: UuidParam.openapi({ param: { name: "id", in: "path" }, format: "uuid", example: EXAMPLE_ID }),
});
