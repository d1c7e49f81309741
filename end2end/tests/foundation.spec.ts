import { test, expect } from "@playwright/test";
import { login, hydrated, apiToken, S3 } from "./helpers";

test.describe("the datasources page", () => {
  test("asks for a login, then shows the list rendered on the server", async ({ page }) => {
    await page.goto("/datasources");
    await expect(page).toHaveURL(/\/login\?next=/);
    await login(page);
    await expect(page.getByRole("heading", { name: "Datasources", exact: true })).toBeVisible();
    await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Datasources" })).toHaveAttribute(
      "aria-current",
      "page",
    );
  });

  test("hydrates: the status legend opens without a reload", async ({ page }) => {
    await login(page);
    await hydrated(page);
    // A marker that a reload would wipe.
    await page.evaluate(() => ((window as any).__noReload = true));
    const toggle = page.getByRole("button", { name: "What do the statuses mean?" });
    await expect(toggle).toHaveAttribute("aria-expanded", "false");
    await toggle.click();
    const legend = page.getByRole("region", { name: "Status legend" });
    await expect(legend).toBeVisible();
    for (const s of ["created", "pending", "syncing", "synced", "failed", "error", "paused", "resuming", "invited"]) {
      await expect(legend.locator(`[data-status=${s}]`)).toHaveCount(1);
    }
    await expect(page.getByRole("button", { name: "Hide status legend" })).toHaveAttribute("aria-expanded", "true");
    expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
  });
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("logs in with the plain form and renders the list", async ({ page, request }) => {
    const token = await apiToken(request);
    const r = await request.post("/api/datasources", {
      headers: { Authorization: `Bearer ${token}` },
      data: { "@type": "S3Datasource", title: "Rendered without JS", bucket: "nojs-bucket", endpoint: S3 },
    });
    expect(r.status()).toBe(201);
    await login(page);
    await expect(page.getByRole("heading", { name: "Datasources", exact: true })).toBeVisible();
    await expect(page.getByRole("link", { name: "Rendered without JS" })).toBeVisible();
    await expect(page.locator("body[data-hydrated]")).toHaveCount(0);
  });
});
