// Accounts: registration, login and password change (DESIGN.md "Passwords
// and accounts"). Login answers an unknown email, a wrong password and a
// disabled account identically, and in the same time: every path runs one
// argon2id verification at the configured cost and writes one failure row.
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import type { Clock } from "../clock";
import { EmailTaken, InvalidCredentials, RateLimited, ValidationFailed } from "../errors";
import {
  checkPasswordPolicy,
  normalizeEmail,
  normalizePassword,
  type BreachedPasswordChecker,
  type PasswordHasher,
} from "./passwords";
import type { Admission, DeviceInfo, RequestOrigin, RevocationList, Stores, UnitOfWork, UserRecord } from "./ports";
import { issueTokenPair, newSession, type RefreshTokenCodec, type SessionLifetimes, type TokenPair } from "./sessions";
import type { AccessTokens } from "./tokens";

export type AccountDeps = {
  stores: Pick<Stores, "users" | "throttles" | "registrations" | "sessions" | "audit">;
  unitOfWork: UnitOfWork;
  settings: SessionLifetimes & { loginMaxFailures: number };
  clock: Clock;
  hasher: PasswordHasher;
  breached: Pick<BreachedPasswordChecker, "isBreached">;
  codec: RefreshTokenCodec;
  tokens: AccessTokens;
  revocations: Pick<RevocationList, "revoke">;
};

export type SignedIn = { user: UserRecord; tokens: TokenPair };

export class AccountService {
  constructor(private readonly deps: AccountDeps) {}

  async register(input: { email: string; password: string; name?: string | null }, device: DeviceInfo, origin: RequestOrigin): Promise<SignedIn> {
    const { stores, clock, hasher } = this.deps;
    const email = normalizeEmail(input.email);
    const password = await this.acceptablePassword(input.password, "password");
    const passwordHash = await hasher.hash(password);
    const at = clock();
    const { session, refreshToken } = newSession(this.deps.codec, this.deps.settings, device, at);
    const user = await stores.registrations.register({ email, passwordHash, name: input.name?.trim() || null, session, origin, at });
    if (!user) throw new EmailTaken();
    return { user, tokens: await this.tokenPair(user, session, refreshToken, at) };
  }

  async login(input: { email: string; password: string }, device: DeviceInfo, origin: RequestOrigin): Promise<SignedIn> {
    const { stores, settings, clock, hasher } = this.deps;
    const email = normalizeEmail(input.email);
    const password = normalizePassword(input.password);
    const throttleKey = throttleKeyFor(email);
    // The attempt is counted before any password is checked, in the same round trip as the lookup.
    const { admission, user } = await stores.throttles.admitAndFindUser({ key: throttleKey, maxAttempts: settings.loginMaxFailures, at: clock(), email });
    await this.refuseIfThrottled(admission, user?.id ?? null, origin);

    const passwordOk = user ? await hasher.verify(user.passwordHash, password) : await hasher.verifyDummy(password);
    if (!user || !passwordOk || user.status !== "active") {
      const reason = !user ? "unknown_email" : !passwordOk ? "wrong_password" : "account_disabled";
      await stores.audit.record({ event: "auth.login_failed", userId: user?.id ?? null, actorId: user?.id ?? null, origin, metadata: { reason }, at: clock() });
      throw new InvalidCredentials(reason);
    }

    const at = clock();
    const { session, refreshToken } = newSession(this.deps.codec, settings, device, at);
    const rehashedPassword = hasher.needsRehash(user.passwordHash) ? await hasher.hash(password) : undefined;
    const opened = await stores.sessions.openSignIn({ userId: user.id, session, origin, at, clearThrottleKey: throttleKey, rehashedPassword });
    // Disabled between the password check and now: the same answer as any failed login.
    if (!opened) throw new InvalidCredentials("account disabled during login");
    return { user, tokens: await this.tokenPair(user, session, refreshToken, at) };
  }

  /** Needs the current password; ends every other session of the user, keeps this one. */
  async changePassword(input: { userId: string; sessionId: string; currentPassword: string; newPassword: string }, origin: RequestOrigin): Promise<void> {
    const { stores, settings, clock, hasher } = this.deps;
    // The new password is judged first: a rejected one is a validation
    // error, not a guess at the current password, and must not count as one.
    const newPassword = await this.acceptablePassword(input.newPassword, "newPassword");
    const user = await stores.users.findById(input.userId);
    if (!user || user.status !== "active") throw new InvalidCredentials("user gone or disabled");
    const throttleKey = throttleKeyFor(user.email);
    await this.refuseIfThrottled(await stores.throttles.admit({ key: throttleKey, maxAttempts: settings.loginMaxFailures, at: clock() }), user.id, origin);
    if (!(await hasher.verify(user.passwordHash, normalizePassword(input.currentPassword)))) {
      await stores.audit.record({ event: "auth.login_failed", userId: user.id, actorId: user.id, origin, metadata: { reason: "wrong_current_password" }, at: clock() });
      throw new InvalidCredentials("wrong current password");
    }
    const passwordHash = await hasher.hash(newPassword);
    const at = clock();
    const ended = await this.deps.unitOfWork.run(async (tx) => {
      await tx.users.setPasswordHash(user.id, passwordHash, at);
      await tx.throttles.clear(throttleKey);
      const endedIds = await tx.sessions.endAllForUser(user.id, { reason: "password_changed", event: "session.revoked", actorId: user.id, origin, at }, input.sessionId);
      await tx.audit.record({ event: "user.password_changed", userId: user.id, actorId: user.id, sessionId: input.sessionId, origin, metadata: { endedSessions: endedIds.length }, at });
      return endedIds;
    });
    await this.deps.revocations.revoke(ended);
  }

  /** The policy (NFC, length, common passwords), then the breached-password check. */
  private async acceptablePassword(password: string, field: string): Promise<string> {
    const normalized = checkPasswordPolicy(password, field);
    if (await this.deps.breached.isBreached(normalized)) {
      throw new ValidationFailed([{ path: field, message: "This password appears in known data breaches; choose another" }]);
    }
    return normalized;
  }

  private tokenPair(user: UserRecord, session: { id: string; absoluteExpiresAt: Date }, refreshToken: string, at: Date): Promise<TokenPair> {
    const subject = { userId: user.id, sessionId: session.id, roles: user.roles, permissions: user.permissions, grantsVersion: user.grantsVersion };
    return issueTokenPair(this.deps.tokens, at, subject, { token: refreshToken, expiresAt: session.absoluteExpiresAt });
  }

  /** A locked account answers 429 with Retry-After, audited as auth.throttled. */
  private async refuseIfThrottled(admission: Admission, userId: string | null, origin: RequestOrigin): Promise<void> {
    if (admission.admitted) return;
    const { stores, clock } = this.deps;
    await stores.audit.record({ event: "auth.throttled", userId, actorId: userId, origin, metadata: { scope: "account" }, at: clock() });
    throw new RateLimited((admission.lockedUntil.getTime() - clock().getTime()) / 1000);
  }
}

/** The throttle key: a hash, so the table holds no email addresses. */
function throttleKeyFor(normalizedEmail: string): string {
  return bytesToHex(sha256(utf8ToBytes(`login:${normalizedEmail}`)));
}
