import { test, expect } from "@playwright/test";
import * as fs from "fs";
import * as path from "path";
import { login, hydrated, apiToken, folderUnderRoot } from "./helpers";

test("a Folder datasource syncs live: pending → synced, with its activity; sync again, pause, resume", async ({
  page,
  request,
}) => {
  const folder = folderUnderRoot("e2e-sync");
  for (const f of ["a.txt", "notes/b.md", "notes/deep/c.html"]) {
    fs.mkdirSync(path.dirname(path.join(folder, f)), { recursive: true });
    fs.writeFileSync(path.join(folder, f), `content of ${f}`);
  }
  await login(page);
  await hydrated(page);
  await page.goto("/datasources/new?kind=FolderDatasource");
  await hydrated(page);
  await page.getByLabel("Title").fill("Synced folder");
  await page.getByLabel(/Folder path/).fill(folder);
  await page.getByRole("button", { name: "Create datasource" }).click();
  await expect(page).toHaveURL(/\/datasources\/[0-9a-f]{32}$/);
  const id = page.url().split("/").pop()!;

  // The badge reaches `synced` without a reload (the page refreshes while a sync is under way).
  // The suite's server has one spyder worker, which may still be busy with an earlier test's
  // datasource (and each committed batch waits for the disk), so the wait is generous.
  const badge = page.locator("h1 + [data-status]");
  await expect(badge).toHaveAttribute("data-status", "synced", { timeout: 60_000 });
  await expect(page.locator("[data-field=Resources]")).toHaveText("3");

  await page.getByRole("link", { name: "Activity" }).click();
  const run = page.getByTestId("run-row").first();
  await expect(run).toContainText("synced");
  await expect(run.locator("td").nth(3)).toHaveText("3");
  await page.getByRole("link", { name: "Resources" }).click();
  await expect(page.getByTestId("resource-row")).toHaveCount(3);

  // Sync now collects again; the new file arrives.
  fs.writeFileSync(path.join(folder, "later.txt"), "added later");
  await page.getByRole("link", { name: "Overview" }).click();
  await hydrated(page);
  // Each run queues for the one worker like the first (hence the same generous waits).
  await page.getByRole("button", { name: "Sync now" }).click();
  await expect(page.locator("[data-field=Resources]")).toHaveText("4", { timeout: 60_000 });
  await expect(badge).toHaveAttribute("data-status", "synced");

  // Pause and resume.
  await page.getByRole("button", { name: "Pause" }).click();
  await expect(badge).toHaveAttribute("data-status", "paused");
  await expect(page.getByRole("button", { name: "Sync now" })).toHaveCount(0);
  await page.getByRole("button", { name: "Resume" }).click();
  await expect(badge).toHaveAttribute("data-status", "synced", { timeout: 60_000 });

  // The API agrees, and the seed's endpoint answers 202 with the job.
  const token = await apiToken(request);
  const r = await request.get(`/api/datasources/${id}/@sendToSpyder?force=true`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  expect(r.status()).toBe(202);
});
