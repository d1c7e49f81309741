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
    // Inviting the same person again comes back refused, in place, and adds nothing.
    await page.getByLabel("E-mail").fill(email);
    await page.getByRole("button", { name: "Send invitation" }).click();
    await expect(page.getByRole("alert").first()).toBeVisible();
    await expect(page.getByTestId("invitation-row")).toHaveCount(1);

    const ctx = await browser.newContext({ baseURL: test.info().project.use.baseURL, javaScriptEnabled: false });
    const invitee = await ctx.newPage();
    await loginAs(invitee, email, "nojs-password");
    await invitee.goto("/invitations");
    await expect(invitee.getByTestId("my-invitation")).toHaveCount(1);
    await invitee.getByRole("button", { name: "Accept" }).click();
    await invitee.goto(`/datasources/${id}`);
    await expect(invitee.getByTestId("my-role")).toHaveText("Your role: editor");
    await expect(invitee.locator("body[data-hydrated]")).toHaveCount(0);
    await ctx.close();
  });
});
