// Use the workspace tab as each demo person would, in headless Chromium.
//
//   node tab.mjs JOB.json
//
// JOB.json: {"chromium": "/usr/bin/chromium", "url": "http://127.0.0.1:PORT",
//            "people": ["upn", ...], "screenshots": "/dir"}
// For each person: a fresh browser context opens /tab, signs in with the demo picker, and
// waits for the tracker; axe-core checks the page (light and dark); the filters are used
// with the keyboard only; a row's history is opened. Prints one JSON object:
// {"results": [{"upn", "reader", "rows": [case refs], "violations": [...], "keyboard": rows
// shown after filtering by keyboard, "history": rows in the first history, "screenshots"}]}.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
const axe = join(here, "node_modules", "axe-core", "axe.min.js");

const browser = await chromium.launch({
  executablePath: job.chromium,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
});

async function violations(page) {
  await page.addScriptTag({ path: axe });
  const found = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
  });
  return found;
}

const results = [];
try {
  for (const upn of job.people) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-GB" });
    const page = await context.newPage();
    // The Teams library comes from Microsoft's CDN, out of reach here (and in the demo).
    await page.route("https://res.cdn.office.net/**", (route) => route.abort());
    await page.goto(`${job.url}/tab`);
    await page.locator("#signin:not([hidden])").waitFor();
    await page.selectOption("#people", upn);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator("#tracker:not([hidden])").waitFor();
    const reader = await page.locator("#status").innerText();
    const rows = await page.$$eval("#rows tr th button", (cells) => cells.map((c) => c.textContent));
    const slug = upn.split("@")[0].replace(/[^a-z0-9]+/gi, "-");
    const shots = [];
    const light = join(job.screenshots, `${slug}-light.png`);
    await page.screenshot({ path: light, fullPage: true });
    shots.push(light);
    const found = [...(await violations(page))];
    await page.emulateMedia({ colorScheme: "dark" });
    await page.evaluate(() => document.body.classList.add("dark"));
    const dark = join(job.screenshots, `${slug}-dark.png`);
    await page.screenshot({ path: dark, fullPage: true });
    shots.push(dark);
    found.push(...(await violations(page)).map((v) => ({ ...v, theme: "dark" })));
    await page.evaluate(() => document.body.classList.remove("dark"));
    await page.emulateMedia({ colorScheme: "light" });

    // Keyboard only: into the State filter, choose "Allocated", then Enter on Show.
    await page.locator("body").click({ position: { x: 2, y: 2 } });
    let guard = 0;
    while (guard++ < 40) {
      await page.keyboard.press("Tab");
      const name = await page.evaluate(() => document.activeElement?.getAttribute("name"));
      if (name === "state") break;
    }
    await page.keyboard.press("ArrowDown"); // "Any" -> "Allocated"
    guard = 0;
    while (guard++ < 10) {
      await page.keyboard.press("Tab");
      const text = await page.evaluate(() => document.activeElement?.textContent);
      if (text === "Show") break;
    }
    await page.keyboard.press("Enter");
    await page.waitForTimeout(500);
    const keyboard = await page.$$eval("#rows tr", (trs) => trs.length);

    let history = 0;
    const first = page.locator("#rows tr th button").first();
    if (await first.count()) {
      await first.focus();
      await page.keyboard.press("Enter");
      await page.locator("#history:not([hidden])").waitFor();
      history = await page.$$eval("#history-rows tr", (trs) => trs.length);
      const shot = join(job.screenshots, `${slug}-history.png`);
      await page.screenshot({ path: shot, fullPage: true });
      shots.push(shot);
    }
    results.push({ upn, reader, rows, violations: found, keyboard, history, screenshots: shots });
    await context.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify({ results }));
