// POST /auth/org: the organization a session acts in. A member switches its
// own session into an organization (or out of any); the answer is a new access
// token for the same session with the `org` claim computed from the
// membership (or without it), and every later token of the session (refresh,
// re-authentication) carries it too while the user stays a member. A
// non-member, a missing organization and a malformed id get the same 404.
// Switching needs membership only: the verified email is asked where one
// creates or joins an organization.
import type { Clock } from "../../core/clock";
import type { RequestOrigin } from "../../core/domain";
import { InvalidToken, NotFound } from "../../core/errors";
import { isUuid } from "../../core/ids";
import type { Reauthenticated } from "../reauthentication/service";
import { issueForSameSession } from "../sessions/token-pair";
import { subjectOf } from "../sign-in/service";
import type { AccessTokens } from "../tokens";
import type { ActiveOrganizationStore } from "./store";

export type ActiveOrganizationDeps = {
  store: ActiveOrganizationStore;
  clock: Clock;
  tokens: AccessTokens;
};

/**
 * An access token for the same session, with its new active organization (or none); the client keeps its refresh
 * token, whose refreshes keep the organization.
 */
export type OrgSwitched = Reauthenticated;

export class ActiveOrganizationService {
  constructor(private readonly deps: ActiveOrganizationDeps) {}

  /** Switches the caller's session to `orgId` (a member only: else not_found), or out of any organization (null). */
  async switchTo(
    caller: { userId: string; sessionId: string; origin: RequestOrigin },
    orgId: string | null,
  ): Promise<OrgSwitched> {
    if (orgId !== null && !isUuid(orgId)) throw new NotFound();
    const at = this.deps.clock();
    const outcome = await this.deps.store.switchTo({
      sessionId: caller.sessionId,
      userId: caller.userId,
      orgId: orgId?.toLowerCase() ?? null,
      origin: caller.origin,
      at,
    });
    if (outcome.kind === "not_member") throw new NotFound();
    // The access token verified, but its session ended (or its user was disabled) since: as the edge will say.
    if (outcome.kind === "session_ended")
      throw new InvalidToken({ cause: new Error("the session ended before its organization could change") });
    const { session } = outcome;
    const subject = {
      ...subjectOf({ ...session, id: caller.userId }, caller.sessionId, session),
      ...(session.org === undefined ? {} : { org: session.org }),
    };
    return issueForSameSession(this.deps.tokens, at, subject, session);
  }
}
