// `npm run passwords:generate`: writes src/features/accounts/passwords/common-passwords.json
// from zxcvbn-ts's maintained common-password list, keeping only entries the
// policy could ever see (at least MIN_PASSWORD_LENGTH code points). The rest of
// the ~49,000 entries are shorter than the minimum and would only add bundle
// weight. test/unit/passwords.test.ts checks the file matches the package.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { commonPasswordsAtLeast } from "./lib/common-passwords.ts";

const MIN_PASSWORD_LENGTH = 12;
const out = fileURLToPath(new URL("../src/features/accounts/passwords/common-passwords.json", import.meta.url));
const list = commonPasswordsAtLeast(MIN_PASSWORD_LENGTH);
writeFileSync(out, `${JSON.stringify(list, null, 0).replace(/","/g, '",\n"')}\n`);
console.log(`wrote ${list.length} passwords to ${out}`);
