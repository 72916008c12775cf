// A real Chromium through playwright-core: CHROMIUM_PATH, else /usr/bin/chromium.
// The background-networking flags matter: without them Chromium's own
// connections (component updates, sync, QUIC probes) go to a network that is
// closed, and the machine refuses them.
import { chromium, type Browser } from "playwright-core";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
  });
}
