// /account: the signed-in user's security settings, on the pages' own
// session (cookie mode): profile, email (confirmation, change), password
// (change, or set one by a mailed link for an account without), where the
// account is signed in (this device marked; end one, or all others),
// two-step verification (TOTP with its QR code, recovery codes), passkeys,
// linked provider accounts (when the service has them), organizations
// (./organizations.ts), and recent security activity. An action the service
// answers reauthentication_required asks the user to confirm it is them,
// offering the methods the answer lists, then runs again.
import {
  AuthApiError,
  type AuditEvent,
  type Passkey,
  type ReauthenticationProof,
  type ResponseBody,
  type Session,
  type User,
} from "../../../packages/client/src/index";
import type { MessageKey } from "../messages/en";
import {
  $,
  busy,
  clearErrors,
  client,
  element,
  explain,
  fail,
  input,
  say,
  showError,
  submitOf,
  t,
  when,
} from "./common";
import { loadOrganizations, wireOrganizations } from "./organizations";
import { createPasskey, passkeyAssertion } from "./passkey";

let user: User | null = null;
let activityCursor: string | null = null;

/** An action's failure: in the page's alert region, in words. */
function failed(error: unknown): void {
  say("");
  showError("page-error", error);
}

/** Runs a user's action: busy button, errors shown, the re-authentication asked for when needed. */
function act(button: HTMLButtonElement | null, action: () => Promise<void>): Promise<void> {
  clearErrors("page-error");
  say("");
  return busy(button, async () => {
    try {
      await withReauth(action);
    } catch (error) {
      if (error instanceof AuthApiError && error.code === "invalid_token") return signedOut();
      failed(error);
    }
  });
}

async function withReauth(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    if (!(error instanceof AuthApiError && error.code === "reauthentication_required")) throw error;
    if (await reauthenticate((error.methods ?? []) as string[])) await action();
  }
}

// --- Re-authentication ---
let reauthDone: ((ok: boolean) => void) | null = null;

function reauthenticate(methods: string[]): Promise<boolean> {
  const dialog = $<HTMLDialogElement>("reauth");
  const password = methods.some((m) => m.startsWith("password"));
  $("reauth-password-field").hidden = !password;
  // An account without a password proves itself with an email code, with its second factor when it has one.
  const byEmail = methods.some((m) => m.startsWith("email_code"));
  $("reauth-code-field").hidden = !methods.includes("password+totp") && !methods.includes("email_code+totp");
  $("reauth-recovery-field").hidden =
    !methods.includes("password+recovery_code") && !methods.includes("email_code+recovery_code");
  $("reauth-submit").hidden = !password;
  $("reauth-passkey").hidden = !methods.includes("passkey");
  $("reauth-email").hidden = !byEmail && (password || !!user?.hasPassword);
  $("reauth-email-field").hidden = true;
  $<HTMLFormElement>("reauth-form").reset();
  clearErrors("reauth-error");
  dialog.showModal();
  return new Promise((resolve) => {
    reauthDone = resolve;
  });
}

function closeReauth(ok: boolean): void {
  const done = reauthDone;
  reauthDone = null;
  $<HTMLDialogElement>("reauth").close();
  done?.(ok);
}

async function proveIt(proof: ReauthenticationProof): Promise<void> {
  try {
    await client.reauthenticate(proof);
    closeReauth(true);
  } catch (error) {
    const wrong = error instanceof AuthApiError && /invalid_(credentials|mfa_code)|invalid_email_code/.test(error.code);
    if (wrong) fail("reauth-error", t("reauth.wrong"));
    else showError("reauth-error", error);
  }
}

function wireReauth(): void {
  const dialog = $<HTMLDialogElement>("reauth");
  dialog.addEventListener("close", () => {
    if (reauthDone) closeReauth(false);
  });
  $("reauth-cancel").addEventListener("click", () => closeReauth(false));
  $<HTMLFormElement>("reauth-form").addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors("reauth-error");
    const emailCode = input("reauth-email-code").value.replace(/\s/g, "");
    const currentPassword = input("reauth-password").value;
    const code = input("reauth-code").value.replace(/\s/g, "");
    const recoveryCode = input("reauth-recovery").value.trim();
    let proof: ReauthenticationProof;
    if (!$("reauth-email-field").hidden)
      proof = code ? { emailCode, code } : recoveryCode ? { emailCode, recoveryCode } : { emailCode };
    else if (!currentPassword) return fail("reauth-error", t("common.required"), "reauth-password");
    else if (code) proof = { currentPassword, code };
    else if (recoveryCode) proof = { currentPassword, recoveryCode };
    else if ($("reauth-code-field").hidden && $("reauth-recovery-field").hidden) proof = { currentPassword };
    else return fail("reauth-error", t("common.required"), "reauth-code");
    void busy(submitOf(event.currentTarget as HTMLFormElement), () => proveIt(proof));
  });
  $<HTMLButtonElement>("reauth-passkey").addEventListener("click", (event) => {
    clearErrors("reauth-error");
    void busy(event.currentTarget as HTMLButtonElement, async () => {
      try {
        await proveIt({ response: await passkeyAssertion(() => client.reauthenticationPasskeyOptions()) });
      } catch (error) {
        fail("reauth-error", explain(error).text);
      }
    });
  });
  $<HTMLButtonElement>("reauth-email").addEventListener("click", (event) => {
    void busy(event.currentTarget as HTMLButtonElement, async () => {
      try {
        await client.requestReauthenticationCode();
        $("reauth-email-field").hidden = false;
        $("reauth-submit").hidden = false;
        fail("reauth-error", "");
        $("reauth-error").textContent = "";
        input("reauth-email-code").focus();
      } catch (error) {
        showError("reauth-error", error);
      }
    });
  });
}

// --- Drawing ---
function drawUser(): void {
  if (!user) return;
  input("name").value = user.name ?? "";
  $("email").textContent = user.email;
  $("email-state").textContent = user.emailVerified ? t("account.emailVerified") : t("account.emailUnverified");
  $("resend-verification").hidden = user.emailVerified;
  // v3: an address change starts only from a confirmed address.
  $<HTMLFormElement>("email-form").hidden = !user.emailVerified;
  $("email-password-field").hidden = !user.hasPassword;
  $<HTMLFormElement>("password-form").hidden = !user.hasPassword;
  $("no-password").hidden = user.hasPassword;
  const totp = !!user.mfa?.totp;
  $("totp-state").textContent = totp ? t("account.totpOn") : t("account.totpOff");
  $("totp-enrol").hidden = totp;
  $("totp-remove").hidden = !totp;
  $("recovery-new").hidden = !totp;
  const username = document.querySelector<HTMLInputElement>("#password-form input[name=username]");
  if (username) username.value = user.email;
}

async function reloadUser(): Promise<void> {
  user = (await client.getMe()).user;
  drawUser();
}

/** "Chrome on Linux" from a user agent, or the device's name. */
function deviceName(session: Session): string {
  const device = session.device ?? {};
  if (device.name) return device.name;
  const agent = device.userAgent ?? "";
  const browser = /Edg\//.test(agent)
    ? "Edge"
    : /Firefox\//.test(agent)
      ? "Firefox"
      : /Chrom(e|ium)\//.test(agent)
        ? "Chrome"
        : /Safari\//.test(agent)
          ? "Safari"
          : "";
  const system = /Android/.test(agent)
    ? "Android"
    : /iPhone|iPad/.test(agent)
      ? "iOS"
      : /Mac OS X/.test(agent)
        ? "macOS"
        : /Windows/.test(agent)
          ? "Windows"
          : /Linux/.test(agent)
            ? "Linux"
            : "";
  if (browser && system) return `${browser} · ${system}`;
  return browser || system || t("account.unknownDevice");
}

async function loadSessions(): Promise<void> {
  const { sessions } = await client.listSessions();
  sessions.sort((a, b) => Number(b.current) - Number(a.current));
  $("sessions").replaceChildren(
    ...sessions.map((session) => {
      const item = element("li");
      const text = element("div");
      const title = element("strong", deviceName(session));
      text.append(title);
      if (session.current) text.append(element("span", t("account.thisDevice"), "badge"));
      const where = [session.device?.city, session.device?.country, session.device?.ip].filter(Boolean).join(", ");
      text.append(
        element(
          "span",
          `${t("account.lastActive", { when: when(session.lastUsedAt) })}${where ? ` · ${where}` : ""}`,
          "meta",
        ),
      );
      item.append(text);
      if (!session.current) {
        const end = element("button", t("account.endSession"));
        end.type = "button";
        end.setAttribute("aria-label", `${t("account.endSession")}: ${deviceName(session)}`);
        end.addEventListener("click", () =>
          act(end, async () => {
            await client.revokeSession(session.id);
            await loadSessions();
            say(t("account.sessionEndedOne"));
          }),
        );
        item.append(end);
      }
      return item;
    }),
  );
  $("end-others").hidden = sessions.length < 2;
}

async function loadPasskeys(): Promise<void> {
  let passkeys: Passkey[];
  try {
    passkeys = (await client.listPasskeys()).passkeys;
  } catch {
    passkeys = [];
  }
  const list = $("passkeys");
  if (!passkeys.length) {
    list.replaceChildren(element("li", t("account.noPasskeys")));
    return;
  }
  list.replaceChildren(
    ...passkeys.map((passkey) => {
      const item = element("li");
      const text = element("div");
      const name = passkey.name || t("account.unnamedPasskey");
      text.append(
        element("strong", name),
        element(
          "span",
          t("account.passkeyMeta", { created: when(passkey.createdAt), used: when(passkey.lastUsedAt) }),
          "meta",
        ),
      );
      const remove = element("button", t("account.removePasskey", { name }), "danger");
      remove.type = "button";
      remove.addEventListener("click", () =>
        act(remove, async () => {
          await client.removePasskey(passkey.id);
          await Promise.all([loadPasskeys(), reloadUser()]);
          say(t("account.passkeyRemoved"));
        }),
      );
      item.append(text, remove);
      return item;
    }),
  );
}

async function loadIdentities(): Promise<void> {
  let identities: ResponseBody<"listIdentities">["identities"];
  try {
    identities = (await client.listIdentities()).identities;
  } catch {
    $("identities-section").hidden = true; // the service has no linked identities (404), or not now
    return;
  }
  $("identities-section").hidden = false;
  const list = $("identities");
  if (!identities.length) {
    list.replaceChildren(element("li", t("account.noIdentities")));
    return;
  }
  list.replaceChildren(
    ...identities.map((identity) => {
      const item = element("li");
      const text = element("div");
      text.append(element("strong", identity.provider), element("span", identity.email ?? "", "meta"));
      const unlink = element("button", t("account.unlink", { provider: identity.provider }), "danger");
      unlink.type = "button";
      unlink.addEventListener("click", () =>
        act(unlink, async () => {
          await client.unlinkIdentity(identity.id);
          await loadIdentities();
          say(t("account.unlinked"));
        }),
      );
      item.append(text, unlink);
      return item;
    }),
  );
}

function eventText(event: AuditEvent): string {
  const key = `event.${event.event}` as MessageKey;
  const text = t(key);
  return text === key ? t("event.other") : text;
}

/** Events a user reads as security activity: a session's routine renewal is none. */
const ROUTINE = new Set(["auth.refreshed"]);

async function loadActivity(more = false): Promise<void> {
  const page = await client.listMyActivity(
    more && activityCursor ? { cursor: activityCursor, limit: 25 } : { limit: 25 },
  );
  activityCursor = page.nextCursor ?? null;
  const items = page.items
    .filter((event) => !ROUTINE.has(event.event))
    .map((event) => {
      const item = element("li");
      const text = element("div");
      text.append(element("strong", eventText(event)));
      const where = event.ip ? ` · ${t("account.activityFrom", { where: event.ip })}` : "";
      text.append(element("span", `${when(event.createdAt)}${where}`, "meta"));
      item.append(text);
      return item;
    });
  if (more) $("activity").append(...items);
  else $("activity").replaceChildren(...(items.length ? items : [element("li", t("account.noActivity"))]));
  $("activity-more").hidden = !activityCursor;
}

function showRecoveryCodes(codes: string[]): void {
  $("recovery-list").replaceChildren(...codes.map((code) => element("li", code)));
  $("recovery").hidden = false;
  $("recovery-heading").focus();
}

function signedOut(): void {
  location.assign("/sign-in");
}

function wire(): void {
  wireReauth();
  wireOrganizations(act, () => user);
  $<HTMLButtonElement>("sign-out").addEventListener("click", (event) =>
    busy(event.currentTarget as HTMLButtonElement, async () => {
      await client.logout();
      signedOut();
    }),
  );
  $<HTMLFormElement>("name-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = input("name").value.trim();
    void act(submitOf(event.currentTarget as HTMLFormElement), async () => {
      user = (await client.updateMe({ name: name || null } as never)).user;
      drawUser();
      say(t("account.nameSaved"));
    });
  });
  $<HTMLButtonElement>("resend-verification").addEventListener("click", (event) =>
    act(event.currentTarget as HTMLButtonElement, async () => {
      await client.sendEmailVerification();
      say(t("account.verificationSent", { email: user?.email ?? "" }));
    }),
  );
  $<HTMLFormElement>("email-form").addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors("page-error");
    const newEmail = input("new-email").value.trim();
    if (!newEmail) return fail("page-error", t("common.required"), "new-email");
    const currentPassword = input("email-password").value;
    if (user?.hasPassword && !currentPassword) return fail("page-error", t("common.required"), "email-password");
    void act(submitOf(event.currentTarget as HTMLFormElement), async () => {
      await client.requestEmailChange(user?.hasPassword ? { newEmail, currentPassword } : ({ newEmail } as never));
      input("new-email").value = "";
      input("email-password").value = "";
      say(t("account.emailChangeSent", { email: newEmail }));
    });
  });
  $<HTMLFormElement>("password-form").addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors("page-error");
    const currentPassword = input("current-password").value;
    const newPassword = input("new-password").value;
    if (!currentPassword) return fail("page-error", t("common.required"), "current-password");
    if (!newPassword) return fail("page-error", t("common.required"), "new-password");
    void act(submitOf(event.currentTarget as HTMLFormElement), async () => {
      try {
        await client.changePassword({ currentPassword, newPassword });
      } catch (error) {
        if (error instanceof AuthApiError && error.code === "invalid_credentials")
          return fail("page-error", t("account.wrongPassword"), "current-password");
        if (error instanceof AuthApiError && error.code === "validation_failed")
          return fail("page-error", explain(error).text, "new-password");
        throw error;
      }
      input("current-password").value = "";
      input("new-password").value = "";
      await loadSessions();
      say(t("account.passwordChanged"));
    });
  });
  $<HTMLButtonElement>("set-password").addEventListener("click", (event) =>
    act(event.currentTarget as HTMLButtonElement, async () => {
      await client.forgotPassword({ email: user?.email ?? "" });
      say(t("account.setPasswordSent", { email: user?.email ?? "" }));
    }),
  );
  $<HTMLButtonElement>("end-others").addEventListener("click", (event) =>
    act(event.currentTarget as HTMLButtonElement, async () => {
      await client.revokeOtherSessions();
      await loadSessions();
      say(t("account.othersEnded"));
    }),
  );
  $<HTMLButtonElement>("totp-enrol").addEventListener("click", (event) =>
    act(event.currentTarget as HTMLButtonElement, async () => {
      const pending = await client.startTotpEnrolment();
      const qr = await client.pendingTotpQrCode();
      $<HTMLImageElement>("totp-qr").src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(qr.svg)}`;
      $("totp-secret").textContent = (pending.secret.match(/.{1,4}/g) ?? []).join(" ");
      $("totp-pending").hidden = false;
      input("totp-code").focus();
    }),
  );
  $<HTMLFormElement>("totp-form").addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors("page-error");
    const code = input("totp-code").value.replace(/\s/g, "");
    if (!code) return fail("page-error", t("common.required"), "totp-code");
    void act(submitOf(event.currentTarget as HTMLFormElement), async () => {
      try {
        const { recoveryCodes } = await client.confirmTotpEnrolment({ code });
        input("totp-code").value = "";
        $("totp-pending").hidden = true;
        // One step: TOTP shown on with its codes; the user is read again after.
        if (user) user = { ...user, mfa: { ...user.mfa, totp: true } };
        drawUser();
        showRecoveryCodes(recoveryCodes);
        say(t("account.totpOnNow"));
        await reloadUser();
      } catch (error) {
        if (error instanceof AuthApiError && error.code === "invalid_mfa_code")
          return fail("page-error", t("mfa.wrongCode"), "totp-code");
        throw error;
      }
    });
  });
  $("totp-cancel").addEventListener("click", () => {
    $("totp-pending").hidden = true;
    $("totp-enrol").focus();
  });
  $<HTMLButtonElement>("totp-remove").addEventListener("click", (event) =>
    act(event.currentTarget as HTMLButtonElement, async () => {
      await client.removeTotp();
      $("recovery").hidden = true;
      await reloadUser();
      say(t("account.totpRemoved"));
      $("totp-enrol").focus();
    }),
  );
  $<HTMLButtonElement>("recovery-new").addEventListener("click", (event) =>
    act(event.currentTarget as HTMLButtonElement, async () => {
      showRecoveryCodes((await client.regenerateRecoveryCodes()).recoveryCodes);
      say(t("account.recoveryNewDone"));
    }),
  );
  $("recovery-done").addEventListener("click", () => {
    $("recovery-list").replaceChildren();
    $("recovery").hidden = true;
  });
  $<HTMLFormElement>("passkey-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = input("passkey-name").value.trim();
    void act(submitOf(event.currentTarget as HTMLFormElement), async () => {
      const options = await client.passkeyRegistrationOptions();
      const response = await createPasskey(options as unknown as Record<string, unknown>);
      await client.registerPasskey(name ? { response, name } : { response });
      input("passkey-name").value = "";
      await Promise.all([loadPasskeys(), reloadUser()]);
      say(t("account.passkeyAdded"));
    });
  });
  $<HTMLButtonElement>("activity-more").addEventListener("click", (event) =>
    act(event.currentTarget as HTMLButtonElement, () => loadActivity(true)),
  );
}

export async function accountPage(): Promise<void> {
  wire();
  try {
    if (!(await client.accessToken())) return signedOut();
    await reloadUser();
  } catch (error) {
    if (error instanceof AuthApiError && /invalid_(token|refresh_token)/.test(error.code)) return signedOut();
    $("loading").hidden = true;
    return failed(error);
  }
  $("loading").hidden = true;
  $("account").hidden = false;
  await Promise.all([loadSessions(), loadPasskeys(), loadIdentities(), loadOrganizations(), loadActivity()]).catch(
    failed,
  );
}
