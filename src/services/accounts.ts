// Accounts: registration, login and password change (DESIGN.md "Passwords
// and accounts"). Login answers an unknown email, a wrong password and a
// disabled account identically, and in the same time: every path runs one
// argon2id verification at the configured cost and writes one failure row.
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import type { Config } from "../config";
import type { Clock } from "../context";
import type { DeviceInfo } from "../db/schema";
import { InvalidCredentials, RateLimited, ValidationFailed, EmailTaken } from "../errors";
import { AuditRepository, type RequestOrigin } from "../repositories/audit";
import type { Database } from "../repositories/database";
import { LoginThrottleRepository, type Admission } from "../repositories/login-throttles";
import { RegistrationRepository } from "../repositories/registrations";
import { SessionRepository } from "../repositories/sessions";
import { SignInRepository } from "../repositories/sign-in";
import { UserRepository, type UserRecord } from "../repositories/users";
import {
  checkPasswordPolicy,
  normalizeEmail,
  normalizePassword,
  type BreachedPasswordChecker,
  type PasswordHasher,
} from "./passwords";
import { generateRefreshToken, hashRefreshToken } from "./refresh-token-crypto";
import type { SessionRevocationList } from "./revocation";
import { issueTokenPair, type TokenPair } from "./token-pair";
import type { AccessTokenIssuer } from "./tokens";

export type AccountDeps = {
  db: Database;
  config: Config;
  clock: Clock;
  hasher: PasswordHasher;
  breached: BreachedPasswordChecker;
  tokens: () => Promise<AccessTokenIssuer>;
  revocations: SessionRevocationList;
};

export type SignedIn = { user: UserRecord; tokens: TokenPair };

export class AccountService {
  constructor(private readonly deps: AccountDeps) {}

  async register(input: { email: string; password: string; name?: string | null }, device: DeviceInfo, origin: RequestOrigin): Promise<SignedIn> {
    const { db, clock, hasher } = this.deps;
    const email = normalizeEmail(input.email);
    const password = checkPasswordPolicy(input.password, "password");
    if (await this.deps.breached.isBreached(password)) {
      throw new ValidationFailed([{ path: "password", message: "This password appears in known data breaches; choose another" }]);
    }
    const passwordHash = await hasher.hash(password);
    // The signing keys load before anything is written, so a key problem
    // cannot leave an account behind that the client never heard of.
    const issuer = await this.deps.tokens();
    const at = clock();
    const refreshToken = generateRefreshToken();
    const session = this.newSessionTimes(at);
    const sessionId = crypto.randomUUID();
    const user = await new RegistrationRepository(db).register({
      email,
      passwordHash,
      name: input.name?.trim() || null,
      session: { id: sessionId, device, refreshTokenHash: hashRefreshToken(refreshToken), ...session },
      origin,
      at,
    });
    if (!user) throw new EmailTaken();
    const tokens = await issueTokenPair(issuer, at, { userId: user.id, sessionId, roles: user.roles, permissions: user.permissions, grantsVersion: user.grantsVersion }, {
      token: refreshToken,
      expiresAt: session.absoluteExpiresAt,
    });
    return { user, tokens };
  }

  async login(input: { email: string; password: string }, device: DeviceInfo, origin: RequestOrigin): Promise<SignedIn> {
    const { db, config, clock, hasher } = this.deps;
    const email = normalizeEmail(input.email);
    const password = normalizePassword(input.password);
    const throttleKey = throttleKeyFor(email);
    // The attempt is counted before any password is checked, in the same round trip as the lookup.
    const { admission, user } = await new SignInRepository(db).admitAndFind({ key: throttleKey, maxAttempts: config.loginMaxFailures, at: clock(), email });
    await this.throwIfThrottled(admission, user?.id ?? null, origin);

    const passwordOk = user ? await hasher.verify(user.passwordHash, password) : await hasher.verifyDummy(password);
    if (!user || !passwordOk || user.status !== "active") {
      const reason = !user ? "unknown_email" : !passwordOk ? "wrong_password" : "account_disabled";
      await new AuditRepository(db).record({ event: "auth.login_failed", userId: user?.id ?? null, actorId: user?.id ?? null, origin, metadata: { reason }, at: clock() });
      throw new InvalidCredentials(reason);
    }

    const issuer = await this.deps.tokens();
    const at = clock();
    const refreshToken = generateRefreshToken();
    const session = { id: crypto.randomUUID(), ...this.newSessionTimes(at) };
    const rehashedPassword = hasher.needsRehash(user.passwordHash) ? await hasher.hash(password) : undefined;
    const opened = await new SessionRepository(db).open(
      { id: session.id, userId: user.id, device, refreshTokenHash: hashRefreshToken(refreshToken), idleExpiresAt: session.idleExpiresAt, absoluteExpiresAt: session.absoluteExpiresAt, at },
      { event: "auth.login_succeeded", origin },
      { clearThrottleKey: throttleKey, rehashedPassword },
    );
    // Disabled between the password check and now: the same answer as any failed login.
    if (!opened) throw new InvalidCredentials("account disabled during login");
    const tokens = await issueTokenPair(issuer, at, { userId: user.id, sessionId: session.id, roles: user.roles, permissions: user.permissions, grantsVersion: user.grantsVersion }, {
      token: refreshToken,
      expiresAt: session.absoluteExpiresAt,
    });
    return { user, tokens };
  }

  /** Needs the current password; ends every other session of the user, keeps this one. */
  async changePassword(input: { userId: string; sessionId: string; currentPassword: string; newPassword: string }, origin: RequestOrigin): Promise<void> {
    const { db, clock, hasher } = this.deps;
    // The new password is judged first: a rejected one is a validation
    // error, not a guess at the current password, and must not count as one.
    const newPassword = checkPasswordPolicy(input.newPassword, "newPassword");
    if (await this.deps.breached.isBreached(newPassword)) {
      throw new ValidationFailed([{ path: "newPassword", message: "This password appears in known data breaches; choose another" }]);
    }
    const user = await new UserRepository(db).findById(input.userId);
    if (!user || user.status !== "active") throw new InvalidCredentials("user gone or disabled");
    const throttleKey = throttleKeyFor(user.email);
    await this.throwIfThrottled(await this.admitAttempt(throttleKey), user.id, origin);
    if (!(await hasher.verify(user.passwordHash, normalizePassword(input.currentPassword)))) {
      await new AuditRepository(db).record({ event: "auth.login_failed", userId: user.id, actorId: user.id, origin, metadata: { reason: "wrong_current_password" }, at: clock() });
      throw new InvalidCredentials("wrong current password");
    }
    const passwordHash = await hasher.hash(newPassword);
    const at = clock();
    const ended = await db.transaction(async (tx) => {
      await tx.execute(UserRepository.setPasswordHash(user.id, passwordHash, at));
      await tx.execute(LoginThrottleRepository.clear(throttleKey));
      const endedIds = await new SessionRepository(tx).endAllForUser(
        user.id,
        { reason: "password_changed", event: "session.revoked", actorId: user.id, origin, at },
        input.sessionId,
      );
      await new AuditRepository(tx).record({ event: "user.password_changed", userId: user.id, actorId: user.id, sessionId: input.sessionId, origin, metadata: { endedSessions: endedIds.length }, at });
      return endedIds;
    });
    await this.deps.revocations.revoke(ended);
  }

  private newSessionTimes(at: Date) {
    const { refreshIdleTtl, refreshAbsoluteTtl } = this.deps.config;
    const absoluteExpiresAt = new Date(at.getTime() + refreshAbsoluteTtl * 1000);
    const idleExpiresAt = new Date(Math.min(at.getTime() + refreshIdleTtl * 1000, absoluteExpiresAt.getTime()));
    return { idleExpiresAt, absoluteExpiresAt };
  }

  /** Counts the attempt before any password is checked. */
  private admitAttempt(throttleKey: string): Promise<Admission> {
    const { db, config, clock } = this.deps;
    return new LoginThrottleRepository(db).admit({ key: throttleKey, maxAttempts: config.loginMaxFailures, at: clock() });
  }

  /** A locked account answers 429 with Retry-After, audited as auth.throttled. */
  private async throwIfThrottled(admission: Admission, userId: string | null, origin: RequestOrigin): Promise<void> {
    if (admission.admitted) return;
    const { db, clock } = this.deps;
    await new AuditRepository(db).record({ event: "auth.throttled", userId, actorId: userId, origin, metadata: { scope: "account" }, at: clock() });
    throw new RateLimited((admission.lockedUntil.getTime() - clock().getTime()) / 1000);
  }

}

/** The throttle key: a hash, so the table holds no email addresses. */
export function throttleKeyFor(normalizedEmail: string): string {
  return bytesToHex(sha256(utf8ToBytes(`login:${normalizedEmail}`)));
}
