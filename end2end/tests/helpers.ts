import { expect, Page, APIRequestContext } from "@playwright/test";
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
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

/** Waits until the WebAssembly has taken over the page (before that, links and forms load pages
 * the plain way). */
export async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1, { timeout: 20_000 });
}

/** A bearer token for the REST API. */
export async function apiToken(request: APIRequestContext): Promise<string> {
  const r = await request.post("/api/@login", { data: { username: ADMIN_EMAIL, password: ADMIN_PASSWORD } });
  expect(r.status()).toBe(200);
  return (await r.json()).token;
}

/** A directory under the allowed folder root of the server on `dataDir` (the suite's server by
 * default). */
export function folderUnderRoot(name: string, dataDir: string = DATA_DIR): string {
  const p = path.join(dataDir, "folders", name);
  fs.mkdirSync(p, { recursive: true });
  return fs.realpathSync(p);
}

/** Adds resources to a datasource through the engine (the server binary's seed command). */
export function seedChildren(datasourceId: string, count: number) {
  execFileSync(SERVER_BIN, ["seed-children", datasourceId, "--count", String(count)], { env: process.env });
}

/** A small valid PDF whose page shows `text` (ASCII), as the engine's tests make them. */
export function samplePdf(text: string): Buffer {
  const esc = text.replace(/\\/g, "\\\\").replace(/\(/g, "\\(").replace(/\)/g, "\\)");
  const stream = `BT /F1 18 Tf 72 720 Td (${esc}) Tj ET`;
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
  ];
  let out = "%PDF-1.4\n";
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, "0")} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, "latin1");
}

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A zip of uncompressed entries (enough for an Office Open XML document). */
function storedZip(entries: [string, string][]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of entries) {
    const data = Buffer.from(text, "utf8");
    const nameBuf = Buffer.from(name, "utf8");
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    locals.push(local, nameBuf, data);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBuf.length, 28);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, nameBuf);
    offset += 30 + nameBuf.length + data.length;
  }
  const centralBuf = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralBuf.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, centralBuf, end]);
}

/** A minimal Word document with one paragraph of `text`. */
export function sampleDocx(text: string): Buffer {
  return storedZip([
    [
      "[Content_Types].xml",
      '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>',
    ],
    [
      "word/document.xml",
      `<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>${text}</w:t></w:r></w:p></w:body></w:document>`,
    ],
  ]);
}

/** The S3-compatible server scripts/test starts (moto). */
export const S3 = process.env.S3_ENDPOINT ?? "http://127.0.0.1:5010";

/** Fills a bucket through plain S3 PUTs (moto accepts them unsigned). `extra` adds named objects. */
export async function fillBucket(bucket: string, n: number, extra: Record<string, string> = {}) {
  const put = (key: string, body: string) =>
    fetch(`${S3}/${bucket}/${key}`, {
      method: "PUT",
      body,
      headers: { "Content-Type": "application/octet-stream" },
    }).then((r) => {
      if (!r.ok) throw new Error(`PUT ${key}: ${r.status}`);
    });
  const made = await fetch(`${S3}/${bucket}`, { method: "PUT" });
  expect(made.ok).toBeTruthy();
  const keys = Array.from({ length: n }, (_, i) => `docs/${String(i % 30).padStart(2, "0")}/item-${String(i).padStart(5, "0")}.txt`);
  for (let i = 0; i < keys.length; i += 16) {
    await Promise.all(keys.slice(i, i + 16).map((k) => put(k, `object ${k}\n`)));
  }
  for (const [k, body] of Object.entries(extra)) await put(k, body);
}

/** Logs in as someone else through the form. */
export async function loginAs(page: Page, email: string, password: string) {
  await page.goto("/login");
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/datasources$/);
}

/** Where the suite saves screenshots of the main pages (the README shows them). */
export function screenshotPath(name: string): string {
  const dir = path.join(__dirname, "..", "..", "docs", "screenshots");
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, `${name}.png`);
}

/** Presses Tab until `target` has the focus (at most `max` times), and checks the focus shows. */
export async function tabTo(page: Page, target: import("@playwright/test").Locator, max = 80) {
  for (let i = 0; i < max; i++) {
    if (await target.evaluate((el) => el === document.activeElement).catch(() => false)) {
      const shown = await target.evaluate((el) => {
        const s = getComputedStyle(el);
        return (s.outlineStyle !== "none" && s.outlineWidth !== "0px") || s.boxShadow !== "none";
      });
      expect(shown, "the focused control shows its focus").toBe(true);
      return;
    }
    await page.keyboard.press("Tab");
  }
  throw new Error(`Tab never reached ${target}`);
}

/** Creates an S3 datasource of `bucket` on the moto server through the New datasource form, with
 * access keys, and waits for its page. */
export async function createS3ThroughForm(page: Page, title: string, bucket: string) {
  await page.goto("/datasources/new?kind=S3Datasource");
  await hydrated(page);
  await page.getByLabel("Title").fill(title);
  await page.getByLabel(/Bucket/).fill(bucket);
  await page.getByLabel(/Endpoint/).fill(S3);
  await page.getByLabel(/Region/).fill("us-east-1");
  await page.getByLabel("Access key ID").fill("test-key");
  await page.getByLabel("Secret access key").fill("test-secret");
  await page.getByRole("button", { name: "Create datasource" }).click();
  await expect(page).toHaveURL(/\/datasources\/[0-9a-f]{32}$/);
}

/** A Tributary server of its own, started as a new user would start it. */
export interface OwnServer {
  baseURL: string;
  dataDir: string;
  /** The first admin account, as the server printed it on its first start. */
  admin: { email: string; password: string };
  stop(): Promise<void>;
}

/** Starts the release binary on a new, empty data directory (SQLite) and a port the system
 * picks, with no admin account configured: the server creates one and prints its generated
 * password once, which is read from its output. `env` adds settings. */
export async function startOwnServer(env: Record<string, string> = {}): Promise<OwnServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-own-"));
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env, TRIBUTARY_DATA_DIR: dataDir, TRIBUTARY_LISTEN: "127.0.0.1:0" };
  for (const k of ["DATABASE_URL", "TRIBUTARY_ADMIN_EMAIL", "TRIBUTARY_ADMIN_PASSWORD", "TRIBUTARY_FOLDER_ROOTS"]) delete childEnv[k];
  const child = spawn(SERVER_BIN, [], { env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(killer);
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    const addr = /listening on (http:\/\/[0-9.:]+)/.exec(output);
    const admin = /shown only this once\):\s+e-mail:\s+(\S+)\s+password:\s+(\S+)/.exec(output);
    if (addr && admin) {
      return { baseURL: addr[1], dataDir, admin: { email: admin[1], password: admin[2] }, stop };
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`the server did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
