import { test, expect } from "@playwright/test";
import { login, hydrated, apiToken, seedChildren, S3 } from "./helpers";

test("an owner shares a datasource; the invitee sees it as invited, accepts, then browses as a viewer", async ({
  page,
  request,
  browser,
}) => {
  const token = await apiToken(request);
  const auth = { Authorization: `Bearer ${token}` };
  const created = await request.post("/api/users", {
    headers: auth,
    data: { email: "frank@example.com", password: "frank-password", display_name: "Frank" },
  });
  expect(created.status()).toBe(201);
  const ds = await request.post("/api/datasources", {
    headers: auth,
    data: { "@type": "S3Datasource", title: "Shared bucket", bucket: "shared-bucket", endpoint: S3 },
  });
  expect(ds.status()).toBe(201);
  const id = (await ds.json()).id as string;
  seedChildren(id, 3);

  // The owner invites Frank from the Sharing tab.
  await login(page);
  await page.goto(`/datasources/${id}?tab=sharing`);
  await hydrated(page);
  await expect(page.locator("[data-testid=member-row][data-email='admin@example.com']")).toContainText("owner");
  await page.getByLabel("E-mail").fill("frank@example.com");
  await page.getByLabel("Role", { exact: true }).selectOption("viewer");
  await page.getByRole("button", { name: "Send invitation" }).click();
  await expect(page.getByTestId("invited")).toContainText("Invited frank@example.com as viewer");
  await expect(page.locator("[data-testid=invitation-row][data-email='frank@example.com']")).toBeVisible();

  // Frank logs in: one invitation in the navigation, the datasource listed as invited.
  const ctx = await browser.newContext({ baseURL: test.info().project.use.baseURL });
  const frank = await ctx.newPage();
  await frank.goto("/login");
  await frank.getByLabel("E-mail").fill("frank@example.com");
  await frank.getByLabel("Password").fill("frank-password");
  await frank.getByRole("button", { name: "Log in" }).click();
  await expect(frank).toHaveURL(/\/datasources$/);
  await hydrated(frank);
  await expect(frank.getByTestId("invitation-count")).toHaveText("1");
  const row = frank.getByRole("row", { name: /Shared bucket/ });
  await expect(row).toContainText("invited");

  // Nothing inside is shown before accepting, not even by asking for the tab directly.
  await frank.goto(`/datasources/${id}?tab=resources`);
  await expect(frank.getByTestId("invitation")).toContainText("invited to this S3 bucket datasource as viewer");
  await expect(frank.getByTestId("resource-row")).toHaveCount(0);
  await expect(frank.getByRole("link", { name: "Resources" })).toHaveCount(0);
  const frankToken = (
    await (await request.post("/api/@login", { data: { username: "frank@example.com", password: "frank-password" } })).json()
  ).token;
  const peek = await request.get(`/api/datasources/${id}/@getAllChildren`, {
    headers: { Authorization: `Bearer ${frankToken}` },
  });
  expect(peek.status()).toBe(403);

  // Accept: the page becomes the datasource, with its resources.
  await hydrated(frank);
  await frank.getByRole("button", { name: "Accept" }).click();
  await expect(frank.getByTestId("my-role")).toHaveText("Your role: viewer");
  await expect(frank.getByTestId("invitation-count")).toHaveCount(0);
  await frank.getByRole("link", { name: "Resources" }).click();
  await expect(frank.getByTestId("resource-row")).toHaveCount(3);

  // A viewer sees no Edit, Delete or Sync controls, and no sharing controls.
  const tabs = frank.getByRole("navigation", { name: "Datasource sections" });
  await expect(tabs.getByRole("link", { name: "Edit" })).toHaveCount(0);
  await expect(tabs.getByRole("link", { name: "Delete" })).toHaveCount(0);
  await expect(frank.getByRole("button", { name: /Sync|Delete/ })).toHaveCount(0);
  await tabs.getByRole("link", { name: "Sharing" }).click();
  await expect(frank.locator("[data-testid=member-row][data-email='frank@example.com']")).toContainText("viewer");
  await expect(frank.getByRole("button", { name: /Change|Remove|Send invitation|Revoke/ })).toHaveCount(0);

  // Forging what the page does not offer is refused.
  const forged = await request.delete(`/api/datasources/${id}`, { headers: { Authorization: `Bearer ${frankToken}` } });
  expect(forged.status()).toBe(403);
  await frank.goto(`/datasources/${id}?tab=delete`);
  await expect(frank.getByRole("button", { name: "Delete datasource" })).toHaveCount(0);

  // The owner changes Frank's role while his page is open at the Edit tab's address: the page
  // follows live. As an editor he gets the Edit tab and its form; a viewer again, both go.
  const setRole = async (role: string) => {
    const changed = await request.post(`/api/datasources/${id}/@sharing`, {
      headers: auth,
      data: { roles: [{ user: "frank@example.com", role }] },
    });
    expect(changed.status()).toBe(200);
  };
  const editForm = frank.getByRole("form", { name: "Edit datasource" });
  await frank.goto(`/datasources/${id}?tab=settings`);
  await hydrated(frank);
  await expect(frank.getByTestId("my-role")).toHaveText("Your role: viewer");
  await expect(frank.locator("[data-field=Kind]")).toBeVisible();
  await expect(editForm).toHaveCount(0);
  await setRole("editor");
  await expect(frank.getByTestId("my-role")).toHaveText("Your role: editor");
  await expect(tabs.getByRole("link", { name: "Edit" })).toBeVisible();
  await expect(editForm).toBeVisible();
  await expect(editForm.getByLabel("Title")).toHaveValue("Shared bucket");
  await expect(frank.locator("[data-field=Kind]")).toHaveCount(0);
  await setRole("viewer");
  await expect(frank.getByTestId("my-role")).toHaveText("Your role: viewer");
  await expect(tabs.getByRole("link", { name: "Edit" })).toHaveCount(0);
  await expect(editForm).toHaveCount(0);
  await expect(frank.locator("[data-field=Kind]")).toBeVisible();

  // The owner sees Frank among the members now.
  await page.reload();
  await expect(page.locator("[data-testid=member-row][data-email='frank@example.com']")).toContainText("viewer");
  await expect(page.getByTestId("no-invitations")).toBeVisible();
  await ctx.close();
});

test("personal tokens: created on the account page, shown once, work for the API, revoked", async ({ page, request }) => {
  await login(page);
  await hydrated(page);
  await page.getByTestId("me").click();
  await expect(page.getByRole("heading", { name: "Account" })).toBeVisible();
  await hydrated(page);
  await page.getByLabel("Token name").fill("e2e script");
  await page.getByRole("button", { name: "Create token" }).click();
  const secret = (await page.getByTestId("new-token-secret").textContent())!.trim();
  expect(secret).toMatch(/^trb_/);
  const ok = await request.get("/api/datasources", { headers: { Authorization: `Bearer ${secret}` } });
  expect(ok.status()).toBe(200);

  await page.reload();
  await expect(page.getByTestId("new-token-secret")).toHaveCount(0);
  await hydrated(page);
  await page.getByRole("button", { name: "Revoke e2e script" }).click();
  // A confirmation first: revoking cannot be undone.
  const dialog = page.getByRole("dialog", { name: "Revoke this token?" });
  await expect(dialog).toBeVisible();
  await dialog.getByRole("button", { name: "Revoke token" }).click();
  await expect(page.getByTestId("no-tokens")).toBeVisible();
  const gone = await request.get("/api/datasources", { headers: { Authorization: `Bearer ${secret}` } });
  expect(gone.status()).toBe(401);
});
