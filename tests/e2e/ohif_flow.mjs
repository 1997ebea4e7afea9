// Drives the real OHIF v3 viewer in Debian's headless chromium (playwright-core) through the gateway.
//
//   node tests/e2e/ohif_flow.mjs '<json options>'
//
// Options: viewerUrl, gatewayUrl (the DICOMweb root whose response bodies are kept), ohifDir (where
// node_modules/playwright-core lives), artifactsDir (screenshots), bodiesDir, reportPath, modality (the study
// to open: the first row of the study list whose Modalities cell is exactly this text), timeoutMs, chromium.
//
// Steps: study list (waits for a pseudonymous patient row) → select the study → "Basic Viewer" → wait until
// the cornerstone canvas shows non-blank pixels and the network is quiet. Every response the browser gets is
// recorded (URL, method, status, headers; body bytes into bodiesDir for the gateway's URLs), with every
// failed request and console error. The report is written even when a step fails; the exit code is 1 then.
// pytest (tests/e2e/test_ohif.py) makes the assertions.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const options = JSON.parse(process.argv[2]);
const { chromium } = createRequire(path.join(options.ohifDir, 'package.json'))('playwright-core');
const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const timeoutMs = options.timeoutMs ?? 60000;

const report = {
  steps: [], error: null, responses: [], failures: [], console: [],
  studyListText: '', viewerText: '', canvas: null, screenshots: [],
};
const step = (name) => { report.steps.push({ name, atMs: Date.now() - started }); };
const started = Date.now();
const pendingBodies = [];
let inflight = 0;
let bodies = 0;
let lastNetworkEvent = Date.now();

function track(page) {
  page.on('request', () => { inflight += 1; lastNetworkEvent = Date.now(); });
  const done = () => { inflight = Math.max(0, inflight - 1); lastNetworkEvent = Date.now(); };
  page.on('requestfinished', done);
  page.on('requestfailed', (request) => {
    done();
    report.failures.push({ url: request.url(), method: request.method(), error: request.failure()?.errorText });
  });
  page.on('response', (response) => pendingBodies.push(record(response)));
  page.on('console', (message) => {
    if (message.type() === 'error') report.console.push(message.text().slice(0, 500));
  });
  page.on('pageerror', (error) => report.console.push(`pageerror: ${String(error).slice(0, 500)}`));
}

async function record(response) {
  const request = response.request();
  const entry = {
    url: response.url(), method: request.method(), status: response.status(),
    headers: await response.allHeaders().catch(() => ({})),
    authorization: (await request.allHeaders().catch(() => ({}))).authorization ?? null,
    bodyFile: null, bodyError: null,
  };
  report.responses.push(entry);
  if (!entry.url.startsWith(options.gatewayUrl)) return;
  try {
    const body = await response.body();
    bodies += 1;
    entry.bodyFile = path.join(options.bodiesDir, `${String(bodies).padStart(4, '0')}.bin`);
    fs.writeFileSync(entry.bodyFile, body);
  } catch (error) {
    entry.bodyError = String(error).slice(0, 300);
  }
}

/** Resolves once no request has been in flight for `quietMs` (at most `capMs`; not an error when it runs out). */
async function networkQuiet(quietMs = 1500, capMs = 30000) {
  const deadline = Date.now() + capMs;
  while (Date.now() < deadline) {
    if (inflight === 0 && Date.now() - lastNetworkEvent >= quietMs) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/** A fresh profile shows OHIF's onboarding tour over the viewport. */
async function skipTour(page) {
  const skip = page.getByText('Skip all', { exact: true });
  if (await skip.isVisible().catch(() => false)) await skip.click().catch(() => {});
}

/** How many pixels of the largest cornerstone canvas are not black. */
function canvasPixels() {
  const canvases = [...document.querySelectorAll('canvas.cornerstone-canvas')];
  const canvas = canvases.sort((a, b) => b.width * b.height - a.width * a.height)[0];
  if (!canvas || !canvas.width || !canvas.height) return null;
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let nonBlack = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i] || data[i + 1] || data[i + 2]) nonBlack += 1;
  return { width: canvas.width, height: canvas.height, nonBlack, fraction: nonBlack / (canvas.width * canvas.height) };
}

async function screenshot(page, name) {
  const file = path.join(options.artifactsDir, name);
  await page.screenshot({ path: file });
  report.screenshots.push(file);
}

async function flow(page) {
  step('open study list');
  await page.goto(`${options.viewerUrl}/`, { waitUntil: 'load' });
  const rows = page.locator('tbody tr');
  await rows.filter({ hasText: /RID-/ }).first().waitFor({ timeout: timeoutMs });
  await networkQuiet();
  await skipTour(page);
  report.studyListText = await page.locator('body').innerText();
  await screenshot(page, 'study-list.png');

  step(`select the first ${options.modality} study`);
  const modality = new RegExp(`^${options.modality.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  await rows.filter({ has: page.locator('td', { hasText: modality }) }).first().click();
  await page.getByRole('button', { name: 'Basic Viewer' }).click({ timeout: timeoutMs });
  await page.waitForURL(/\/viewer\?/, { timeout: timeoutMs });

  step('wait for the image');
  await page.waitForFunction(`(${canvasPixels})()?.fraction > 0.01`, null, { timeout: timeoutMs, polling: 250 });
  await skipTour(page);
  await networkQuiet();
  await skipTour(page);
  report.canvas = await page.evaluate(canvasPixels);
  report.viewerText = await page.locator('body').innerText();
  await screenshot(page, 'viewer.png');
  step('done');
}

fs.mkdirSync(options.artifactsDir, { recursive: true });
fs.mkdirSync(options.bodiesDir, { recursive: true });
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ohif-e2e-chromium-'));
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: options.chromium ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1400, height: 900 },
    timeout: timeoutMs,
  });
  context.setDefaultTimeout(timeoutMs);
  const page = context.pages()[0] ?? (await context.newPage());
  track(page);
  try {
    await flow(page);
  } catch (error) {
    report.error = `${report.steps.at(-1)?.name ?? 'launch'}: ${String(error).slice(0, 2000)}`;
    report.failureText = await page.locator('body').innerText({ timeout: 5000 }).catch(() => '');
    await screenshot(page, 'failure.png').catch(() => {});
  }
} catch (error) {
  report.error = `launch: ${String(error).slice(0, 2000)}`;
} finally {
  await Promise.allSettled(pendingBodies);
  await context?.close().catch(() => {});
  fs.rmSync(profile, { recursive: true, force: true });
  report.elapsedMs = Date.now() - started;
  fs.writeFileSync(options.reportPath, JSON.stringify(report, null, 1));
}
process.exit(report.error ? 1 : 0);
