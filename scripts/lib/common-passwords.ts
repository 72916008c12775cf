// The common-password source: zxcvbn-ts's list, lower-cased, filtered by length.
import { dictionary } from "@zxcvbn-ts/language-common";

export function commonPasswordsAtLeast(minCodePoints: number): string[] {
  const unique = new Set<string>();
  for (const entry of dictionary["passwords-common"] as string[]) {
    const normalized = entry.normalize("NFC").toLowerCase();
    if ([...normalized].length >= minCodePoints) unique.add(normalized);
  }
  return [...unique].sort();
}
