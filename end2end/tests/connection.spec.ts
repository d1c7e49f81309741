import { test, expect } from "@playwright/test";
import { login, hydrated, apiToken } from "./helpers";

// Errors never blank a page: a lost connection shows a banner, and when the server is back the
// page catches up and live updates resume, without a reload.
test("a lost connection shows a banner; when it returns the list catches up and stays live", async ({ page, request }) => {
  const token = await apiToken(request);
  const auth = { Authorization: `Bearer ${token}` };
  const stamp = Date.now();
  await login(page);
  // The live stream comes up, then the connection drops and every reconnection attempt fails
  // (as when the network or the server goes down). The browser's side is the app's real
  // EventSource; only the network under it is simulated.
  let calls = 0;
  await page.route("**/api/@events", async (route) => {
    calls += 1;
    if (calls === 1) {
      await route.fulfill({
        status: 200,
        headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
        body: "retry: 500\nevent: ready\ndata: {}\n\n",
      });
    } else {
      await route.abort("connectionrefused");
    }
  });
  await page.goto(`/datasources?q=Offline+${stamp}`);
  await hydrated(page);
  await page.evaluate(() => ((window as any).__noReload = true));
  await expect(page.getByTestId("no-match")).toBeVisible();
  await expect(page.getByTestId("connection-lost")).toBeVisible({ timeout: 15_000 });
  await expect(page.getByTestId("connection-lost")).toContainText("Reconnecting");
  // Meanwhile a datasource is created elsewhere.
  const made = await request.post("/api/datasources", {
    headers: auth,
    data: { "@type": "S3Datasource", title: `Offline ${stamp} one`, bucket: "offline-bucket", type_sync: "arch", endpoint: "http://127.0.0.1:9" },
  });
  expect(made.status()).toBe(201);

  // Back: the stream reconnects, the banner goes, the page refetches what it missed.
  await page.unroute("**/api/@events");
  await expect(page.getByTestId("connection-lost")).toHaveCount(0, { timeout: 20_000 });
  await expect(page.getByRole("link", { name: `Offline ${stamp} one` })).toBeVisible({ timeout: 10_000 });

  // And it is live again: a change made now shows up by itself.
  const id = (await made.json()).id;
  const paused = await request.post("/api/datasources/@bulk", { headers: auth, data: { action: "pause", ids: [id] } });
  expect(paused.status()).toBe(200);
  await expect(page.getByRole("row", { name: new RegExp(`Offline ${stamp} one`) }).locator("[data-status]")).toHaveAttribute(
    "data-status",
    "paused",
  );
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
});

// A change made between the page's rendering and its live stream opening is not lost: once the
// stream is up, the page refetches what it shows.
test("a change made before the live stream opens shows once it is up", async ({ page, request }) => {
  const token = await apiToken(request);
  const auth = { Authorization: `Bearer ${token}` };
  const stamp = Date.now();
  const made = await request.post("/api/datasources", {
    headers: auth,
    data: { "@type": "S3Datasource", title: `Early ${stamp}`, bucket: "early-bucket", type_sync: "arch", endpoint: "http://127.0.0.1:9" },
  });
  expect(made.status()).toBe(201);
  const id = (await made.json()).id;
  // Paused: nothing on the page is busy, so no polling could bring the change either.
  const paused = await request.post("/api/datasources/@bulk", { headers: auth, data: { action: "pause", ids: [id] } });
  expect(paused.status()).toBe(200);
  expect((await paused.json()).items[0].sync_status).toBe("paused");

  await login(page);
  // The stream's request is held until the change has been made.
  let release: () => void = () => {};
  const held = new Promise<void>((r) => (release = r));
  await page.route("**/api/@events", async (route) => {
    await held;
    await route.continue();
  });
  await page.goto(`/datasources?q=Early+${stamp}`);
  await hydrated(page);
  await expect(page.getByRole("link", { name: `Early ${stamp}`, exact: true })).toBeVisible();
  const renamed = await request.patch(`/api/datasources/${id}`, { headers: auth, data: { title: `Early ${stamp} renamed` } });
  expect(renamed.status()).toBe(200);
  await page.waitForTimeout(1000);
  await expect(page.getByRole("link", { name: `Early ${stamp}`, exact: true })).toBeVisible();

  release();
  await expect(page.getByRole("link", { name: `Early ${stamp} renamed` })).toBeVisible({ timeout: 10_000 });
});
