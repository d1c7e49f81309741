import { test, expect, Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { login, hydrated, apiToken, seedChildren, tabTo } from "./helpers";

/** Runs axe-core on the page as it is now; no serious or critical violation is allowed. */
async function noSeriousViolations(page: Page, what: string) {
  const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const bad = result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
  expect(bad, `${what}: accessibility violations`).toEqual([]);
}

test("every page passes an automated accessibility check, in light and dark mode", async ({ page, request }) => {
  test.setTimeout(180_000);
  const token = await apiToken(request);
  const auth = { Authorization: `Bearer ${token}` };
  const ds = await request.post("/api/datasources", {
    headers: auth,
    data: { "@type": "S3Datasource", title: "Accessible bucket", bucket: "a11y-bucket", type_sync: "arch", endpoint: "http://127.0.0.1:9" },
  });
  const id = (await ds.json()).id as string;
  await request.post("/api/datasources/@bulk", { headers: auth, data: { action: "pause", ids: [id] } });
  seedChildren(id, 3);
  const children = await (await request.get(`/api/datasources/${id}/@getAllChildren`, { headers: auth })).json();
  const rid = children.items[0].id as string;

  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.context().clearCookies();
    await page.goto("/login");
    await noSeriousViolations(page, `${scheme}: /login`);
    await login(page);
    const pages = [
      "/datasources",
      "/datasources?status=paused&sort=-title",
      "/datasources?q=nothing-matches-this",
      "/datasources/new",
      "/datasources/new?kind=S3Datasource",
      "/datasources/new?kind=DropboxDatasource",
      "/datasources/new?kind=SlackDatasource",
      `/datasources/${id}`,
      `/datasources/${id}?tab=resources`,
      `/datasources/${id}?tab=search`,
      `/datasources/${id}?tab=sharing`,
      `/datasources/${id}?tab=activity`,
      `/datasources/${id}?tab=settings`,
      `/datasources/${id}?tab=delete`,
      `/datasources/${id}/resources/${rid}`,
      "/search",
      "/search?q=file",
      "/users",
      "/invitations",
      "/account",
      "/no-such-page",
    ];
    for (const p of pages) {
      await page.goto(p);
      await hydrated(page);
      await noSeriousViolations(page, `${scheme}: ${p}`);
    }
    // The open dialogs and the toasts too.
    await page.goto("/account");
    await hydrated(page);
    await page.getByLabel("Token name").fill("a11y token");
    await page.getByRole("button", { name: "Create token" }).click();
    await expect(page.getByTestId("toasts")).toContainText("Token created");
    await page.getByRole("button", { name: "Revoke a11y token" }).click();
    await expect(page.getByRole("dialog")).toBeVisible();
    await noSeriousViolations(page, `${scheme}: confirmation dialog`);
    await page.keyboard.press("Escape");
    await expect(page.getByRole("dialog")).toHaveCount(0);
    await page.getByRole("button", { name: "Revoke a11y token" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Revoke token" }).click();
    await expect(page.getByTestId("no-tokens")).toBeVisible();
  }
});

test("keyboard only: log in, create a datasource, act on it in bulk, confirm a dialog — with the focus always visible", async ({ page }) => {
  await page.goto("/login");
  await hydrated(page);
  await tabTo(page, page.getByLabel("E-mail"));
  await page.keyboard.type(process.env.TRIBUTARY_ADMIN_EMAIL ?? "admin@example.com");
  await page.keyboard.press("Tab");
  await page.keyboard.type(process.env.TRIBUTARY_ADMIN_PASSWORD ?? "admin-password");
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/datasources$/);

  // The skip link comes first and jumps over the navigation.
  await page.goto("/datasources");
  await hydrated(page);
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: "Skip to content" })).toBeFocused();

  // New datasource, by keyboard.
  await tabTo(page, page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "New datasource" }));
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/datasources\/new/);
  await hydrated(page);
  await tabTo(page, page.getByRole("link", { name: "S3 bucket" }));
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/kind=S3Datasource/);
  await tabTo(page, page.getByLabel("Title"));
  await page.keyboard.type("Keyboard bucket");
  await tabTo(page, page.getByLabel(/Bucket/));
  await page.keyboard.type("keyboard-bucket");
  await tabTo(page, page.getByLabel(/Endpoint/));
  await page.keyboard.type("http://127.0.0.1:9");
  await tabTo(page, page.getByRole("button", { name: "Create datasource" }));
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/datasources\/[0-9a-f]{32}$/);

  // Pause it from the list with the keyboard: Space ticks, Enter presses.
  await page.goto("/datasources?q=Keyboard+bucket");
  await hydrated(page);
  await tabTo(page, page.getByRole("checkbox", { name: "Select Keyboard bucket" }));
  await page.keyboard.press("Space");
  await tabTo(page, page.getByRole("button", { name: "Pause" }));
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("bulk-result")).toContainText("now paused");

  // A confirmation dialog takes the focus, Escape cancels, and the focus comes back.
  await page.goto("/account");
  await hydrated(page);
  await tabTo(page, page.getByLabel("Token name"));
  await page.keyboard.type("keyboard token");
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("token-row")).toHaveCount(1);
  const revoke = page.getByRole("button", { name: "Revoke keyboard token" });
  await tabTo(page, revoke);
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog", { name: "Revoke this token?" });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole("button", { name: "Cancel" })).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(dialog).toHaveCount(0);
  await expect(revoke).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(dialog).toBeVisible();
  await page.keyboard.press("Tab");
  await expect(dialog.getByRole("button", { name: "Revoke token" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("no-tokens")).toBeVisible();
});
