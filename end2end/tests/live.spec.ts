import { test, expect, Page } from "@playwright/test";
import * as fs from "fs";
import * as path from "path";
import { login, hydrated, folderUnderRoot, fillBucket, createS3ThroughForm } from "./helpers";

// scripts/test starts moto_server (a real S3-compatible server) and the Tributary server with
// one spyder worker and small batches (TRIBUTARY_WORKERS=1, TRIBUTARY_SYNC_BATCH=50), so a
// sync of a few thousand objects takes long enough to pause half-way.
const OBJECTS = 3000;

/** Records every status the page's badge shows, from now on (a MutationObserver in the page). */
async function recordBadge(page: Page) {
  await page.evaluate(() => {
    const w = window as any;
    w.__statuses = [];
    const note = () => {
      const b = document.querySelector("h1 + [data-status]");
      const s = b?.getAttribute("data-status");
      if (s && w.__statuses[w.__statuses.length - 1] !== s) w.__statuses.push(s);
    };
    note();
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true, attributes: true });
  });
}

const recorded = (page: Page): Promise<string[]> => page.evaluate(() => (window as any).__statuses);

test("an S3 sync paused half-way resumes from its checkpoint, live; a Folder sync waiting for the worker goes pending → syncing → synced", async ({
  page,
  context,
}) => {
  test.setTimeout(180_000);
  const bucket = `live-${Date.now()}`;
  await fillBucket(bucket, OBJECTS);

  await login(page);
  await createS3ThroughForm(page, "Bucket, live", bucket);
  await hydrated(page);
  await recordBadge(page);
  const badge = page.locator("h1 + [data-status]");

  // The progress bar appears with counts as batches commit; pause half-way.
  const counts = page.getByTestId("progress-counts");
  await expect(counts).toContainText("looked at", { timeout: 30_000 });
  await expect(badge).toHaveAttribute("data-status", "syncing");
  await page.getByRole("button", { name: "Pause" }).click();
  await expect(badge).toHaveAttribute("data-status", "paused");
  await expect(page.getByTestId("sync-progress")).toContainText("Paused at");
  // Once the run has stopped at its checkpoint, the counts stand still, short of the end.
  await page.waitForTimeout(1500);
  const pausedAt = Number((await counts.textContent())!.match(/^(\d+)/)![1]);
  expect(pausedAt).toBeGreaterThan(0);
  expect(pausedAt).toBeLessThan(OBJECTS);
  await page.waitForTimeout(1000);
  await expect(counts).toContainText(`${pausedAt} looked at`);
  await expect(page.locator("[data-field=Resources]")).toHaveText(String(pausedAt));

  // Meanwhile a Folder datasource is created; it waits while the worker is busy with the bucket
  // (one worker), then syncs. A second tab watches its badge move without a reload.
  const folder = folderUnderRoot("e2e-live-folder");
  for (let i = 0; i < 2400; i++) {
    const f = path.join(folder, `dir-${i % 10}`, `note-${i}.txt`);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, `note ${i}`);
  }
  await page.getByRole("button", { name: "Resume" }).click();
  await expect(badge).toHaveAttribute("data-status", /resuming|syncing/);

  const watcher = await context.newPage();
  await watcher.goto("/datasources/new?kind=FolderDatasource");
  await hydrated(watcher);
  await watcher.getByLabel("Title").fill("Folder, live");
  await watcher.getByLabel(/Folder path/).fill(folder);
  await watcher.getByRole("button", { name: "Create datasource" }).click();
  await expect(watcher).toHaveURL(/\/datasources\/[0-9a-f]{32}$/);
  await hydrated(watcher);
  await recordBadge(watcher);
  const folderBadge = watcher.locator("h1 + [data-status]");
  await expect(folderBadge).toHaveAttribute("data-status", "synced", { timeout: 60_000 });
  const folderSeen = await recorded(watcher);
  expect(folderSeen.slice(-3)).toEqual(["pending", "syncing", "synced"]);
  await expect(watcher.locator("[data-field=Resources]")).toHaveText("2400");

  // The bucket finished from its checkpoint: every object once.
  await expect(badge).toHaveAttribute("data-status", "synced", { timeout: 60_000 });
  await expect(page.locator("[data-field=Resources]")).toHaveText(String(OBJECTS));
  const seen = await recorded(page);
  expect(seen).toEqual(expect.arrayContaining(["syncing", "paused", "synced"]));
  expect(seen.indexOf("paused")).toBeLessThan(seen.lastIndexOf("synced"));
  expect(seen.indexOf("syncing")).toBeLessThan(seen.indexOf("paused"));
  await expect(page.getByTestId("sync-progress")).toHaveCount(0);

  // Activity: the paused run with what it had done when it stopped, then the resumed run,
  // which counts the whole sync (it continued from the same checkpoint): every object once.
  await page.getByRole("link", { name: "Activity" }).click();
  const rows = page.getByTestId("run-row");
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toContainText("synced");
  await expect(rows.nth(1)).toContainText("paused");
  await expect(rows.nth(1).locator("td").nth(3)).toHaveText(String(pausedAt));
  await expect(rows.nth(0).locator("td").nth(3)).toHaveText(String(OBJECTS));
});
