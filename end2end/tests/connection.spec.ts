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
