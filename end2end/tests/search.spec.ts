import { test, expect } from "@playwright/test";
import * as fs from "fs";
import * as path from "path";
import { login, hydrated, folderUnderRoot, samplePdf, sampleDocx } from "./helpers";

test("a folder of mixed documents is searchable: a word only the PDF holds finds it, highlighted, and opens it", async ({
  page,
}) => {
  test.setTimeout(120_000);
  const folder = folderUnderRoot("e2e-search");
  const files: [string, string | Buffer][] = [
    ["notes.txt", "Plain notes about the harbour budget."],
    ["page.html", "<!doctype html><html><head><script>var hiddenscript = 1</script></head><body><h1>Harbour</h1><p>An html page about cranes.</p></body></html>"],
    ["reports/annual.pdf", samplePdf("The lighthousekeeper report for the harbour")],
    ["letters/dear.docx", sampleDocx("A docx letter about the harbour ferry")],
  ];
  for (const [name, body] of files) {
    fs.mkdirSync(path.dirname(path.join(folder, name)), { recursive: true });
    fs.writeFileSync(path.join(folder, name), body);
  }
  await login(page);
  await page.goto("/datasources/new?kind=FolderDatasource");
  await hydrated(page);
  await page.getByLabel("Title").fill("Mixed documents");
  await page.getByLabel(/Folder path/).fill(folder);
  await page.getByRole("button", { name: "Create datasource" }).click();
  await expect(page).toHaveURL(/\/datasources\/[0-9a-f]{32}$/);
  const id = page.url().split("/").pop()!;
  await expect(page.locator("h1 + [data-status]")).toHaveAttribute("data-status", "synced", { timeout: 30_000 });

  // Every resource shows its processing status; they all end up processed, live (no reload).
  await page.goto(`/datasources/${id}?tab=resources`);
  await hydrated(page);
  await expect(page.getByTestId("resource-row")).toHaveCount(4);
  await expect(page.locator("[data-processing=processed]")).toHaveCount(4, { timeout: 30_000 });

  // The datasource's Search tab: the word only the PDF holds.
  await page.goto(`/datasources/${id}?tab=search`);
  await hydrated(page);
  await page.getByLabel("Search for").fill("lighthousekeeper");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await expect(page.getByTestId("hit-total")).toHaveText("1 match");
  const hit = page.getByTestId("hit");
  await expect(hit).toHaveCount(1);
  await expect(hit.getByRole("link")).toHaveText("annual.pdf");
  await expect(hit.getByTestId("snippet").locator("mark")).toHaveText("lighthousekeeper");

  // Scripts are not text; a word in all four finds all four, with a type filter narrowing it.
  await page.getByLabel("Search for").fill("hiddenscript");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await expect(page.getByTestId("no-hits")).toBeVisible();
  await page.goto(`/search?q=harbour`);
  await expect(page.getByTestId("hit")).toHaveCount(4);
  await page.goto(`/search?q=harbour&media_type=${encodeURIComponent("application/pdf")}`);
  await expect(page.getByTestId("hit")).toHaveCount(1);

  // The global box in the navigation, then open the resource.
  await page.goto("/datasources");
  await hydrated(page);
  await page.getByLabel("Search everything").fill("lighthouse*");
  await page.getByLabel("Search everything").press("Enter");
  await expect(page).toHaveURL(/\/search\?q=lighthouse/);
  await page.getByTestId("hit").getByRole("link", { name: "annual.pdf" }).click();
  await expect(page.getByTestId("resource-name")).toHaveText("annual.pdf");
  await expect(page.getByTestId("processing-status")).toHaveText("processed");
  await expect(page.getByTestId("extracted-text")).toContainText("lighthousekeeper report");
  await expect(page.locator("[data-field=Type]")).toHaveText("application/pdf");

  // Send it through processing again.
  await hydrated(page);
  await page.getByRole("button", { name: "Send to processing" }).click();
  await expect(page.getByTestId("queued")).toContainText("Queued for processing (1)");
  // Processed again, shown live; what the action said stays.
  await expect(page.getByTestId("processing-status")).toHaveText("processed", { timeout: 15_000 });
  await expect(page.getByTestId("extracted-text")).toContainText("lighthousekeeper report");
  await expect(page.getByTestId("queued")).toBeVisible();
});
