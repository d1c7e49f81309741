import { test, expect, Page } from "@playwright/test";
import * as fs from "fs";
import * as path from "path";
import { login, hydrated, folderUnderRoot, fillBucket, createS3ThroughForm, apiToken } from "./helpers";

// scripts/test starts moto_server (a real S3-compatible server) and the Tributary server with
// one spyder worker and small batches (TRIBUTARY_WORKERS=1, TRIBUTARY_SYNC_BATCH=50), so a
// sync of a few thousand objects takes long enough to pause half-way.
const OBJECTS = 3000;
const FOLDER_FILES = 8000;

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
  // Enough files that the sync lasts longer than a live refetch even on a fast machine
  // (2,400 once took 0.2 s, and the badge went from pending straight to synced).
  for (let i = 0; i < FOLDER_FILES; i++) {
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
  await expect(watcher.locator("[data-field=Resources]")).toHaveText(String(FOLDER_FILES));

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

// A syncing datasource changes several times a second. Its page follows every change in the
// header, but the tab below must not be rebuilt under someone's hands: what they typed stays,
// and an answer that arrives after a live update still shows.
test("what an admin types into a datasource's tabs survives live updates, and the answers arrive", async ({
  page,
  request,
}) => {
  test.setTimeout(120_000);
  const auth = { Authorization: `Bearer ${await apiToken(request)}` };
  const stamp = Date.now();
  const bucket = `typing-${stamp}`;
  await fillBucket(bucket, 5);
  const panics: string[] = [];
  page.on("console", (m) => {
    if (m.text().includes("panicked")) panics.push(m.text());
  });
  await login(page);
  await createS3ThroughForm(page, `Typed into ${stamp}`, bucket);
  const id = page.url().split("/").pop()!;
  await page.goto(`/datasources/${id}?tab=sharing`);
  await hydrated(page);
  const badge = page.locator("h1 + [data-status]");
  await expect(badge).toHaveAttribute("data-status", "synced", { timeout: 30_000 });

  // Two live updates made elsewhere (here through the API): paused, then resumed and synced
  // again. The page's badge follows both without a reload.
  const elsewhere = async () => {
    expect((await request.post(`/api/datasources/${id}/@pause`, { headers: auth })).status()).toBe(200);
    await expect(badge).toHaveAttribute("data-status", "paused");
    expect((await request.post(`/api/datasources/${id}/@resume`, { headers: auth })).status()).toBe(200);
    await expect(badge).toHaveAttribute("data-status", "synced", { timeout: 30_000 });
  };
  // The same, while the form's request is on its way: the answer comes after the updates.
  const duringRequest = async (endpoint: string) =>
    page.route(`**/rpc/${endpoint}`, async (route) => {
      await elsewhere();
      await route.continue();
    });

  // Sharing: the invite form keeps what was typed; the invitation's confirmation and toast show.
  await page.getByLabel("E-mail").fill("grace@example.com");
  await page.getByLabel("Role", { exact: true }).selectOption("editor");
  await elsewhere();
  await expect(page.getByLabel("E-mail")).toHaveValue("grace@example.com");
  await expect(page.getByLabel("Role", { exact: true })).toHaveValue("editor");
  await duringRequest("invite");
  await page.getByRole("button", { name: "Send invitation" }).click();
  await expect(page.getByTestId("invited")).toContainText("Invited grace@example.com as editor");
  await expect(page.getByTestId("toasts")).toContainText("Invitation sent to grace@example.com");
  await expect(page.locator("[data-testid=invitation-row][data-email='grace@example.com']")).toBeVisible();

  // Edit: the new title stays in its field through the updates, then is saved.
  await page.getByRole("navigation", { name: "Datasource sections" }).getByRole("link", { name: "Edit" }).click();
  await expect(page).toHaveURL(/tab=settings/);
  const title = page.getByLabel("Title");
  await title.fill(`Renamed ${stamp}`);
  await elsewhere();
  await expect(title).toHaveValue(`Renamed ${stamp}`);
  await duringRequest("update_datasource");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByTestId("saved")).toBeVisible();
  await expect(page.getByTestId("toasts")).toContainText("Changes saved");
  await expect(page.getByTestId("datasource-title")).toHaveText(`Renamed ${stamp}`);
  await expect(title).toHaveValue(`Renamed ${stamp}`);

  // Search: the words typed, not yet submitted, stay.
  await page.getByRole("navigation", { name: "Datasource sections" }).getByRole("link", { name: "Search" }).click();
  await expect(page).toHaveURL(/tab=search/);
  await page.getByLabel("Search for").fill("object");
  await elsewhere();
  await expect(page.getByLabel("Search for")).toHaveValue("object");

  // Delete, opened afresh (a full page load): the confirmation typed so
  // far stays, and the count of what would be removed shows.
  await page.goto(`/datasources/${id}?tab=delete`);
  await hydrated(page);
  await page.getByLabel("Title of the datasource").fill("Renamed");
  await elsewhere();
  await expect(page.getByLabel("Title of the datasource")).toHaveValue("Renamed");
  await expect(page.getByTestId("delete-count")).toHaveText("5");
  expect(panics, "the WebAssembly app did not panic").toEqual([]);
});
