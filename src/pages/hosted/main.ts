// The hosted pages' one script (bundled by `npm run build:pages` into
// ../generated/hosted.ts, served inline under its CSP hash): each page names
// itself in <body data-page>, and this runs that page's part.
import { acceptInvitationPage } from "./accept-invitation";
import { accountPage } from "./account";
import { forgotPasswordPage, linkPage, magicLinkPage, signUpPage } from "./simple-pages";
import { signInPage } from "./sign-in";

const PAGES: Record<string, () => unknown> = {
  "sign-in": signInPage,
  "sign-up": signUpPage,
  "forgot-password": forgotPasswordPage,
  "reset-password": linkPage,
  "verify-email": linkPage,
  "confirm-email": linkPage,
  "magic-link": magicLinkPage,
  "accept-invitation": acceptInvitationPage,
  account: accountPage,
};

void Promise.resolve(PAGES[document.body.dataset.page ?? ""]?.()).finally(() => {
  document.documentElement.dataset.ready = "true";
});
