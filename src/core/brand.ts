// The brand's colours, made readable: BRAND_COLOR can be anything, so the
// hosted pages and the mails never use it as it is. For each theme the
// accent is the brand colour moved towards black (light theme) or white
// (dark theme) until it stands out from the page (3:1, WCAG 1.4.11) and text
// on it (black or white, whichever reads better) reaches 4.5:1 (WCAG 1.4.3);
// the link colour is moved until it reaches 4.5:1 on the page itself.
// Contrast is WCAG 2.2's relative luminance ratio.

/** The pages' backgrounds, which the stylesheet uses too. */
export const THEME_BACKGROUND = { light: "#ffffff", dark: "#16181d" } as const;

export type ThemeColours = {
  /** Buttons' background, focus rings, the header's rule. */
  accent: string;
  /** Text on the accent. */
  onAccent: string;
  /** Links and accent text on the page's background. */
  link: string;
};

type Rgb = [number, number, number];

function parse(hex: string): Rgb {
  const value = Number.parseInt(hex.slice(1), 16);
  return [(value >> 16) & 255, (value >> 8) & 255, value & 255];
}

function format([r, g, b]: Rgb): string {
  return `#${[r, g, b].map((c) => Math.round(c).toString(16).padStart(2, "0")).join("")}`;
}

function luminance(hex: string): number {
  const [r, g, b] = parse(hex).map((c) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  }) as Rgb;
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG's contrast ratio of two colours, 1 to 21. */
export function contrast(a: string, b: string): number {
  const [high, low] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (high + 0.05) / (low + 0.05);
}

function mix(hex: string, toward: string, amount: number): string {
  const from = parse(hex);
  const to = parse(toward);
  return format(from.map((c, i) => c + (to[i]! - c) * amount) as Rgb);
}

/** Black or white, whichever reads better on `background`. */
export function readableOn(background: string): string {
  return contrast(background, "#000000") >= contrast(background, "#ffffff") ? "#000000" : "#ffffff";
}

/** The first step from `hex` towards `toward` (in twentieths) that passes `ok`. */
function firstPassing(hex: string, toward: string, ok: (colour: string) => boolean): string {
  for (let step = 0; step <= 20; step++) {
    const colour = mix(hex, toward, step / 20);
    if (ok(colour)) return colour;
  }
  return toward;
}

/** The accent, the text on it and the link colour of one theme, all readable, from any brand colour. */
export function themeColours(brand: string, theme: keyof typeof THEME_BACKGROUND): ThemeColours {
  const page = THEME_BACKGROUND[theme];
  const toward = theme === "light" ? "#000000" : "#ffffff";
  const accent = firstPassing(
    brand,
    toward,
    (colour) => contrast(colour, page) >= 3 && contrast(colour, readableOn(colour)) >= 4.5,
  );
  const link = firstPassing(brand, toward, (colour) => contrast(colour, page) >= 4.5);
  return { accent, onAccent: readableOn(accent), link };
}
