import { test, expect } from "@playwright/test";
import { login, hydrated } from "./helpers";

test("an admin adds a user, who can log in, then deactivates them", async ({ page, request, browser }) => {
  await login(page);
  await hydrated(page);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users" }).click();
  await expect(page.getByRole("heading", { name: "Users", exact: true })).toBeVisible();

  await page.getByLabel("E-mail").fill("erin@example.com");
  await page.getByLabel("Display name").fill("Erin");
  await page.getByLabel("Initial password").fill("erin-password");
  await page.getByRole("button", { name: "Add user" }).click();
  const row = page.locator("[data-testid=user-row][data-email='erin@example.com']");
  await expect(row).toContainText("member");
  await expect(row).toContainText("active");

  // Erin can log in and sees no Users link: she is not an admin.
  const ctx = await browser.newContext({ baseURL: test.info().project.use.baseURL });
  const erin = await ctx.newPage();
  await erin.goto("/login");
  await erin.getByLabel("E-mail").fill("erin@example.com");
  await erin.getByLabel("Password").fill("erin-password");
  await erin.getByRole("button", { name: "Log in" }).click();
  await expect(erin).toHaveURL(/\/datasources$/);
  await expect(erin.getByTestId("me")).toHaveText("erin@example.com");
  await expect(erin.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users" })).toHaveCount(0);
  await erin.goto("/users");
  await expect(erin.getByRole("alert")).toContainText("only administrators");

  // Deactivated, her session ends and she can no longer log in.
  await row.getByRole("button", { name: "Deactivate" }).click();
  await page.getByRole("dialog", { name: "Deactivate this account?" }).getByRole("button", { name: "Deactivate" }).click();
  await expect(row).toContainText("deactivated");
  await erin.goto("/datasources");
  await expect(erin).toHaveURL(/\/login/);
  const r = await request.post("/api/@login", { data: { username: "erin@example.com", password: "erin-password" } });
  expect(r.status()).toBe(401);
  await ctx.close();
});
