// What every OneTimeTokenStore, and the UserStore methods that end one-time
// tokens, must do (src/features/lifecycle/postgres.ts and users.ts in SQL),
// run against the in-memory fake the lifecycle tests use and against
// Postgres, so the fake cannot drift from the statements. Everything is
// arranged through the store ports: users registered (with the verification
// token registration stores), disabled, renamed, deleted.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { NewOneTimeToken, OneTimePurpose } from "../../src/features/lifecycle/store";
import type { RequestOrigin } from "../../src/core/domain";
import type { Stores } from "../../src/stores";
import { MemoryStores } from "../support/fakes";
import { testService } from "../support/harness";

type Fixture = { stores: Stores; close?(): Promise<void> };

const ORIGIN: RequestOrigin = { ip: "192.0.2.9", userAgent: "contract-test" };
const HOUR = 3600;

/** A stand-in for a token's SHA-256: the store only ever sees hashes. */
function randomHash(): string {
  return [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const after = (at: Date, seconds: number) => new Date(at.getTime() + seconds * 1000);

function oneTimeTokenStoreContract(name: string, open: () => Fixture | Promise<Fixture>): void {
  describe(`OneTimeTokenStore contract (${name})`, () => {
    let fixture: Fixture;
    let stores: Stores;
    beforeEach(async () => {
      fixture = await open();
      stores = fixture.stores;
    });
    afterEach(async () => {
      await fixture.close?.();
    });

    /** A registered user (no session) and the verification token registration stored for them. */
    async function arrange(at = new Date()) {
      const email = `ott-${crypto.randomUUID()}@example.com`;
      const verification = { tokenHash: randomHash(), expiresAt: after(at, 24 * HOUR) };
      const user = await stores.registrations.register({
        email,
        passwordHash: "$argon2id$contract",
        name: null,
        session: undefined,
        verification,
        origin: ORIGIN,
        at,
      });
      if (!user) throw new Error("register refused a fresh email");
      return { at, user, userId: user.id, email, verification: verification.tokenHash };
    }

    function issue(
      userId: string,
      email: string,
      at: Date,
      options: {
        purpose?: OneTimePurpose;
        maxPerHour?: number;
        ttl?: number;
        newEmail?: string;
        tokenHash?: string;
      } = {},
    ) {
      const purpose = options.purpose ?? "password_reset";
      const token: NewOneTimeToken = {
        purpose,
        userId,
        tokenHash: options.tokenHash ?? randomHash(),
        email,
        newEmail: options.newEmail,
        expiresAt: after(at, options.ttl ?? 1800),
      };
      return stores.oneTimeTokens
        .issue({
          token,
          maxPerHour: options.maxPerHour ?? 5,
          audit: { event: "user.password_reset_requested", actorId: null, origin: ORIGIN },
          at,
        })
        .then((issued) => ({ issued, tokenHash: token.tokenHash }));
    }

    const spend = (tokenHash: string, purpose: OneTimePurpose, at: Date) =>
      stores.oneTimeTokens.spend({ tokenHash, purpose, at });
    const auditRows = async (userId: string, event: string) =>
      (await stores.audit.page({ userId, event, limit: 50 })).items;

    describe("registration", () => {
      it(
        "stores the verification token with a user.email_verification_sent row, " +
          "and opens no session when given none",
        async () => {
          const { at, userId, email, verification } = await arrange();
          expect(await stores.sessions.listLive(userId, at)).toEqual([]);
          expect(await auditRows(userId, "user.email_verification_sent")).toEqual([
            expect.objectContaining({ userId, actorId: userId }),
          ]);
          expect((await auditRows(userId, "user.registered"))[0]!.sessionId).toBeUndefined();
          expect(await spend(verification, "email_verification", after(at, 1))).toEqual({
            userId,
            email,
            newEmail: null,
          });
        },
      );
    });

    describe("issue", () => {
      it(
        "stores the token with its audit row and ends the user's earlier unused " + "tokens of that purpose only",
        async () => {
          const { at, userId, email, verification } = await arrange();
          const first = await issue(userId, email, after(at, 1));
          const second = await issue(userId, email, after(at, 2));
          expect([first.issued, second.issued]).toEqual([{ issued: true }, { issued: true }]);
          expect(await spend(first.tokenHash, "password_reset", after(at, 3))).toBeUndefined();
          expect(await spend(second.tokenHash, "password_reset", after(at, 3))).toEqual({
            userId,
            email,
            newEmail: null,
          });
          expect(await spend(verification, "email_verification", after(at, 3))).toBeDefined();
          expect(await auditRows(userId, "user.password_reset_requested")).toEqual([
            expect.objectContaining({ userId, ip: ORIGIN.ip }),
            expect.objectContaining({ userId, ip: ORIGIN.ip }),
          ]);
        },
      );

      it(
        "refuses once the user has had maxPerHour of the purpose in the hour " +
          "before, counting spent and ended ones, and says when the oldest leaves " +
          "the hour",
        async () => {
          const { at, userId, email } = await arrange();
          const a = await issue(userId, email, at, { maxPerHour: 2 });
          await spend(a.tokenHash, "password_reset", after(at, 5));
          await issue(userId, email, after(at, 10), { maxPerHour: 2 });
          const refused = await issue(userId, email, after(at, 20), { maxPerHour: 2 });
          expect(refused.issued).toEqual({ issued: false, retryAfterSeconds: HOUR - 20 });
          expect(await spend(refused.tokenHash, "password_reset", after(at, 21))).toBeUndefined();
          expect(await auditRows(userId, "user.password_reset_requested")).toHaveLength(2);
          // Exactly an hour after the first, it no longer counts.
          expect((await issue(userId, email, after(at, HOUR), { maxPerHour: 2 })).issued).toEqual({ issued: true });
        },
      );

      it("counts per purpose: another purpose's tokens (here registration's verification) do not count", async () => {
        const { at, userId, email } = await arrange();
        expect((await issue(userId, email, after(at, 1), { maxPerHour: 1 })).issued).toEqual({ issued: true });
        expect(
          (await issue(userId, email, after(at, 2), { purpose: "email_verification", maxPerHour: 1 })).issued,
        ).toMatchObject({ issued: false });
      });

      it("binds an email-change token to the old address and the new one", async () => {
        const { at, userId, email } = await arrange();
        const { tokenHash } = await issue(userId, email, at, {
          purpose: "email_change",
          newEmail: "new@example.com",
          ttl: HOUR,
        });
        expect(await spend(tokenHash, "email_change", after(at, 1))).toEqual({
          userId,
          email,
          newEmail: "new@example.com",
        });
      });
    });

    describe("spend", () => {
      it("spends a token once", async () => {
        const { at, userId, email } = await arrange();
        const { tokenHash } = await issue(userId, email, at);
        expect(await spend(tokenHash, "password_reset", after(at, 1))).toEqual({ userId, email, newEmail: null });
        expect(await spend(tokenHash, "password_reset", after(at, 2))).toBeUndefined();
      });

      it("refuses another purpose, and the token stays spendable for its own", async () => {
        const { at, userId, email } = await arrange();
        const { tokenHash } = await issue(userId, email, at);
        expect(await spend(tokenHash, "email_verification", after(at, 1))).toBeUndefined();
        expect(await spend(tokenHash, "email_change", after(at, 1))).toBeUndefined();
        expect(await spend(tokenHash, "password_reset", after(at, 1))).toBeDefined();
      });

      it("refuses at the expiry, and spends 1 ms before it", async () => {
        const { at, userId, email } = await arrange();
        const { tokenHash } = await issue(userId, email, at, { ttl: 1800 });
        expect(await spend(tokenHash, "password_reset", after(at, 1800))).toBeUndefined();
        expect(await spend(tokenHash, "password_reset", new Date(after(at, 1800).getTime() - 1))).toBeDefined();
      });

      it("refuses an unknown hash", async () => {
        const { at } = await arrange();
        expect(await spend(randomHash(), "password_reset", at)).toBeUndefined();
      });

      it("refuses while the user is disabled, and spends once they are active again", async () => {
        const { at, userId, email } = await arrange();
        const { tokenHash } = await issue(userId, email, at);
        await stores.adminUsers.setStatus(userId, "disabled", after(at, 1));
        expect(await spend(tokenHash, "password_reset", after(at, 2))).toBeUndefined();
        await stores.adminUsers.setStatus(userId, "active", after(at, 3));
        expect(await spend(tokenHash, "password_reset", after(at, 4))).toBeDefined();
      });

      it("refuses a token bound to an address that is not the user's", async () => {
        const { at, userId } = await arrange();
        const { tokenHash } = await issue(userId, "not-theirs@example.com", at);
        expect(await spend(tokenHash, "password_reset", after(at, 1))).toBeUndefined();
      });
    });

    describe("the UserStore methods that end tokens", () => {
      it(
        "setPasswordHash ends the user's live reset tokens and (v3) pending " + "email change, and no other purpose's",
        async () => {
          const { at, userId, email, verification } = await arrange();
          const { tokenHash } = await issue(userId, email, at);
          const change = await issue(userId, email, at, {
            purpose: "email_change",
            newEmail: "attacker@example.com",
            ttl: HOUR,
          });
          await stores.users.setPasswordHash(userId, "$argon2id$new", after(at, 1));
          expect(await spend(tokenHash, "password_reset", after(at, 2))).toBeUndefined();
          expect(await spend(change.tokenHash, "email_change", after(at, 2))).toBeUndefined();
          expect(await spend(verification, "email_verification", after(at, 2))).toBeDefined();
          expect((await stores.users.findById(userId))!.passwordHash).toBe("$argon2id$new");
        },
      );

      it("changeEmail makes the address the user's, verified, and ends every live token of the user", async () => {
        const { at, userId, email, verification } = await arrange();
        const { tokenHash } = await issue(userId, email, at);
        const newEmail = `moved-${crypto.randomUUID()}@example.com`;
        expect(await stores.users.changeEmail(userId, newEmail, after(at, 1))).toBe(true);
        expect(await stores.users.findById(userId)).toMatchObject({ email: newEmail, emailVerified: true });
        expect(await stores.users.findByEmail(newEmail)).toMatchObject({ id: userId });
        expect(await stores.users.findByEmail(email)).toBeUndefined();
        expect(await spend(tokenHash, "password_reset", after(at, 2))).toBeUndefined();
        expect(await spend(verification, "email_verification", after(at, 2))).toBeUndefined();
      });

      it("changeEmail to an address another account holds answers false and writes nothing", async () => {
        const { at, userId, email, verification } = await arrange();
        const other = await arrange(at);
        expect(await stores.users.changeEmail(userId, other.email, after(at, 1))).toBe(false);
        expect(await stores.users.findById(userId)).toMatchObject({ email, emailVerified: false });
        expect(await spend(verification, "email_verification", after(at, 2))).toBeDefined();
      });

      it("markEmailVerified verifies, and again is harmless", async () => {
        const { at, userId } = await arrange();
        await stores.users.markEmailVerified(userId, after(at, 1));
        await stores.users.markEmailVerified(userId, after(at, 2));
        expect(await stores.users.findById(userId)).toMatchObject({ emailVerified: true });
      });

      it("updateName answers the updated user, and undefined for none", async () => {
        const { at, userId } = await arrange();
        expect(await stores.users.updateName(userId, "Ada", at)).toMatchObject({
          id: userId,
          name: "Ada",
          roles: ["user"],
          emailVerified: false,
        });
        expect(await stores.users.updateName(crypto.randomUUID(), "Ada", at)).toBeUndefined();
      });

      it(
        "delete removes the user with their sessions and tokens (false the " + "second time); their audit rows stay",
        async () => {
          const { at, userId, email, verification } = await arrange();
          const { tokenHash } = await issue(userId, email, at);
          expect(await stores.users.delete(userId)).toBe(true);
          expect(await stores.users.delete(userId)).toBe(false);
          expect(await stores.users.findById(userId)).toBeUndefined();
          expect(await spend(tokenHash, "password_reset", after(at, 1))).toBeUndefined();
          expect(await spend(verification, "email_verification", after(at, 1))).toBeUndefined();
          expect(await auditRows(userId, "user.registered")).toHaveLength(1);
          // The address is free again.
          expect(
            await stores.registrations.register({
              email,
              passwordHash: "$argon2id$again",
              name: null,
              session: undefined,
              verification: { tokenHash: randomHash(), expiresAt: after(at, HOUR) },
              origin: ORIGIN,
              at,
            }),
          ).toMatchObject({ email });
        },
      );
    });

    describe("v3: every store method by which an owner takes the account back ends a pending email change", () => {
      const factorAudit = (at: Date) => ({ actorId: null, sessionId: null, origin: ORIGIN, at });
      const change = (userId: string, email: string, at: Date) =>
        issue(userId, email, at, {
          purpose: "email_change",
          newEmail: `attacker-${crypto.randomUUID()}@example.com`,
          ttl: HOUR,
          maxPerHour: 50,
        });

      it("SessionStore.endAllForUser, whether or not a session was live; other purposes stay", async () => {
        const { at, userId, email, verification } = await arrange();
        const { tokenHash } = await change(userId, email, at);
        expect(
          await stores.sessions.endAllForUser(userId, {
            reason: "revoked_by_user",
            event: "session.revoked",
            actorId: userId,
            origin: ORIGIN,
            at: after(at, 1),
          }),
        ).toEqual([]);
        expect(await spend(tokenHash, "email_change", after(at, 2))).toBeUndefined();
        expect(await spend(verification, "email_verification", after(at, 2))).toBeDefined();
      });

      it(
        "SecondFactorStore: a TOTP factor confirmed or removed, recovery codes " + "replaced, every factor removed",
        async () => {
          const { at, userId, email } = await arrange();
          const steps: [string, (t: Date) => Promise<boolean>][] = [
            [
              "confirm",
              async (t) =>
                (await stores.secondFactors.putPendingTotp(userId, "sealed", t)) &&
                stores.secondFactors.acceptTotpStep({
                  userId,
                  step: 1,
                  at: t,
                  confirm: { recoveryCodeHashes: [randomHash()], audit: factorAudit(t) },
                }),
            ],
            ["regenerate", (t) => stores.secondFactors.replaceRecoveryCodes(userId, [randomHash()], factorAudit(t))],
            ["remove", (t) => stores.secondFactors.removeTotp(userId, factorAudit(t))],
            [
              "removeAll",
              async (t) =>
                (await stores.secondFactors.putPendingTotp(userId, "sealed", t)) &&
                (await stores.secondFactors.acceptTotpStep({
                  userId,
                  step: 2,
                  at: t,
                  confirm: { recoveryCodeHashes: [randomHash()], audit: factorAudit(t) },
                })) &&
                stores.secondFactors.removeAll(userId, factorAudit(after(t, 1))),
            ],
          ];
          let t = after(at, 1);
          for (const [label, step] of steps) {
            const { tokenHash } = await change(userId, email, t);
            t = after(t, 10);
            expect(await step(t), label).toBe(true);
            t = after(t, 10);
            expect(await spend(tokenHash, "email_change", t), label).toBeUndefined();
          }
        },
      );

      it("PasskeyStore: a passkey added or removed; a refused addition ends nothing", async () => {
        const { at, userId, email } = await arrange();
        const credential = {
          userId,
          credentialId: `cred-${crypto.randomUUID()}`,
          publicKey: "key",
          counter: 0,
          transports: [],
          deviceType: "singleDevice",
          backedUp: false,
          name: null,
        };
        const first = await change(userId, email, at);
        const added = await stores.passkeys.add(credential, factorAudit(after(at, 1)));
        expect(added).toBeDefined();
        expect(await spend(first.tokenHash, "email_change", after(at, 2))).toBeUndefined();
        const second = await change(userId, email, after(at, 3));
        expect(await stores.passkeys.add(credential, factorAudit(after(at, 4)))).toBeUndefined();
        expect(await stores.passkeys.remove(added!.id, userId, factorAudit(after(at, 5)))).toBe(true);
        expect(await spend(second.tokenHash, "email_change", after(at, 6))).toBeUndefined();
        const third = await change(userId, email, after(at, 7));
        expect(await stores.passkeys.add(credential, factorAudit(after(at, 8)))).toBeDefined();
        expect(await stores.passkeys.remove(crypto.randomUUID(), userId, factorAudit(after(at, 9)))).toBe(false);
        // The passkey added at 8 ended the third change; a fourth survives a removal that removed nothing.
        expect(await spend(third.tokenHash, "email_change", after(at, 10))).toBeUndefined();
        const fourth = await change(userId, email, after(at, 11));
        expect(await stores.passkeys.remove(crypto.randomUUID(), userId, factorAudit(after(at, 12)))).toBe(false);
        expect(await spend(fourth.tokenHash, "email_change", after(at, 13))).toBeDefined();
      });

      it(
        "an email change requested for an address in use is stored ended: it " +
          "counts toward the limit and ends the earlier one, and cannot be spent",
        async () => {
          const { at, userId, email } = await arrange();
          const earlier = await change(userId, email, at);
          const token: NewOneTimeToken = {
            purpose: "email_change",
            userId,
            tokenHash: randomHash(),
            email,
            newEmail: "taken@example.com",
            expiresAt: after(at, HOUR),
            endedReason: "address_in_use",
          };
          expect(
            await stores.oneTimeTokens.issue({
              token,
              maxPerHour: 2,
              audit: { event: "user.email_change_requested", actorId: userId, origin: ORIGIN },
              at: after(at, 1),
            }),
          ).toEqual({ issued: true });
          expect(await spend(token.tokenHash, "email_change", after(at, 2))).toBeUndefined();
          expect(await spend(earlier.tokenHash, "email_change", after(at, 2))).toBeUndefined();
          expect(
            (
              await issue(userId, email, after(at, 3), {
                purpose: "email_change",
                newEmail: "free@example.com",
                ttl: HOUR,
                maxPerHour: 2,
              })
            ).issued,
          ).toMatchObject({ issued: false });
        },
      );
    });

    describe("v3: UserStore.claimByProof, the first proof of an address", () => {
      it(
        "claims an unverified address once: verified, sessions and live tokens " +
          "ended, one claim row; proven already: undefined, nothing written",
        async () => {
          const { at, userId, email, verification } = await arrange();
          const pending = await issue(userId, email, at, {
            purpose: "email_change",
            newEmail: "attacker@example.com",
            ttl: HOUR,
          });
          const ended = await stores.users.claimByProof({
            userId,
            proof: "password_reset",
            endPassword: false,
            origin: ORIGIN,
            at: after(at, 1),
          });
          expect(ended).toEqual([]);
          expect(await stores.users.findById(userId)).toMatchObject({
            emailVerified: true,
            passwordHash: "$argon2id$contract",
            mfa: { totp: false, passkeys: 0 },
          });
          expect(await spend(pending.tokenHash, "email_change", after(at, 2))).toBeUndefined();
          expect(await spend(verification, "email_verification", after(at, 2))).toBeUndefined();
          const rows = await auditRows(userId, "user.claimed_by_proof");
          expect(rows).toEqual([
            expect.objectContaining({
              userId,
              actorId: userId,
              metadata: {
                proof: "password_reset",
                sessions: 0,
                oneTimeTokens: 2,
                totp: 0,
                recoveryCodes: 0,
                passkeys: 0,
                identities: 0,
                challenges: 0,
                passwordEnded: false,
              },
            }),
          ]);
          expect(
            await stores.users.claimByProof({
              userId,
              proof: "password_reset",
              endPassword: true,
              origin: ORIGIN,
              at: after(at, 3),
            }),
          ).toBeUndefined();
          expect((await stores.users.findById(userId))!.passwordHash).toBe("$argon2id$contract");
          expect(await auditRows(userId, "user.claimed_by_proof")).toHaveLength(1);
        },
      );

      it("with endPassword, no password is left to verify", async () => {
        const { at, userId } = await arrange();
        await stores.users.claimByProof({
          userId,
          proof: "password_reset",
          endPassword: true,
          origin: ORIGIN,
          at: after(at, 1),
        });
        expect((await stores.users.findById(userId))!.passwordHash).not.toMatch(/^\$argon2id\$/);
      });
    });

    describe("MaintenanceStore.deleteExpiredOneTimeTokens", () => {
      it("deletes tokens that expired before the cutoff, used or not, in batches of at most `limit`", async () => {
        // Dated in 1999, so no other test's tokens qualify.
        const at = new Date("1999-06-01T00:00:00.000Z");
        const { userId, email, verification } = await arrange(at);
        try {
          const used = await issue(userId, email, at, { purpose: "email_change", maxPerHour: 10, ttl: 60 });
          await spend(used.tokenHash, "email_change", after(at, 1));
          await issue(userId, email, after(at, 2), { purpose: "password_reset", maxPerHour: 10, ttl: 60 });
          const cutoff = after(at, 3 * HOUR);
          expect(await stores.maintenance.deleteExpiredOneTimeTokens(cutoff, 1)).toBe(1);
          expect(await stores.maintenance.deleteExpiredOneTimeTokens(cutoff, 10)).toBe(1);
          expect(await stores.maintenance.deleteExpiredOneTimeTokens(cutoff, 10)).toBe(0);
          // The verification token (24 h) had not expired by the cutoff: it is still there to spend.
          expect(await spend(verification, "email_verification", after(at, 10))).toBeDefined();
        } finally {
          // Leaves no expired rows behind for a later retention test to count.
          await stores.users.delete(userId);
        }
      });
    });
  });
}

oneTimeTokenStoreContract("in memory", () => ({ stores: new MemoryStores().stores }));
oneTimeTokenStoreContract("Postgres", () => testService().stores());
