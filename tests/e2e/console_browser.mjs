// Shared by the console flows: headless chromium (playwright-core from ohif/node_modules), signed in.
//
//   import { runConsole } from './console_browser.mjs';
//   await runConsole(options, async (page, report) => { ...steps, setting fields of report... });
//
// Options every flow gets from tests/e2e/console_support.py: consoleUrl, adminKey (null: the flow signs in
// itself), ohifDir, chromium, screenshot (a PNG path, written at the end of the steps, and also when a step
// fails), timeoutMs, and expectedStatuses (optional): statuses of admin API answers the flow provokes on purpose
// (422 for a profile that does not compile); chromium logs each as a console error, which is then not counted.
// Any other status that failed a load is counted, with its URL's path.
// The JSON report is printed on stdout whatever happens; `error` is null when every step passed.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

const STATUS_TEXT = { 400: '(Bad Request)', 403: '(Forbidden)', 404: '(Not Found)', 409: '(Conflict)', 422: '(Unprocessable Entity)' };

export async function runConsole(options, steps) {
  const { chromium } = createRequire(path.join(options.ohifDir, 'package.json'))('playwright-core');
  const timeout = options.timeoutMs ?? 30000;
  const report = { steps: [], error: null, console: [] };
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'console-chromium-'));
  let context;
  let page;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: options.chromium, headless: true, args: CHROMIUM_FLAGS, timeout,
      viewport: { width: 1280, height: 800 },
    });
    page = context.pages()[0] ?? await context.newPage();
    page.setDefaultTimeout(timeout);
    const expected = new Set(options.expectedStatuses ?? []);
    const expectedLoad = (text) => [...expected].some((status) => text ===
      `Failed to load resource: the server responded with a status of ${status} ${STATUS_TEXT[status] ?? ''}`.trim());
    page.on('console', (m) => {
      if (m.type() === 'error' && !expectedLoad(m.text())) report.console.push(m.text().slice(0, 300));
    });
    page.on('response', (r) => {
      if (r.status() >= 400 && !expected.has(r.status())) report.console.push(`${r.status()} ${new URL(r.url()).pathname}`);
    });
    await page.goto(options.consoleUrl);
    if (options.adminKey) {  // without a key, the flow signs in itself (OIDC)
      await page.fill('#key', options.adminKey);
      await page.click('#login button[type=submit]');
      await page.waitForFunction(() => document.querySelector('#login-status').textContent === 'signed in');
      report.steps.push('signed in');
    }
    await steps(page, report);
  } catch (error) {
    report.error = String(error).slice(0, 2000);
  } finally {
    if (page && options.screenshot) {
      fs.mkdirSync(path.dirname(options.screenshot), { recursive: true });
      await page.screenshot({ path: options.screenshot, fullPage: true }).catch(() => {});
    }
    if (context) await context.close().catch(() => {});
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(report));
  process.exit(report.error ? 1 : 0);
}

// Open a section by its tab, as a user would.
export async function openSection(page, id) {
  await page.click(`nav button[data-tab=${id}]`);
  await page.waitForFunction((s) => !document.getElementById(s).hidden, id);
}
