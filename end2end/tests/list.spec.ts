import { test, expect } from "@playwright/test";
import { login, hydrated, apiToken } from "./helpers";

// The datasources list: counts per status that filter, filters that live in the address,
// sorting, cursor paging and bulk actions with a result per datasource.
test("the list counts, filters, sorts, pages and acts in bulk", async ({ page, request }) => {
  const token = await apiToken(request);
  const auth = { Authorization: `Bearer ${token}` };
  const stamp = Date.now();
  const ids: string[] = [];
  // 23 buckets: more than a page. Created with sync type `arch`, so no spyder touches them
  // before the test acts (their first sync waits for the one worker, which S3 needs a server
  // for; they stay `pending`).
  for (let i = 0; i < 23; i++) {
    const r = await request.post("/api/datasources", {
      headers: auth,
      data: { "@type": "S3Datasource", title: `List ${stamp} ${String(i).padStart(2, "0")}`, bucket: "no-such-bucket", type_sync: "arch", endpoint: "http://127.0.0.1:9" },
    });
    expect(r.status()).toBe(201);
    ids.push((await r.json()).id);
  }
  // All paused through the API at once (so no spyder keeps retrying a bucket that is not there).
  const bulk = await request.post("/api/datasources/@bulk", { headers: auth, data: { action: "pause", ids } });
  expect(bulk.status()).toBe(200);
  expect((await bulk.json()).items.every((i: any) => i.ok)).toBe(true);

  await login(page);
  await hydrated(page);
  await page.evaluate(() => ((window as any).__noReload = true));

  // The text filter (a GET form: the page fetches the filtered list and swaps it in, no reload).
  await page.getByLabel("Title contains").fill(`List ${stamp}`);
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(new RegExp(`q=List`));
  await expect(page.getByTestId("total")).toHaveText("23 datasources match");
  await expect(page.getByTestId("datasource-row")).toHaveCount(20);
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);

  // Counts per status; each filters.
  const counts = page.getByRole("navigation", { name: "Datasources by status" });
  await expect(counts.locator("[data-status-count=paused]")).toContainText("23");
  await counts.locator("[data-status-count=paused]").click();
  await expect(page).toHaveURL(/status=paused/);
  await expect(counts.locator("[data-status-count=paused]")).toHaveAttribute("aria-current", "true");
  await expect(page.getByLabel("Status", { exact: true })).toHaveValue("paused");

  // Sorting Z–A: the last one created comes first; cursor paging keeps order and filters.
  await page.getByLabel("Sort", { exact: true }).selectOption("-title");
  await expect(page).toHaveURL(/sort=-title/);
  await expect(page.getByTestId("datasource-row").first()).toContainText(`List ${stamp} 22`);
  await page.getByRole("link", { name: "Next page" }).click();
  await expect(page.getByTestId("datasource-row")).toHaveCount(3);
  await expect(page.getByTestId("datasource-row").last()).toContainText(`List ${stamp} 00`);
  await page.getByRole("link", { name: "First page" }).click();
  await expect(page.getByTestId("datasource-row")).toHaveCount(20);

  // Bulk: resume two, then pause those two and one that is still paused: each datasource
  // gets its own result, and the refused one says why.
  await page.getByLabel("Sort", { exact: true }).selectOption("oldest");
  await expect(page.getByTestId("datasource-row").first()).toContainText(`List ${stamp} 00`);
  // Nothing selected yet: the buttons say what to do first.
  await page.getByRole("button", { name: "Sync now" }).click();
  await expect(page.locator("[data-toast=failure]")).toContainText("Select the datasources");
  const select = (n: string) => page.getByRole("checkbox", { name: `Select List ${stamp} ${n}` }).check();
  await select("00");
  await select("01");
  await expect(page.getByRole("toolbar", { name: "Bulk actions" })).toContainText("2 selected");
  await page.getByRole("button", { name: "Resume" }).click();
  const results = page.getByTestId("bulk-result");
  await expect(results).toHaveCount(2);
  await expect(page.getByTestId("toasts")).toContainText("Resumed 2 of 2");
  await expect(counts.locator("[data-status-count=paused]")).toContainText("21");
  // The paused filter is on: the two resumed left the page.
  await expect(page.getByTestId("datasource-row").first()).toContainText(`List ${stamp} 02`);
  await counts.getByRole("link", { name: /^All/ }).click();
  await expect(page.getByTestId("datasource-row").first()).toContainText(`List ${stamp} 00`);
  await select("00");
  await select("01");
  await select("02");
  await page.getByRole("button", { name: "Pause" }).click();
  await expect(results).toHaveCount(3);
  await expect(results.nth(0)).toHaveAttribute("data-ok", "true");
  await expect(results.nth(1)).toHaveAttribute("data-ok", "true");
  await expect(results.nth(2)).toHaveAttribute("data-ok", "false");
  await expect(results.nth(2)).toContainText("paused");
  await expect(page.getByTestId("toasts")).toContainText("Paused 2 of 3");
  await expect(counts.locator("[data-status-count=paused]")).toContainText("23");

  // The page's select-all checkbox selects the twenty rows.
  await page.getByRole("checkbox", { name: "Select every datasource on this page" }).check();
  await expect(page.getByRole("toolbar", { name: "Bulk actions" })).toContainText("20 selected");
  await page.getByRole("checkbox", { name: "Select every datasource on this page" }).uncheck();
  await expect(page.getByRole("toolbar", { name: "Bulk actions" })).not.toContainText("selected:");

  // A filter that matches nothing says so and offers the way back.
  await page.getByLabel("Title contains").fill("no datasource is called this");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.getByTestId("no-match")).toBeVisible();
  await page.getByTestId("no-match").getByRole("link", { name: "Clear filters" }).click();
  await expect(page).toHaveURL(/\/datasources$/);
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
});
