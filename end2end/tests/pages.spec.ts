import { test, expect } from "@playwright/test";
import { login, loginAs, hydrated, apiToken, ADMIN_EMAIL, ADMIN_PASSWORD } from "./helpers";

// The page controller: every page is rendered on the server; in the browser, links, forms and
// Back/Forward fetch the next page and swap it in, without a reload.

test("links, Back and Forward change pages without a reload; the focus moves to the new page's heading", async ({ page }) => {
  await login(page);
  await hydrated(page);
  await page.evaluate(() => ((window as any).__noReload = true));
  const pages: string[] = [];
  page.on("request", (r) => {
    if (r.resourceType() === "fetch" && !r.url().includes("/api/")) pages.push(new URL(r.url()).pathname);
  });

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "New datasource" }).click();
  await expect(page).toHaveURL(/\/datasources\/new$/);
  await expect(page).toHaveTitle("New datasource · Tributary");
  await expect(page.getByRole("heading", { name: "New datasource", level: 1 })).toBeFocused();
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "New datasource" })).toHaveAttribute(
    "aria-current",
    "page",
  );

  await page.goBack();
  await expect(page).toHaveURL(/\/datasources$/);
  await expect(page.getByRole("heading", { name: "Datasources", exact: true })).toBeVisible();
  await expect(page).toHaveTitle("Datasources · Tributary");
  await page.goForward();
  await expect(page.getByRole("heading", { name: "New datasource", level: 1 })).toBeVisible();

  // A link to a place on the page is the browser's: Back from it fetches nothing.
  await page.goBack();
  await expect(page.getByRole("heading", { name: "Datasources", exact: true })).toBeVisible();
  const before = pages.length;
  await page.getByRole("link", { name: "Skip to content" }).focus();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/#main$/);
  await page.goBack();
  await expect(page).toHaveURL(/\/datasources$/);
  await page.waitForTimeout(300);
  expect(pages.slice(before)).toEqual([]);

  expect(pages).toContain("/datasources/new");
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
});

test("a refused form keeps what was typed, says why next to the field and in a toast, and focuses it", async ({ page }) => {
  await login(page);
  await page.goto("/datasources/new?kind=FolderDatasource");
  await hydrated(page);
  await page.getByLabel("Title").fill("Refused folder");
  await page.getByLabel(/Folder path/).fill("/etc");
  await page.getByRole("button", { name: "Create datasource" }).click();
  await expect(page.locator("[data-field-error=path]")).toContainText("outside the allowed folder roots");
  await expect(page.locator("[data-toast=failure]")).toContainText("outside the allowed folder roots");
  await expect(page.getByLabel("Title")).toHaveValue("Refused folder");
  await expect(page.getByLabel(/Folder path/)).toHaveValue("/etc");
  await expect(page.getByLabel(/Folder path/)).toBeFocused();
  // The address stays the page's own (the refusal is not in it), and nothing was created.
  await expect(page).toHaveURL(/\/datasources\/new\?kind=FolderDatasource$/);
  await page.goto("/datasources?q=Refused+folder");
  await expect(page.getByTestId("no-match")).toBeVisible();
});

test("a bar shows while a page is on its way; when the server cannot be reached the page stays and says why", async ({ page }) => {
  await login(page);
  await hydrated(page);
  await page.evaluate(() => ((window as any).__noReload = true));

  // A slow page: the loading bar, and the page busy, until it arrives.
  await page.route("**/users", async (route) => {
    await new Promise((r) => setTimeout(r, 1200));
    await route.continue();
  });
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users" }).click();
  await expect(page.getByRole("progressbar", { name: "Loading" })).toBeVisible();
  await expect(page.locator("#page[aria-busy=true]")).toHaveCount(1);
  await expect(page.getByRole("heading", { name: "Users", exact: true })).toBeVisible();
  await expect(page.getByRole("progressbar", { name: "Loading" })).toHaveCount(0);
  await expect(page.locator("#page[aria-busy]")).toHaveCount(0);

  // A page that cannot be reached: this one stays, and a toast says so.
  await page.route("**/account", (route) => route.abort("connectionrefused"));
  await page.getByTestId("me").click();
  await expect(page.locator("[data-toast=failure]")).toContainText("could not be reached");
  await expect(page.getByRole("heading", { name: "Users", exact: true })).toBeVisible();
  await expect(page).toHaveURL(/\/users$/);

  // A form whose answer cannot arrive: what was typed stays, and it can be sent again.
  await page.route("**/rpc/create_user", (route) => route.abort("connectionrefused"));
  await page.getByLabel("E-mail").fill("unreachable@example.com");
  await page.getByLabel("Initial password").fill("a-long-password");
  await page.getByRole("button", { name: "Add user" }).click();
  await expect(page.locator("[data-toast=failure]").last()).toContainText("could not be reached");
  await expect(page.getByLabel("E-mail")).toHaveValue("unreachable@example.com");
  await expect(page.getByRole("button", { name: "Add user" })).toBeEnabled();
  await page.unroute("**/rpc/create_user");
  await page.getByRole("button", { name: "Add user" }).click();
  await expect(page.locator("[data-testid=user-row][data-email='unreachable@example.com']")).toBeVisible();
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
});

test("logging out and in as someone else swaps the page, and the live stream follows the new user", async ({ page, request }) => {
  const auth = { Authorization: `Bearer ${await apiToken(request)}` };
  const stamp = Date.now();
  const email = `switch-${stamp}@example.com`;
  expect((await request.post("/api/users", { headers: auth, data: { email, password: "switch-password" } })).status()).toBe(201);

  await login(page);
  await hydrated(page);
  await page.evaluate(() => ((window as any).__noReload = true));
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole("button", { name: "Log in" })).toBeVisible();
  // The login page that was swapped in, not a new load.
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill("switch-password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/datasources$/);
  await expect(page.getByTestId("me")).toHaveText(email);
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);

  // The new user's datasource, made and paused through the API, shows up live on their list.
  const theirs = {
    Authorization: `Bearer ${(await (await request.post("/api/@login", { data: { username: email, password: "switch-password" } })).json()).token}`,
  };
  const made = await request.post("/api/datasources", {
    headers: theirs,
    data: { "@type": "S3Datasource", title: `Switched ${stamp}`, bucket: "switched", type_sync: "arch", endpoint: "http://127.0.0.1:9" },
  });
  expect(made.status()).toBe(201);
  const id = (await made.json()).id;
  await request.post("/api/datasources/@bulk", { headers: theirs, data: { action: "pause", ids: [id] } });
  await expect(page.getByRole("row", { name: new RegExp(`Switched ${stamp}`) }).locator("[data-status]")).toHaveAttribute(
    "data-status",
    "paused",
  );
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);

  // The admin's own page shows nothing of it.
  await page.getByRole("button", { name: "Log out" }).click();
  await loginAs(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  await page.goto(`/datasources?q=Switched+${stamp}`);
  await expect(page.getByTestId("no-match")).toBeVisible();
});

test("the invitations page follows invitations made and revoked elsewhere, without a reload", async ({ page, request }) => {
  const auth = { Authorization: `Bearer ${await apiToken(request)}` };
  const stamp = Date.now();
  const email = `invitee-${stamp}@example.com`;
  expect((await request.post("/api/users", { headers: auth, data: { email, password: "invitee-password" } })).status()).toBe(201);
  const ds = await request.post("/api/datasources", {
    headers: auth,
    data: { "@type": "S3Datasource", title: `Offered ${stamp}`, bucket: "offered", type_sync: "arch", endpoint: "http://127.0.0.1:9" },
  });
  const id = (await ds.json()).id;

  await loginAs(page, email, "invitee-password");
  await page.goto("/invitations");
  await hydrated(page);
  await page.evaluate(() => ((window as any).__noReload = true));
  await expect(page.getByTestId("no-invitations")).toBeVisible();

  const invited = await request.post(`/api/datasources/${id}/@invite`, { headers: auth, data: { email, role: "viewer" } });
  expect(invited.status()).toBe(201);
  const invitation = (await invited.json()).id;
  await expect(page.locator(`[data-testid=my-invitation][data-title='Offered ${stamp}']`)).toBeVisible();
  await expect(page.getByTestId("invitation-count")).toHaveText("1");

  expect((await request.delete(`/api/datasources/${id}/@invite/${invitation}`, { headers: auth })).status()).toBe(204);
  await expect(page.getByTestId("no-invitations")).toBeVisible();
  await expect(page.getByTestId("invitation-count")).toHaveCount(0);
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
});
