// `npm run keys:generate`: prints a new Ed25519 signing key (a private JWK).
// For the first deploy; to rotate, use `npm run keys:rotate` (docs/operations.md, "Key rotation").
// `--secret` prints a new REFRESH_TOKEN_SECRET instead.
import { generateSecret, generateSigningKey } from "./lib/signing-keys.ts";

if (process.argv.includes("--secret")) {
  console.log(generateSecret());
} else {
  console.log(JSON.stringify(await generateSigningKey()));
}
