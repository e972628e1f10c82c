// Render a batch of Adaptive Cards in headless Chromium with Microsoft's renderer.
//
//   node render.mjs JOB.json
//
// JOB.json: {"chromium": "/usr/bin/chromium",
//            "cards": [{"name": "...", "card": {...}, "screenshot": "/path/name.png",
//                       "forms": true}]}   (forms: false skips the opened-form pictures)
// Prints one JSON object: {"results": [{"name", "events", "width", "height",
// "screenshots"}]}. One browser renders the whole batch; each card gets a
// screenshot, plus one per Action.ShowCard with its form opened (each distinct
// button title once in the batch).
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
const hostConfig = JSON.parse(readFileSync(join(here, "host-config.json"), "utf8"));

// Quiet, offline Chromium: no sandbox (CI runs as root), no GPU, and none of the
// background connections a closed network refuses.
const browser = await chromium.launch({
  executablePath: job.chromium,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
  ],
});

const results = [];
const pictured = new Set();
try {
  const page = await browser.newPage({ viewport: { width: 600, height: 800 }, locale: "en-GB" });
  const pageErrors = [];
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") {
      pageErrors.push(`console.${message.type()}: ${message.text()}`);
    }
  });
  await page.goto(pathToFileURL(join(here, "page.html")).href);
  if (!(await page.evaluate(() => typeof window.renderCard === "function"))) {
    throw new Error(`the page did not load the renderer: ${pageErrors.join("; ")}`);
  }
  for (const item of job.cards) {
    pageErrors.length = 0;
    const rendered = await page.evaluate(
      ([card, config]) => window.renderCard(card, config),
      [item.card, hostConfig],
    );
    const element = page.locator("#card");
    const screenshots = [item.screenshot];
    await element.screenshot({ path: item.screenshot, animations: "disabled" });
    // Each "ask" button (Action.ShowCard) opens a form; photograph it open too.
    const showCards = page.locator("#card button[aria-expanded]");
    const count = item.forms === false ? 0 : await showCards.count();
    for (let i = 0; i < count; i++) {
      const button = showCards.nth(i);
      // The same form (e.g. "Raise a safeguarding concern") is on many cards: picture it once.
      const title = (await button.textContent()) || "";
      if (pictured.has(title)) {
        continue;
      }
      pictured.add(title);
      await button.click();
      const path = item.screenshot.replace(/\.png$/, `--form-${i + 1}.png`);
      await element.screenshot({ path, animations: "disabled" });
      screenshots.push(path);
      if ((await button.getAttribute("aria-expanded")) === "true") {
        await button.click();
      }
    }
    for (const message of pageErrors) {
      rendered.events.push({ phase: "Page", event: "Error", message, source: "" });
    }
    results.push({ name: item.name, screenshots, ...rendered });
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify({ results }));
