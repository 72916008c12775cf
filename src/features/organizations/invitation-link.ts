// An invitation's link and lifetime, apart from the service so the mail
// templates can state the lifetime without loading the organizations feature.

/** How long an invitation's link works: 7 days. */
export const INVITATION_TTL_SECONDS = 7 * 24 * 3600;

/** `APP_URL/accept-invitation?token=<token>`: the hosted page that posts the token back. */
export function invitationLink(appUrl: string, token: string): string {
  const link = new URL(`${appUrl}/accept-invitation`);
  link.searchParams.set("token", token);
  return link.toString();
}
