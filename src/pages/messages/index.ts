// The hosted pages' languages. A page is answered in the first language of
// the request's Accept-Language that is here (by its quality, then its
// order; `fr-CA` matches `fr`), else in English. Adding a language is one
// file beside en.ts, typed `Messages` (so it has every key), and its line
// in LANGUAGES below.
import { en, type Messages } from "./en";
import { fr } from "./fr";

export const LANGUAGES: Record<string, Messages> = { en, fr };

export type { MessageKey, Messages } from "./en";

/** The language tag to answer in, from an Accept-Language header. */
export function pickLanguage(acceptLanguage: string | undefined): string {
  if (!acceptLanguage) return "en";
  const ranked = acceptLanguage
    .split(",")
    .slice(0, 20)
    .map((part, index) => {
      const [tag = "", ...params] = part.trim().split(";");
      const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
      const quality = q ? Number(q.slice(2)) : 1;
      return { tag: tag.trim().toLowerCase(), quality: Number.isFinite(quality) ? quality : 0, index };
    })
    .filter((entry) => entry.quality > 0 && entry.tag !== "")
    .sort((a, b) => b.quality - a.quality || a.index - b.index);
  for (const { tag } of ranked) {
    if (tag === "*") return "en";
    const base = tag.split("-")[0]!;
    if (Object.hasOwn(LANGUAGES, base)) return base;
  }
  return "en";
}

/** One message, its `{name}` slots filled. */
export function format(messages: Messages, key: keyof Messages, values: Record<string, string> = {}): string {
  return messages[key].replace(/\{(\w+)\}/g, (slot, name: string) => values[name] ?? slot);
}
