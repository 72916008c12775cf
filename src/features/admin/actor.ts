// Who acts on an account from outside it: an administrator through the API,
// whose permissions are read from the database inside each change (not from
// their token), or the operator through the CLI (`npm run admin`), who acts
// outside the service with no account of their own.
import type { RequestOrigin } from "../../core/domain";

export type AdminActor =
  | { kind: "administrator"; actorId: string; origin: RequestOrigin }
  | { kind: "operator"; origin: RequestOrigin };

/** The operator, alone: what only the CLI may do (define roles) takes this. */
export type OperatorActor = Extract<AdminActor, { kind: "operator" }>;

export const OPERATOR: OperatorActor = { kind: "operator", origin: { ip: null, userAgent: null } };

/** The audit row's actor id: null for the operator. */
export function actorIdOf(actor: AdminActor): string | null {
  return actor.kind === "administrator" ? actor.actorId : null;
}
