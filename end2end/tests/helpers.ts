import { expect, Page, APIRequestContext } from "@playwright/test";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

export const ADMIN_EMAIL = process.env.TRIBUTARY_ADMIN_EMAIL ?? "admin@example.com";
export const ADMIN_PASSWORD = process.env.TRIBUTARY_ADMIN_PASSWORD ?? "admin-password";
export const DATA_DIR = process.env.TRIBUTARY_DATA_DIR ?? "";
export const SERVER_BIN = process.env.TRIBUTARY_BIN ?? "";

/** Logs in through the form, as a person would. */
export async function login(page: Page) {
  await page.goto("/login");
  await page.getByLabel("E-mail").fill(ADMIN_EMAIL);
  await page.getByLabel("Password").fill(ADMIN_PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/datasources$/);
}

/** Waits until the WebAssembly has hydrated the page (clicks before that do nothing). */
export async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1, { timeout: 20_000 });
}

/** A bearer token for the REST API. */
export async function apiToken(request: APIRequestContext): Promise<string> {
  const r = await request.post("/api/@login", { data: { username: ADMIN_EMAIL, password: ADMIN_PASSWORD } });
  expect(r.status()).toBe(200);
  return (await r.json()).token;
}

/** A directory under the server's allowed folder root. */
export function folderUnderRoot(name: string): string {
  const p = path.join(DATA_DIR, "folders", name);
  fs.mkdirSync(p, { recursive: true });
  return fs.realpathSync(p);
}

/** Adds resources to a datasource through the engine (the server binary's seed command). */
export function seedChildren(datasourceId: string, count: number) {
  execFileSync(SERVER_BIN, ["seed-children", datasourceId, "--count", String(count)], { env: process.env });
}
