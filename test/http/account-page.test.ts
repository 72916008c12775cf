// GET /account: the hosted page for trying sign-in, TOTP and passkeys in a
// browser. Served as HTML under a CSP that allows exactly its one inline
// script and style (by hash), requests to this origin only, no framing; no
// external resources; and it calls the endpoints of the JSON contract.
import { describe, expect, it } from "vitest";
import { call } from "../support/harness";

async function sha256Base64(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return btoa(String.fromCharCode(...digest));
}

/** The CSP's directives by name. */
function directives(policy: string): Map<string, string> {
  return new Map(
    policy
      .split(";")
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => {
        const [name, ...values] = part.split(/\s+/);
        return [name!, values.join(" ")] as const;
      }),
  );
}

describe("GET /account", () => {
  it(
    "answers the page as HTML, never cached, under a CSP that allows only " + "its own script and style by hash",
    async () => {
      const res = await call("GET", "/account");
      expect(res.status).toBe(200);
      expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
      expect(res.headers.get("Cache-Control")).toBe("no-store");
      expect(res.headers.get("Referrer-Policy")).toBe("no-referrer");
      expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
      const html = await res.text();

      const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
      const styles = [...html.matchAll(/<style\b([^>]*)>([\s\S]*?)<\/style>/g)];
      expect(scripts).toHaveLength(1);
      expect(styles).toHaveLength(1);
      // Inline, with no attributes: no src, no type=module loading anything.
      expect(scripts[0]![1]).toBe("");
      expect(styles[0]![1]).toBe("");

      const csp = res.headers.get("Content-Security-Policy")!;
      expect(csp.startsWith("default-src 'none';")).toBe(true);
      const policy = directives(csp);
      expect(policy.get("default-src")).toBe("'none'");
      expect(policy.get("script-src")).toBe(`'sha256-${await sha256Base64(scripts[0]![2]!)}'`);
      expect(policy.get("style-src")).toBe(`'sha256-${await sha256Base64(styles[0]![2]!)}'`);
      expect(policy.get("connect-src")).toBe("'self'");
      // Only data: images: the TOTP QR code the script draws from GET /me/mfa/totp/qr's SVG.
      expect(policy.get("img-src")).toBe("data:");
      expect(["'none'", "'self'"]).toContain(policy.get("form-action"));
      expect(policy.get("base-uri")).toBe("'none'");
      expect(policy.get("frame-ancestors")).toBe("'none'");
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|unsafe-hashes|\*|https?:/);
    },
  );

  it(
    "loads nothing from elsewhere: no src or href, no inline handlers or " +
      "style attributes (the CSP would refuse them)",
    async () => {
      const html = await (await call("GET", "/account")).text();
      expect(html).not.toMatch(/\s(src|href|srcset|action|formaction)\s*=/i);
      expect(html).not.toMatch(/<(link|iframe|object|embed|base)\b/i);
      // One image, the QR code, whose source the script sets to a data: URL (img-src data: only).
      expect([...html.matchAll(/<img\b[^>]*>/gi)].map((m) => m[0])).toEqual([
        '<img id="totp-qr" alt="QR code of the otpauth URI" width="200" height="200">',
      ]);
      expect(html).not.toMatch(/\son[a-z]+\s*=/i);
      expect(html).not.toMatch(/\sstyle\s*=/i);
      expect(html).not.toMatch(/https?:\/\/(?!localhost)/);
    },
  );

  it("keeps the tokens in memory only: no storage, no cookies", async () => {
    const html = await (await call("GET", "/account")).text();
    const script = html.match(/<script>([\s\S]*?)<\/script>/)![1]!;
    expect(script).not.toMatch(/localStorage|sessionStorage|indexedDB|document\.cookie/);
    // Its client's every request: no cookies, nothing cached.
    expect(script).toMatch(/credentials:\s*"omit",\s*cache:\s*"no-store"/);
  });

  it("names the endpoints it calls (through the client package, bundled in)", async () => {
    const script = (await (await call("GET", "/account")).text()).match(/<script>([\s\S]*?)<\/script>/)![1]!;
    // The client's methods name their paths (its tests check the methods); the page calls those methods.
    for (const [method, path] of [
      ["POST", "/auth/login"],
      ["POST", "/auth/register"],
      ["POST", "/auth/mfa"],
      ["POST", "/auth/refresh"],
      ["POST", "/auth/logout"],
      ["POST", "/auth/reauthenticate"],
      ["POST", "/auth/reauthenticate/options"],
      ["POST", "/auth/passkey/options"],
      ["POST", "/auth/passkey"],
      ["GET", "/me"],
      ["POST", "/me/mfa/totp"],
      ["POST", "/me/mfa/totp/confirm"],
      ["DELETE", "/me/mfa/totp"],
      ["POST", "/me/mfa/recovery-codes"],
      ["POST", "/me/passkeys/options"],
      ["POST", "/me/passkeys"],
      ["GET", "/me/passkeys"],
      ["DELETE", "/me/passkeys/"],
    ] as const) {
      const literal = path.endsWith("/") ? `\`${path}\${` : `"${path}"`;
      // POST: `call("POST", ...)`, the client's `post(...)`, or its own refresh and logout (`${baseUrl}/auth/...`).
      const posts = [`"POST",${literal}`, `post(${literal}`, `}${path}\``];
      const called = method === "POST" ? posts : [`"${method}",${literal}`];
      const compact = script.replace(/\s+/g, "");
      expect(
        called.some((text) => compact.includes(text)),
        `${method} ${path}`,
      ).toBe(true);
    }
    // The problem codes it acts on.
    for (const code of ["mfa_required", "reauthentication_required", "invalid_token"])
      expect(script, code).toContain(`"${code}"`);
    // WebAuthn JSON: the browser's own parsers when there, by hand otherwise.
    for (const name of [
      "parseCreationOptionsFromJSON",
      "parseRequestOptionsFromJSON",
      "toJSON",
      "getTransports",
      "navigator.credentials.create",
      "navigator.credentials.get",
    ]) {
      expect(script, name).toContain(name);
    }
  });

  it("is in /openapi.json as a public HTML operation", async () => {
    const doc = (await (await call("GET", "/openapi.json")).json()) as {
      paths: Record<
        string,
        Record<
          string,
          {
            operationId?: string;
            security?: unknown[];
            tags?: string[];
            responses: Record<string, { content?: Record<string, unknown> }>;
          }
        >
      >;
    };
    const op = doc.paths["/account"]!.get!;
    expect(op.operationId).toBe("accountPage");
    expect(op.security).toEqual([]);
    expect(op.tags).toEqual(["pages"]);
    expect(op.responses["200"]!.content).toHaveProperty(["text/html"]);
  });

  it("answers 405 with Allow for another method", async () => {
    const res = await call("POST", "/account", { body: {} });
    expect(res.status).toBe(405);
    expect(res.headers.get("Allow")).toContain("GET");
  });
});
