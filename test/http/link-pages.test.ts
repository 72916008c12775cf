// The pages mailed links open when APP_URL is the service itself: served as
// HTML with a CSP that allows exactly their one script and style (by hash),
// no framing and no third-party requests, and never cached.
import { describe, expect, it } from "vitest";
import { call } from "../support/harness";

async function sha256Base64(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return btoa(String.fromCharCode(...digest));
}

describe("link pages", () => {
  for (const [path, endpoint] of [
    ["/verify-email", "/auth/email/verify"],
    ["/reset-password", "/auth/password/reset"],
    ["/confirm-email", "/auth/email/change"],
  ] as const) {
    it(`${path} posts the token to ${endpoint}, under a CSP that allows only its own script and style`, async () => {
      const res = await call("GET", `${path}?token=abc`);
      expect(res.status).toBe(200);
      expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
      expect(res.headers.get("Cache-Control")).toBe("no-store");
      expect(res.headers.get("Referrer-Policy")).toBe("no-referrer");
      const html = await res.text();
      expect(html).toContain(`data-endpoint="${endpoint}"`);
      // The token is read by the script, never echoed into the page.
      expect(html).not.toContain("abc");

      const script = html.match(/<script>([\s\S]*?)<\/script>/)![1]!;
      const style = html.match(/<style>([\s\S]*?)<\/style>/)![1]!;
      const csp = res.headers.get("Content-Security-Policy")!;
      expect(csp.startsWith("default-src 'none';")).toBe(true);
      expect(csp).toContain(`script-src 'sha256-${await sha256Base64(script)}'`);
      expect(csp).toContain(`style-src 'sha256-${await sha256Base64(style)}'`);
      expect(csp).toContain("connect-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    });
  }

  it("the reset page asks for the new password with the browser's new-password autocomplete", async () => {
    const html = await (await call("GET", "/reset-password")).text();
    expect(html).toContain('type="password" name="newPassword" autocomplete="new-password"');
  });

  it("API responses keep the strict default CSP", async () => {
    expect((await call("GET", "/health")).headers.get("Content-Security-Policy")).toBe(
      "default-src 'none'; frame-ancestors 'none'",
    );
  });
});
