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
    // Every other page: opened from the navigation by keyboard, drawn light and dark, checked
    // by axe-core in both, and downloaded with the keyboard alone.
    const pages = {};
    await page.selectOption("#f-state", "");  // the keyboard test's filter, cleared
    for (const name of ["recommendations", "learning", "reports", "calibration"]) {
      await page.locator(`nav a[data-page="${name}"]`).focus();
      await page.keyboard.press("Enter");
      await page.waitForFunction((wanted) => location.hash === "#" + wanted
        && !document.getElementById("status").textContent.startsWith("Loading"), name);
      const issues = [...(await violations(page))];
      const lightShot = join(job.screenshots, `${slug}-${name}-light.png`);
      await page.screenshot({ path: lightShot, fullPage: true });
      await page.evaluate(() => document.body.classList.add("dark"));
      issues.push(...(await violations(page)).map((v) => ({ ...v, theme: "dark" })));
      const darkShot = join(job.screenshots, `${slug}-${name}-dark.png`);
      await page.screenshot({ path: darkShot, fullPage: true });
      await page.evaluate(() => document.body.classList.remove("dark"));
      shots.push(lightShot, darkShot);
      const tables = await page.$$eval("#content table", (ts) => ts.map((t) => t.tBodies[0].querySelectorAll("tr:not(.empty)").length));
      const headings = await page.$$eval("#content h2", (hs) => hs.map((h) => h.textContent));
      const charts = await page.$$eval("#content svg[role=img]", (cs) => cs.length);
      const button = name === "reports" ? "#pdf" : "#xlsx";
      await page.locator(button).focus();
      const [download] = await Promise.all([page.waitForEvent("download"), page.keyboard.press("Enter")]);
      pages[name] = { violations: issues, tables, headings, charts, download: download.suggestedFilename(),
                      status: await page.locator("#status").innerText() };
    }
    // The Audit Team writes in the learning log and the report's note, from the page.
    let wrote = null;
    if (upn === job.writer) {
      await page.locator('nav a[data-page="learning"]').click();
      await page.locator("#learning-add").click();
      await page.selectOption("#learning-service", job.writerService);
      await page.getByLabel("Theme").fill("Planning");
      await page.getByLabel("Learning", { exact: true }).fill("Plans need timescales");
      await page.getByLabel("RAG").selectOption("amber");
      await page.locator("#learning-save").click();
      await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("Added"));
      const learning = await page.$$eval("#content tbody tr th", (ths) => ths.map((t) => t.textContent));
      await page.locator('nav a[data-page="reports"]').click();
      await page.waitForFunction(() => !document.getElementById("topten-form").hidden
        || document.getElementById("status").textContent.startsWith("Report"));
      await page.selectOption("#f-service", job.writerService);
      await page.getByRole("button", { name: "Show" }).click();
      await page.locator("#topten-form:not([hidden])").waitFor();
      await page.locator("#topten-input").fill("1. Plans need timescales.");
      await page.getByRole("button", { name: "Save the note" }).click();
      await page.waitForFunction(() => document.getElementById("topten-text").textContent.startsWith("1."));
      const shot = join(job.screenshots, `${slug}-report-with-note.png`);
      await page.screenshot({ path: shot, fullPage: true });
      shots.push(shot);
      // Review mode: the monthly meeting's record, from the recommendation tracker.
      await page.locator('nav a[data-page="recommendations"]').click();
      await page.locator("#review-start").click();
      await page.selectOption("#review-service", job.writerService);
      await page.getByLabel("Meeting of").fill(job.meetingOn);
      await page.getByLabel("What was decided").fill("Keep going.");
      await page.locator("#content select[data-id]").first().selectOption("partly");
      await page.locator("#content input[data-id]").first().fill("Seen twice since");
      const reviewShot = join(job.screenshots, `${slug}-review-mode.png`);
      await page.screenshot({ path: reviewShot, fullPage: true });
      shots.push(reviewShot);
      await page.getByRole("button", { name: "Record the review" }).click();
      await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("Recorded"));
      const reviews = await page.$$eval("#content table:nth-of-type(2) tbody tr:not(.empty)", (trs) => trs.length);
      wrote = { learning, note: await page.locator("#topten-text").innerText(), reviews,
                reviewStatus: await page.locator("#status").innerText() };
    }
    results.push({ upn, reader, rows, violations: found, keyboard, history, pages, wrote, screenshots: shots });
    await context.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify({ results }));
