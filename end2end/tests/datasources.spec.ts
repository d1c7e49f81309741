import { test, expect } from "@playwright/test";
import { login, hydrated, folderUnderRoot, seedChildren, apiToken, S3 } from "./helpers";

test("a Folder datasource: created, auto/arch refused, edited, resources paged, deleted", async ({ page, request }) => {
  const folder = folderUnderRoot("e2e-docs");
  await login(page);
  await hydrated(page);

  await page.getByRole("link", { name: "New datasource" }).first().click();
  await expect(page.getByRole("heading", { name: "New datasource" })).toBeVisible();
  await page.getByRole("link", { name: "Folder" }).click();

  // Folder datasources support only one-time sync: the other two are disabled, with the reason.
  await expect(page.getByLabel(/One-time/)).toBeEnabled();
  await expect(page.getByLabel(/One-time/)).toBeChecked();
  for (const t of ["auto", "arch"]) {
    await expect(page.locator(`#type_sync_${t}`)).toBeDisabled();
    await expect(page.getByTestId(`unsupported-${t}`)).toContainText("support only one-time sync");
  }

  // A path outside the allowed roots is refused next to its field, and nothing is created.
  await page.getByLabel("Title").fill("E2E documents");
  await page.getByLabel(/Folder path/).fill("/etc");
  await page.getByRole("button", { name: "Create datasource" }).click();
  await expect(page.locator("[data-field-error=path]")).toContainText("outside the allowed folder roots");

  await page.getByLabel(/Folder path/).fill(folder);
  await page.getByRole("button", { name: "Create datasource" }).click();
  await expect(page).toHaveURL(/\/datasources\/[0-9a-f]{32}$/);
  await expect(page.getByTestId("datasource-title")).toHaveText("E2E documents");
  await expect(page.locator("[data-setting=path]")).toHaveText(folder);
  // The setting is shown under the label its connector declares (the form's label too).
  await expect(page.locator("dt", { hasText: /^Folder path$/ })).toBeVisible();
  const id = page.url().split("/").pop()!.split("?")[0];

  // Forging `auto` for a Folder anyway is refused by the server.
  const token = await apiToken(request);
  const forged = await request.patch(`/api/datasources/${id}`, {
    headers: { Authorization: `Bearer ${token}` },
    data: { type_sync: "auto" },
  });
  expect(forged.status()).toBe(422);
  expect((await forged.json()).error.field).toBe("type_sync");

  // Edit.
  await page.getByRole("link", { name: "Edit" }).click();
  await page.getByLabel("Title").fill("E2E documents (renamed)");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByTestId("saved")).toBeVisible();
  await expect(page.getByTestId("datasource-title")).toHaveText("E2E documents (renamed)");

  // Resources, seeded through the engine until the spyders exist, paged with the cursor.
  seedChildren(id, 45);
  await page.goto(`/datasources/${id}?tab=resources`);
  await expect(page.getByTestId("children-total")).toHaveText("45 resources");
  await expect(page.getByTestId("resource-row")).toHaveCount(20);
  await expect(page.getByTestId("resource-row").first()).toContainText("file_0000000.txt");
  await page.getByRole("link", { name: "Next page" }).click();
  await expect(page.getByTestId("resource-row").first()).toContainText("file_0000020.txt");
  await page.getByRole("link", { name: "Next page" }).click();
  await expect(page.getByTestId("resource-row")).toHaveCount(5);
  await expect(page.getByRole("link", { name: "Next page" })).toHaveCount(0);

  // Delete: confirming with the wrong title changes nothing; the right title deletes.
  await page.getByRole("link", { name: "Delete" }).click();
  await hydrated(page);
  await page.getByLabel("Title of the datasource").fill("wrong");
  await page.getByRole("button", { name: "Delete datasource" }).click();
  await expect(page.locator("[data-field-error=confirm_title]")).toContainText("to confirm");
  await page.getByLabel("Title of the datasource").fill("E2E documents (renamed)");
  await page.getByRole("button", { name: "Delete datasource" }).click();
  await expect(page).toHaveURL(/\/datasources$/);
  await expect(page.getByRole("link", { name: "E2E documents (renamed)" })).toHaveCount(0);
  const gone = await request.get(`/api/datasources/${id}`, { headers: { Authorization: `Bearer ${token}` } });
  expect(gone.status()).toBe(404);
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("creates an S3 datasource with the plain form", async ({ page }) => {
    await login(page);
    await page.goto("/datasources/new?kind=S3Datasource");
    // A refused form comes back with the server's message next to its field.
    await page.getByLabel("Title").fill("No-JS bucket");
    await page.getByLabel(/Bucket/).fill("Not_A_Bucket");
    await page.getByRole("button", { name: "Create datasource" }).click();
    await expect(page.locator("[data-field-error=bucket]")).toContainText("lowercase letters");
    await page.goto("/datasources/new?kind=S3Datasource");
    await page.getByLabel("Title").fill("No-JS bucket");
    await page.getByLabel(/Bucket/).fill("nojs-archive");
    await page.getByLabel(/Endpoint/).fill(S3);
    await page.getByLabel(/Archive/).check();
    await page.getByRole("button", { name: "Create datasource" }).click();
    await expect(page).toHaveURL(/\/datasources\/[0-9a-f]{32}$/);
    await expect(page.getByTestId("datasource-title")).toHaveText("No-JS bucket");
    await expect(page.locator("[data-field='Sync type']")).toContainText("arch");
  });
});

test("a Dropbox datasource waits for its tokens; a script's @refreshServiceCredentials queues it, live", async ({ page, request }) => {
  await login(page);
  await page.goto("/datasources/new?kind=DropboxDatasource");
  await hydrated(page);
  await expect(page.getByLabel("Access token")).toBeVisible();
  await expect(page.getByLabel("Refresh token")).toBeVisible();
  await expect(page.getByLabel("Client secret")).toHaveCount(0);
  await page.getByLabel("Title").fill("E2E Dropbox");
  await page.getByLabel(/^Folder/).fill("/Legal");
  await page.getByLabel(/App key/).fill("e2e-app-key");
  // A closed port on loopback: the spyder's attempts fail at once and reach no one.
  await page.getByLabel(/API endpoint/).fill("http://127.0.0.1:9");
  await page.getByRole("button", { name: "Create datasource" }).click();
  await expect(page).toHaveURL(/\/datasources\/[0-9a-f]{32}$/);
  await expect(page.locator("[data-setting=root]")).toHaveText("/Legal");
  const badge = page.locator("h1 + [data-status]");
  await expect(badge).toHaveAttribute("data-status", "created");
  await expect(page.locator("[data-field=Status]")).toContainText("@refreshServiceCredentials");
  const id = page.url().split("/").pop()!.split("?")[0];

  // As a script written for the seed sends it: JSON without a Content-Type.
  const token = await apiToken(request);
  const r = await request.post(`/api/datasources/${id}/@refreshServiceCredentials`, {
    headers: { Authorization: `Bearer ${token}` },
    data: Buffer.from(JSON.stringify({ "X-Auth-Secret": "e2e-refresh", Authorization: "Bearer e2e-access" })),
  });
  expect(r.status()).toBe(204);
  await expect(badge).not.toHaveAttribute("data-status", "created");

  // A Slack datasource (its form asks for the app's secret too), created without tokens: the
  // credentials form on its Settings tab brings them, and it is queued.
  await page.goto("/datasources/new?kind=SlackDatasource");
  await hydrated(page);
  await expect(page.getByLabel("Client secret")).toBeVisible();
  await page.getByLabel("Title").fill("E2E Slack");
  await page.getByLabel(/Channels/).fill("general, legal");
  await page.getByLabel(/API endpoint/).fill("http://127.0.0.1:9/api");
  await page.getByRole("button", { name: "Create datasource" }).click();
  await expect(page).toHaveURL(/\/datasources\/[0-9a-f]{32}$/);
  await expect(page.locator("[data-setting=channels]")).toHaveText("general, legal");
  await expect(badge).toHaveAttribute("data-status", "created");
  await page.getByRole("link", { name: "Edit", exact: true }).click();
  const creds = page.getByRole("form", { name: "Credentials" });
  await creds.getByLabel("Access token").fill("xoxb-e2e");
  await creds.getByRole("button", { name: "Save credentials" }).click();
  await expect(page.getByText("Credentials saved")).toBeVisible();
  await expect(badge).not.toHaveAttribute("data-status", "created");
  // Nothing of the token is shown anywhere.
  await expect(page.locator("body")).not.toContainText("xoxb-e2e");
});
