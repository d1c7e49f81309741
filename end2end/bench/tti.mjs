// Time to interactive of the datasources list in headless Chromium: navigation start to the
// moment the shell island has installed the page controller (`data-hydrated-at`), median
// of LOADS loads with a cold cache (a new context each) and with a warm one (reloads).
import { chromium } from "@playwright/test";

const base = process.env.BASE_URL;
const token = process.env.TOKEN;
const loads = Number(process.env.LOADS ?? 10);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
});
const cookie = { name: "tributary_session", value: token, url: base };

async function measure(page) {
  await page.goto(`${base}/datasources`);
  await page.waitForSelector("body[data-hydrated-at]", { timeout: 30_000 });
  return page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    return {
      tti: Number(document.body.dataset.hydratedAt) - performance.timeOrigin,
      html: nav.responseEnd,
      rows: document.querySelectorAll("[data-testid=datasource-row]").length,
    };
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const cold = [];
for (let i = 0; i < loads; i++) {
  const ctx = await browser.newContext();
  await ctx.addCookies([cookie]);
  const page = await ctx.newPage();
  cold.push(await measure(page));
  await ctx.close();
}
const ctx = await browser.newContext();
await ctx.addCookies([cookie]);
const page = await ctx.newPage();
await measure(page);
const warm = [];
for (let i = 0; i < loads; i++) warm.push(await measure(page));
await browser.close();
if (cold.some((m) => m.rows === 0)) throw new Error("the page rendered no rows");
for (const [name, ms] of [["cold cache", cold], ["warm cache", warm]]) {
  console.log(
    `  ${name}: time to interactive median ${median(ms.map((m) => m.tti)).toFixed(0)} ms ` +
      `(HTML received at ${median(ms.map((m) => m.html)).toFixed(0)} ms)   (target: < 1000 ms)`,
  );
}
