/** Debian's chromium, driven by playwright-core; never a downloaded browser. */
export const CHROMIUM = "/usr/bin/chromium";
export const CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
];
