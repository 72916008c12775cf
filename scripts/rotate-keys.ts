// `npm run keys:rotate -- <JWKS URL or file>`: prints the next value of
// JWT_SIGNING_KEYS, computed from the live JWKS (a Worker secret cannot be
// read back): a new private key that signs from the deploy on, then the
// public half of the key that signs today, so tokens it signed keep
// verifying; keys retired earlier are dropped. Only the value goes to stdout,
// so it can be piped straight into the secret:
//   npm run -s keys:rotate -- https://auth.example.com/.well-known/jwks.json | npx wrangler secret put JWT_SIGNING_KEYS
import { readFileSync } from "node:fs";
import { generateSigningKey, nextSigningKeys } from "./lib/key-rotation.ts";

const source = process.argv[2];
if (!source || process.argv.length > 3) {
  console.error("Usage: npm run -s keys:rotate -- <JWKS URL | file | ->   (the service's /.well-known/jwks.json)");
  process.exit(2);
}

try {
  const text = /^https?:\/\//.test(source)
    ? await (async () => {
        const res = await fetch(source, { headers: { Accept: "application/json" } });
        if (!res.ok) throw new Error(`GET ${source} answered ${res.status}`);
        return res.text();
      })()
    : readFileSync(source === "-" ? 0 : source, "utf8");
  const next = await generateSigningKey();
  const value = nextSigningKeys(JSON.parse(text), next);
  console.error(
    `keys:rotate: new signing key ${next.kid}; keeps ${value[1].kid} (public) so its tokens verify until they expire`,
  );
  console.log(JSON.stringify(value));
} catch (error) {
  console.error(`keys:rotate: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
