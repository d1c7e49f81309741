import { test, expect } from "@playwright/test";
import { login, loginAs, apiToken, S3 } from "./helpers";

// The forms-only flows work with JavaScript off: every page is rendered on the server and
// every form posts to its server function, which answers with a redirect back. (Login and
// creating a datasource are covered in foundation.spec.ts and datasources.spec.ts.)
test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("an owner invites with the plain form; the invitee accepts with the plain form", async ({ page, request, browser }) => {
    const token = await apiToken(request);
    const auth = { Authorization: `Bearer ${token}` };
    const email = `nojs-${Date.now()}@example.com`;
    expect((await request.post("/api/users", { headers: auth, data: { email, password: "nojs-password" } })).status()).toBe(201);
    const ds = await request.post("/api/datasources", {
      headers: auth,
      data: { "@type": "S3Datasource", title: `No-JS shared ${email}`, bucket: "nojs-shared", type_sync: "arch", endpoint: S3 },
    });
    const id = (await ds.json()).id as string;

    await login(page);
    await page.goto(`/datasources/${id}?tab=sharing`);
    await page.getByLabel("E-mail").fill(email);
    await page.getByLabel("Role", { exact: true }).selectOption("editor");
    await page.getByRole("button", { name: "Send invitation" }).click();
    await expect(page.locator(`[data-testid=invitation-row][data-email='${email}']`)).toContainText("editor");
    // The server says what the form did, as the app's toast would have, and only once.
    await expect(page.locator("[data-toast=success]")).toHaveText(new RegExp(`Invitation sent to ${email}`));
    await page.reload();
    await expect(page.locator(`[data-testid=invitation-row][data-email='${email}']`)).toBeVisible();
    await expect(page.locator("[data-toast]")).toHaveCount(0);
    // Inviting the same person again comes back refused, in place, and adds nothing.
    await page.getByLabel("E-mail").fill(email);
    await page.getByRole("button", { name: "Send invitation" }).click();
    await expect(page.getByRole("alert").first()).toBeVisible();
    await expect(page.locator("[data-toast]")).toHaveCount(0);
    await expect(page.getByTestId("invitation-row")).toHaveCount(1);

    const ctx = await browser.newContext({ baseURL: test.info().project.use.baseURL, javaScriptEnabled: false });
    const invitee = await ctx.newPage();
    await loginAs(invitee, email, "nojs-password");
    await invitee.goto("/invitations");
    await expect(invitee.getByTestId("my-invitation")).toHaveCount(1);
    await invitee.getByRole("button", { name: "Accept" }).click();
    await expect(invitee.locator("[data-toast=success]")).toContainText("Invitation accepted");
    await invitee.goto(`/datasources/${id}`);
    await expect(invitee.getByTestId("my-role")).toHaveText("Your role: editor");
    await expect(invitee.locator("body[data-hydrated]")).toHaveCount(0);
    await ctx.close();
  });

  test("bulk actions post the checked rows and show a result for each", async ({ page, request }) => {
    const token = await apiToken(request);
    const auth = { Authorization: `Bearer ${token}` };
    const tag = `nojs-bulk-${Date.now()}`;
    for (const n of [1, 2, 3]) {
      const r = await request.post("/api/datasources", {
        headers: auth,
        data: { "@type": "S3Datasource", title: `${tag} ${n}`, bucket: `${tag}-${n}`, type_sync: "arch", endpoint: S3 },
      });
      expect(r.status()).toBe(201);
    }
    await login(page);
    await page.goto(`/datasources?q=${tag}&sort=title`);
    await expect(page.getByTestId("datasource-row")).toHaveCount(3);

    // Nothing checked: refused, and said so.
    await page.getByRole("button", { name: "Pause" }).click();
    await expect(page.locator("[data-toast=failure]")).toContainText("Select the datasources");
    await expect(page.getByTestId("bulk-results")).toHaveCount(0);

    await page.getByLabel(`Select ${tag} 1`).check();
    await page.getByLabel(`Select ${tag} 3`).check();
    await page.getByRole("button", { name: "Pause" }).click();
    await expect(page).toHaveURL(new RegExp(`q=${tag}`));
    const results = page.getByTestId("bulk-result");
    await expect(results).toHaveCount(2);
    await expect(results.nth(0)).toContainText(`${tag} 1`);
    await expect(results.nth(1)).toContainText(`${tag} 3`);
    await expect(results.nth(0)).toContainText("now paused");
    await expect(page.locator("[data-toast=success]")).toContainText("Paused 2 of 2 datasources");
    const status = (n: number) => page.locator(`[data-testid=datasource-row]:has-text("${tag} ${n}") [data-status]`).first();
    await expect(status(1)).toHaveAttribute("data-status", "paused");
    await expect(status(2)).not.toHaveAttribute("data-status", "paused");
    await expect(status(3)).toHaveAttribute("data-status", "paused");
    // Shown once: the next load of the list has no results and no toast.
    await page.reload();
    await expect(page.getByTestId("bulk-results")).toHaveCount(0);
    await expect(page.locator("[data-toast]")).toHaveCount(0);
  });

  test("a personal token made with the plain form shows its secret once, and it works", async ({ page, request }) => {
    await login(page);
    await page.goto("/account");
    const name = `nojs-token-${Date.now()}`;
    await page.getByLabel("Token name").fill(name);
    await page.getByRole("button", { name: "Create token" }).click();
    await expect(page.getByTestId("new-token")).toContainText(name);
    const secret = (await page.getByTestId("new-token-secret").textContent())!.trim();
    expect(secret).toMatch(/^trb_/);
    await expect(page.locator(`[data-testid=token-row][data-name='${name}']`)).toHaveCount(1);
    const me = await request.get("/api/datasources", { headers: { Authorization: `Bearer ${secret}` } });
    expect(me.status()).toBe(200);
    await page.reload();
    await expect(page.getByTestId("new-token")).toHaveCount(0);
    await expect(page.locator(`[data-testid=token-row][data-name='${name}']`)).toHaveCount(1);
    // Revoked with the plain form (no dialog without JavaScript: the button submits).
    await page.getByRole("button", { name: `Revoke ${name}` }).click();
    await expect(page.locator("[data-toast=success]")).toContainText("Token revoked");
    await expect(page.locator(`[data-testid=token-row][data-name='${name}']`)).toHaveCount(0);
    expect((await request.get("/api/datasources", { headers: { Authorization: `Bearer ${secret}` } })).status()).toBe(401);
  });
});
