import { test, expect, Page } from "@playwright/test";
import * as fs from "fs";
import * as path from "path";
import { loginAs, hydrated, folderUnderRoot, fillBucket, samplePdf, screenshotPath, createS3ThroughForm, startOwnServer, OwnServer } from "./helpers";

/** The badge of a datasource's row on the list page. */
const rowBadge = (page: Page, title: string) => page.getByRole("row", { name: new RegExp(title) }).locator("[data-status]");

// The story runs on a server of its own, started as a new user starts Tributary: a new data
// directory, no admin configured (the server prints the generated password once), nothing else
// in its database. One spyder worker and small batches, so the bucket can be paused half-way.
let server: OwnServer;
test.beforeAll(async () => {
  server = await startOwnServer({ TRIBUTARY_WORKERS: "1", TRIBUTARY_SYNC_BATCH: "50" });
});
test.afterAll(async () => {
  await server?.stop();
});

// The whole story in one browser session per person, from a fresh database: the admin logs in
// with the printed password, adds a colleague, creates a Folder and an S3 datasource and watches
// them sync live, browses and searches, pauses and resumes, shares one; the colleague accepts
// and searches inside it; the admin deletes a datasource. Screenshots of the main pages are
// saved for the README on the way.
test("the whole story: users, datasources syncing live, search, pause and resume, sharing, delete", async ({ browser }) => {
  test.setTimeout(240_000);
  const stamp = Date.now();
  const colleague = "colleague@example.com";
  const adminCtx = await browser.newContext({ baseURL: server.baseURL });
  const page = await adminCtx.newPage();

  // The admin logs in with the password the server printed, and finds nothing yet, with what
  // to do next.
  expect(server.admin.email).toBe("admin@localhost");
  await loginAs(page, server.admin.email, server.admin.password);
  await hydrated(page);
  await expect(page.getByRole("heading", { name: "No datasources yet" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Add your first datasource" })).toBeVisible();

  // The admin adds a colleague.
  await page.goto("/users");
  await hydrated(page);
  await page.getByLabel("E-mail").fill(colleague);
  await page.getByLabel("Display name").fill("Colleague");
  await page.getByLabel("Initial password").fill("colleague-password");
  await page.getByRole("button", { name: "Add user" }).click();
  await expect(page.getByTestId("toasts")).toContainText(`Added ${colleague}`);
  await expect(page.locator(`[data-testid=user-row][data-email='${colleague}']`)).toContainText("active");
  await expect(page.getByTestId("user-row")).toHaveCount(2);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: screenshotPath("users") });

  // A Folder datasource of notes and a PDF.
  const folder = folderUnderRoot("harbour-notes", server.dataDir);
  for (let i = 0; i < 40; i++) {
    const f = path.join(folder, `notes/${i % 4}`, `note-${i}.txt`);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, `Harbour note ${i} about the ferry timetable.`);
  }
  fs.writeFileSync(path.join(folder, "kingfisher.pdf"), samplePdf("A kingfisher was seen near the harbour"));
  await page.goto("/datasources/new?kind=FolderDatasource");
  await hydrated(page);
  await page.getByLabel("Title").fill(`Harbour notes`);
  await page.getByLabel(/Folder path/).fill(folder);
  await page.screenshot({ path: screenshotPath("new-datasource") });
  await page.getByRole("button", { name: "Create datasource" }).click();
  await expect(page).toHaveURL(/\/datasources\/[0-9a-f]{32}$/);
  const folderUrl = page.url();

  // An S3 bucket, big enough to pause half-way (one worker, batches of 50).
  const bucket = `story-${stamp}`;
  await fillBucket(bucket, 1500, { "reports/heron.txt": "The grey heron report for the estuary." });
  await createS3ThroughForm(page, `Estuary bucket`, bucket);
  const bucketUrl = page.url();
  const bucketId = bucketUrl.split("/").pop()!;

  // The list follows both live, without a reload.
  await page.goto(`/datasources`);
  await hydrated(page);
  await page.evaluate(() => ((window as any).__noReload = true));
  await expect(rowBadge(page, "Harbour notes")).toHaveAttribute("data-status", "synced", { timeout: 60_000 });
  await expect(rowBadge(page, "Estuary bucket")).toHaveAttribute("data-status", /pending|syncing/);

  // Pause the bucket from the list (a bulk action of one), then resume it.
  await expect(rowBadge(page, "Estuary bucket")).toHaveAttribute("data-status", "syncing", { timeout: 60_000 });
  await page.getByRole("checkbox", { name: `Select Estuary bucket` }).check();
  await page.getByRole("button", { name: "Pause" }).click();
  await expect(page.getByTestId("bulk-result")).toContainText("now paused");
  await expect(rowBadge(page, "Estuary bucket")).toHaveAttribute("data-status", "paused");
  await page.screenshot({ path: screenshotPath("datasources") });
  await page.getByRole("checkbox", { name: `Select Estuary bucket` }).check();
  await page.getByRole("button", { name: "Resume" }).click();
  await expect(page.getByTestId("toasts")).toContainText("Resumed 1 of 1");
  await expect(rowBadge(page, "Estuary bucket")).toHaveAttribute("data-status", "synced", { timeout: 90_000 });
  await expect(page.getByRole("row", { name: /Estuary bucket/ })).toContainText("1501");
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);

  // Browse the folder's resources, then search everything for a word only the PDF holds.
  await page.goto(folderUrl);
  await hydrated(page);
  await page.screenshot({ path: screenshotPath("datasource") });
  await page.getByRole("link", { name: "Resources" }).click();
  await expect(page.getByTestId("resource-row")).toHaveCount(20);
  await expect(async () => {
    await page.goto(`/search?q=kingfisher`);
    await expect(page.getByTestId("hit")).toHaveCount(1, { timeout: 1000 });
  }).toPass({ timeout: 30_000 });
  await expect(page.getByTestId("hit").getByTestId("snippet").locator("mark")).toHaveText("kingfisher");
  await page.screenshot({ path: screenshotPath("search") });
  await page.getByTestId("hit").getByRole("link", { name: "kingfisher.pdf" }).click();
  await expect(page.getByTestId("extracted-text")).toContainText("kingfisher was seen");

  // Share the bucket with the colleague as a viewer.
  await page.goto(`${bucketUrl}?tab=sharing`);
  await hydrated(page);
  await page.getByLabel("E-mail").fill(colleague);
  await page.getByLabel("Role", { exact: true }).selectOption("viewer");
  await page.getByRole("button", { name: "Send invitation" }).click();
  await expect(page.getByTestId("toasts")).toContainText(`Invitation sent to ${colleague}`);
  // From the top (sending scrolled to the form): the datasource, its tabs, who has access.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: screenshotPath("sharing") });

  // The colleague logs in, accepts, and searches inside the bucket.
  const ctx = await browser.newContext({ baseURL: server.baseURL });
  const other = await ctx.newPage();
  await loginAs(other, colleague, "colleague-password");
  await hydrated(other);
  await expect(other.getByTestId("invitation-count")).toHaveText("1");
  await other.getByRole("link", { name: /Invitations/ }).click();
  await hydrated(other);
  await other.getByRole("button", { name: "Accept" }).click();
  await expect(other.getByTestId("toasts")).toContainText("Invitation accepted");
  await other.goto(`/datasources/${bucketId}?tab=search`);
  await hydrated(other);
  await expect(async () => {
    await other.getByLabel("Search for").fill("heron");
    await other.getByRole("button", { name: "Search", exact: true }).click();
    await expect(other.getByTestId("hit")).toHaveCount(1, { timeout: 1000 });
  }).toPass({ timeout: 30_000 });
  await expect(other.getByTestId("hit").getByRole("link")).toHaveText("heron.txt");
  // The folder was not shared: the colleague's search never shows it.
  await other.goto(`/search?q=kingfisher`);
  await expect(other.getByTestId("no-hits")).toBeVisible();
  await ctx.close();

  // The admin deletes the folder datasource, confirming with its title.
  await page.goto(`${folderUrl}?tab=delete`);
  await hydrated(page);
  await page.getByLabel("Title of the datasource").fill(`Harbour notes`);
  await page.getByRole("button", { name: "Delete datasource" }).click();
  await expect(page).toHaveURL(/\/datasources$/);
  await expect(page.getByTestId("toasts")).toContainText(`Deleted “Harbour notes”`);
  await expect(page.getByRole("link", { name: `Harbour notes` })).toHaveCount(0);
  await page.goto(`/search?q=kingfisher`);
  await expect(page.getByTestId("no-hits")).toBeVisible();

  // The list in dark mode, which follows the system.
  await page.emulateMedia({ colorScheme: "dark" });
  await page.goto("/datasources");
  await page.screenshot({ path: screenshotPath("datasources-dark") });
  await page.emulateMedia({ colorScheme: "light" });
  await adminCtx.close();
});
