// /account's organizations: the user's organizations with their roles there,
// the one the session acts in (the access token's `org` claim) and the switch
// (POST /auth/org), creating one, leaving one; and, for the organization
// opened, its members, its pending invitations (send with a role, withdraw),
// role changes, removals and its deletion (recent: the page's
// re-authentication dialog). An action is shown only where the user's roles
// there grant its permission: the built-in roles' permissions are fixed, an
// organization's own roles' are known from the token while it is the active
// one. The API decides in any case, and its refusals are said in words.
import { AuthApiError, type ResponseBody, type User } from "../../../packages/client/src/index";
import { BUILT_IN_ORG_ROLES, builtInOrgRolePermissions, ORG_PERMISSIONS } from "../../core/permissions";
import { $, clearErrors, client, element, fail, input, rolesInWords, say, submitOf, t, when } from "./common";

type Membership = ResponseBody<"listOrganizations">["orgs"][number];
type Member = ResponseBody<"listOrganizationMembers">["items"][number];
type OrgClaim = { id: string; roles: string[]; permissions: string[] };

/** How the account page runs a user's action: its button busy, errors in words, re-authentication when asked. */
export type Act = (button: HTMLButtonElement | null, action: () => Promise<void>) => Promise<void>;

/** The built-in roles' organization permissions, as the service fixes them (the service's own permissions). */
const BUILT_IN: Record<string, readonly string[]> = Object.fromEntries(
  BUILT_IN_ORG_ROLES.map((role) => [role, builtInOrgRolePermissions(role, ORG_PERMISSIONS)]),
);
const builtIn = (role: string) => (Object.hasOwn(BUILT_IN, role) ? BUILT_IN[role]! : null);

let act: Act;
let me: () => User | null = () => null;
let active: OrgClaim | null = null;
/** The organization whose members are shown, its next page of members, and the roles seen among them. */
let open: Membership | null = null;
let membersCursor: string | null = null;
let seenRoles = new Set<string>();

/** The session's active organization, from the access token's `org` claim (unverified: only to draw the page). */
async function readActive(): Promise<void> {
  try {
    const payload = (await client.accessToken())?.split(".")[1] ?? "";
    const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as { org?: OrgClaim };
    active = claims.org ?? null;
  } catch {
    active = null;
  }
}

/** The organization permissions the user's roles there grant, as far as the page can know them. */
function held(membership: Membership): Set<string> {
  const granted = new Set(membership.roles.flatMap((role) => builtIn(role) ?? []));
  if (active?.id === membership.org.id) for (const permission of active.permissions) granted.add(permission);
  return granted;
}

const isOwner = (membership: Membership) => membership.roles.includes("owner");

/** The roles the user could grant there: those whose permissions they hold; only an owner grants owner. */
function grantable(membership: Membership): string[] {
  const mine = held(membership);
  const roles = ["member", "admin", "owner"].filter(
    (role) => BUILT_IN[role]!.every((permission) => mine.has(permission)) && (role !== "owner" || isOwner(membership)),
  );
  // An organization's own roles (seen among its members): an owner holds every permission they could grant.
  if (isOwner(membership)) roles.push(...[...seenRoles].filter((role) => !builtIn(role)).sort());
  return roles;
}

/** Whether the user may act on another member: they hold every permission that member holds there. */
function canActOn(membership: Membership, member: Member): boolean {
  if (member.user.id === me()?.id) return false;
  if (isOwner(membership)) return true;
  const mine = held(membership);
  return member.roles.every((role) => builtIn(role)?.every((permission) => mine.has(permission)) ?? false);
}

function button(text: string, label: string, focusKey: string, className = ""): HTMLButtonElement {
  const node = element("button", text, className);
  node.type = "button";
  // The visible text first, then what it acts on: each row's button has a name of its own.
  node.setAttribute("aria-label", `${text}: ${label}`);
  node.dataset.focus = focusKey;
  return node;
}

/** Focus back on a button drawn again (its list was redrawn under it). */
function refocus(focusKey: string): void {
  document.querySelector<HTMLElement>(`[data-focus="${CSS.escape(focusKey)}"]`)?.focus();
}

/** "Are you sure?" in a modal dialog (Cancel focused first; Escape cancels). */
function ask(question: string): Promise<boolean> {
  const dialog = $<HTMLDialogElement>("ask");
  $("ask-text").textContent = question;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) =>
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true }),
  );
}

/** An action on an organization: one gone meanwhile (or the user no longer in it) is said so, and the list redrawn. */
function inOrg(action: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await action();
    } catch (error) {
      if (!(error instanceof AuthApiError && error.code === "not_found")) throw error;
      closePanel();
      await loadOrganizations();
      fail("page-error", t("org.gone"));
    }
  };
}

export async function loadOrganizations(): Promise<void> {
  const [{ orgs }] = await Promise.all([client.listOrganizations(), readActive()]);
  const current = orgs.find((membership) => membership.org.id === active?.id);
  $("org-acting").textContent = current ? t("org.actingIn", { org: current.org.name }) : t("org.actingNone");
  if (open) open = orgs.find((membership) => membership.org.id === open?.org.id) ?? null;
  if (!orgs.length) {
    $("orgs").replaceChildren(element("li", t("org.none")));
    closePanel();
    return;
  }
  $("orgs").replaceChildren(...orgs.map((membership) => organizationItem(membership, membership === current)));
  // The open organization's panel sits under its row.
  if (open) $("orgs").querySelector(`[data-org="${open.org.id}"]`)?.append($("org-panel"));
  else closePanel();
}

function organizationItem(membership: Membership, isActive: boolean): HTMLLIElement {
  const { org } = membership;
  const item = element("li");
  item.dataset.org = org.id;
  const text = element("div");
  text.append(element("strong", org.name));
  if (isActive) text.append(element("span", t("org.active"), "badge"));
  text.append(element("span", t("org.yourRoles", { roles: rolesInWords(membership.roles) }), "meta"));
  const buttons = element("div", "", "row");
  const switcher = button(isActive ? t("org.stopActing") : t("org.actIn"), org.name, `switch:${org.id}`);
  switcher.addEventListener("click", () =>
    act(
      switcher,
      inOrg(async () => {
        await client.switchOrganization(isActive ? null : org.id);
        await loadOrganizations();
        say(isActive ? t("org.unswitched") : t("org.switched", { org: org.name }));
        refocus(`switch:${org.id}`);
      }),
    ),
  );
  buttons.append(switcher);
  const mine = held(membership);
  if (["members:read", "members:invite", "org:delete"].some((permission) => mine.has(permission))) {
    const manage = button(t("org.manage"), org.name, `manage:${org.id}`);
    manage.setAttribute("aria-controls", "org-panel");
    manage.setAttribute("aria-expanded", String(open?.org.id === org.id));
    manage.addEventListener("click", () => {
      if (open?.org.id === org.id) return closePanel();
      void act(
        manage,
        inOrg(() => openPanel(membership)),
      );
    });
    buttons.append(manage);
  }
  const leave = button(t("org.leave"), org.name, `leave:${org.id}`, "danger");
  leave.addEventListener("click", async () => {
    if (!(await ask(t("org.leaveConfirm", { org: org.name })))) return;
    await act(
      leave,
      inOrg(async () => {
        await client.removeOrganizationMember(org.id, me()?.id ?? "");
        // Left the active one: the session acts in none now, and its next token says so.
        if (isActive) await client.refresh();
        if (open?.org.id === org.id) closePanel();
        await loadOrganizations();
        say(t("org.left", { org: org.name }));
        $("org-name").focus();
      }),
    );
  });
  buttons.append(leave);
  item.append(text, buttons);
  return item;
}

function closePanel(): void {
  const panel = $("org-panel");
  const wasFor = open?.org.id;
  open = null;
  panel.hidden = true;
  $("org-form").after(panel);
  for (const toggle of document.querySelectorAll("[data-focus^='manage:']"))
    toggle.setAttribute("aria-expanded", "false");
  if (wasFor) refocus(`manage:${wasFor}`);
}

async function openPanel(membership: Membership): Promise<void> {
  if (open) closePanel();
  open = membership;
  membersCursor = null;
  seenRoles = new Set();
  const mine = held(membership);
  $("org-panel-heading").textContent = t("org.membersOf", { org: membership.org.name });
  $("members").hidden = !mine.has("members:read");
  $("invite-part").hidden = !mine.has("members:invite");
  $("org-delete").hidden = !mine.has("org:delete");
  await Promise.all([loadMembers(), loadInvitations()]);
  $("orgs").querySelector(`[data-org="${membership.org.id}"]`)?.append($("org-panel"));
  $("org-panel").hidden = false;
  document.querySelector(`[data-focus="manage:${membership.org.id}"]`)?.setAttribute("aria-expanded", "true");
  $("org-panel-heading").focus();
}

async function loadMembers(more = false): Promise<void> {
  const membership = open;
  if (!membership || !held(membership).has("members:read")) {
    $("members-more").hidden = true;
    drawInviteRoles();
    return;
  }
  const page = await client.listOrganizationMembers(
    membership.org.id,
    more && membersCursor ? { cursor: membersCursor, limit: 50 } : { limit: 50 },
  );
  membersCursor = page.nextCursor;
  for (const member of page.items) for (const role of member.roles) seenRoles.add(role);
  const items = page.items.map((member) => memberItem(membership, member));
  if (more) $("members").append(...items);
  else $("members").replaceChildren(...items);
  $("members-more").hidden = !membersCursor;
  drawInviteRoles();
}

function memberItem(membership: Membership, member: Member): HTMLLIElement {
  const { user } = member;
  const who = user.name || user.email;
  const self = user.id === me()?.id;
  const item = element("li");
  const text = element("div");
  text.append(element("strong", self ? `${who} (${t("org.you")})` : who));
  const details = [user.name ? user.email : "", rolesInWords(member.roles)].filter(Boolean).join(" · ");
  text.append(element("span", details, "meta"));
  item.append(text);
  if (!canActOn(membership, member)) return item;
  const mine = held(membership);
  const buttons = element("div", "", "row");
  if (mine.has("members:roles")) {
    const select = roleSelect(grantable(membership), member.roles);
    select.setAttribute("aria-label", t("org.roleOf", { name: who }));
    const change = button(t("org.changeRole"), who, `role:${user.id}`);
    change.addEventListener("click", () =>
      act(
        change,
        inOrg(async () => {
          const answer = await client.setOrganizationMemberRoles(membership.org.id, user.id, { roles: [select.value] });
          await loadMembers();
          say(t("org.roleChanged", { name: who, roles: rolesInWords(answer.member.roles) }));
          refocus(`role:${user.id}`);
        }),
      ),
    );
    buttons.append(select, change);
  }
  if (mine.has("members:remove")) {
    const remove = button(t("org.remove"), who, `remove:${user.id}`, "danger");
    remove.addEventListener("click", async () => {
      if (!(await ask(t("org.removeConfirm", { name: who, org: membership.org.name })))) return;
      await act(
        remove,
        inOrg(async () => {
          await client.removeOrganizationMember(membership.org.id, user.id);
          await loadMembers();
          say(t("org.removed", { name: who, org: membership.org.name }));
          $("org-panel-heading").focus();
        }),
      );
    });
    buttons.append(remove);
  }
  item.append(buttons);
  return item;
}

/** A choice of one role among those the user could grant, the member's own first if it is one of them. */
function roleSelect(roles: string[], current: readonly string[]): HTMLSelectElement {
  const select = element("select");
  select.append(...roles.map((role) => new Option(rolesInWords([role]), role, false, role === current[0])));
  return select;
}

function drawInviteRoles(): void {
  if (!open) return;
  const roles = grantable(open);
  const select = $<HTMLSelectElement>("invite-role");
  select.replaceChildren(...roles.map((role) => new Option(rolesInWords([role]), role, false, role === "member")));
}

async function loadInvitations(): Promise<void> {
  const membership = open;
  if (!membership || !held(membership).has("members:invite")) return;
  const { invitations } = await client.listInvitations(membership.org.id);
  if (!invitations.length) {
    $("invitations").replaceChildren(element("li", t("org.noInvitations")));
    return;
  }
  $("invitations").replaceChildren(
    ...invitations.map((invitation) => {
      const item = element("li");
      const text = element("div");
      text.append(
        element("strong", invitation.email),
        element(
          "span",
          `${rolesInWords(invitation.roles)} · ${t("org.expires", { when: when(invitation.expiresAt) })}`,
          "meta",
        ),
      );
      const revoke = button(t("org.revoke"), invitation.email, `revoke:${invitation.id}`, "danger");
      revoke.addEventListener("click", () =>
        act(
          revoke,
          inOrg(async () => {
            await client.revokeInvitation(membership.org.id, invitation.id);
            await loadInvitations();
            say(t("org.revoked", { email: invitation.email }));
            input("invite-email").focus();
          }),
        ),
      );
      item.append(text, revoke);
      return item;
    }),
  );
}

/** The section's listeners; `run` is the account page's way of running an action, `user` the signed-in user. */
export function wireOrganizations(run: Act, user: () => User | null): void {
  act = run;
  me = user;
  const dialog = $<HTMLDialogElement>("ask");
  $("ask-yes").addEventListener("click", () => dialog.close("yes"));
  $("ask-no").addEventListener("click", () => dialog.close("no"));
  $<HTMLFormElement>("org-form").addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors("page-error");
    const name = input("org-name").value.trim();
    if (!name) return fail("page-error", t("common.required"), "org-name");
    void act(submitOf(event.currentTarget as HTMLFormElement), async () => {
      const { org } = await client.createOrganization({ name });
      input("org-name").value = "";
      await loadOrganizations();
      say(t("org.created", { org: org.name }));
    });
  });
  $<HTMLFormElement>("invite-form").addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors("page-error");
    const membership = open;
    const email = input("invite-email").value.trim();
    if (!membership) return;
    if (!email) return fail("page-error", t("common.required"), "invite-email");
    const role = $<HTMLSelectElement>("invite-role").value;
    void act(
      submitOf(event.currentTarget as HTMLFormElement),
      inOrg(async () => {
        await client.createInvitation(membership.org.id, { email, roles: [role] });
        input("invite-email").value = "";
        await loadInvitations();
        say(t("org.invited", { email }));
      }),
    );
  });
  $<HTMLButtonElement>("members-more").addEventListener("click", (event) =>
    act(
      event.currentTarget as HTMLButtonElement,
      inOrg(() => loadMembers(true)),
    ),
  );
  $<HTMLButtonElement>("org-delete").addEventListener("click", async (event) => {
    const target = open;
    const deleteButton = event.currentTarget as HTMLButtonElement;
    if (!target || !(await ask(t("org.deleteConfirm", { org: target.org.name })))) return;
    await act(
      deleteButton,
      inOrg(async () => {
        await client.deleteOrganization(target.org.id);
        if (active?.id === target.org.id) await client.refresh();
        closePanel();
        await loadOrganizations();
        say(t("org.deleted", { org: target.org.name }));
        $("org-name").focus();
      }),
    );
  });
}
