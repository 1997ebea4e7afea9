// Drives the gateway's admin page in Debian's headless chromium (playwright-core).
//
//   node tests/e2e/admin_flow.mjs '<json options>'
//
// Options: adminUrl (the page), adminKey, role, search (a text that finds the instance's study), instance
// {StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID} (real UIDs, picked from the Preview's lists), badLine
// and goodLine (YAML appended to the role's text), keyword (the attribute whose row the edit changes), ohifDir
// (where node_modules/playwright-core lives), chromium,
// timeoutMs, withdrawal {PatientID, IssuerOfPatientID} (optional). Steps: sign in with the key → pick the role →
// preview the unedited rules → append the bad line and validate (the error shows in place) → append the good
// line instead and preview (the row changes) → save → with `withdrawal`, the opt-out's withdrawal status.
// Prints a JSON report on stdout (written even when a step fails; the exit code is 1 then); pytest asserts.

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
const timeout = options.timeoutMs ?? 30000;
const report = { steps: [], error: null, original: null, before: null, validationError: null, after: null,
  saveStatus: null, storedKey: null, withdrawals: null, console: [] };

async function previewRow(page) {
  await page.click('nav button[data-tab=preview]');
  await page.click('#preview-run');
  await page.waitForFunction(() => /changed|withheld|failed|not found/.test(
    document.querySelector('#preview-status').textContent));
  return page.evaluate((keyword) => {
    for (const tr of document.querySelectorAll('#diff tbody tr')) {
      const cells = [...tr.children].map((td) => td.textContent);
      if (cells[1] === keyword) return { before: cells[2], after: cells[3], change: tr.className || 'kept' };
    }
    return null;
  }, options.keyword);
}

async function clearStatus(page, selector) {
  await page.evaluate((s) => { document.querySelector(s).textContent = ''; }, selector);
}

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'admin-chromium-'));
let context;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: options.chromium, headless: true, args: CHROMIUM_FLAGS, timeout,
  });
  const page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(timeout);
  page.on('console', (m) => { if (m.type() === 'error') report.console.push(m.text().slice(0, 300)); });

  await page.goto(options.adminUrl);
  await page.fill('#key', options.adminKey);
  await page.click('#login button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#login-status').textContent === 'signed in');
  report.storedKey = await page.evaluate(() => sessionStorage.getItem('adminToken') !== null);
  report.steps.push('signed in');

  await page.click('nav button[data-tab=rules]');  // the console opens on the Overview
  await page.selectOption('#role', options.role);
  await page.waitForFunction((role) => document.querySelector('#role-info').textContent.includes('version')
    && document.querySelector('#role').value === role, options.role);
  report.original = await page.inputValue('#profile');
  await page.click('nav button[data-tab=preview]');
  // The console's pickers (issue 18): search the origin, then pick the study, series and instance from lists.
  const listed = (id) => page.waitForFunction((i) => document.getElementById(i).options.length > 1, id);
  await page.fill('#preview-q', options.search);
  await page.click('#preview-search');
  await listed('preview-study');
  await page.selectOption('#preview-study', options.instance.StudyInstanceUID);
  await listed('preview-series');
  await page.selectOption('#preview-series', options.instance.SeriesInstanceUID);
  await listed('preview-instance');
  await page.selectOption('#preview-instance', options.instance.SOPInstanceUID);
  report.before = await previewRow(page);
  report.steps.push('previewed');

  await page.click('nav button[data-tab=rules]');
  await page.fill('#profile', report.original + options.badLine);
  await page.click('#validate');
  await page.waitForFunction(() => document.querySelector('#profile-error').textContent !== '');
  report.validationError = await page.textContent('#profile-error');
  report.steps.push('validation error shown');

  await page.click('nav button[data-tab=rules]');
  await page.fill('#profile', report.original + options.goodLine);
  await clearStatus(page, '#preview-status');
  report.after = await previewRow(page);
  report.steps.push('previewed the edit');

  await page.click('nav button[data-tab=rules]');
  await clearStatus(page, '#save-status');
  await clearStatus(page, '#profile-error');
  await page.click('#save');
  await page.waitForFunction(() => document.querySelector('#save-status').textContent.startsWith('saved')
    || document.querySelector('#profile-error').textContent !== '');
  report.saveStatus = await page.textContent('#save-status');
  report.steps.push('saved');

  if (options.withdrawal) {
    await page.click('nav button[data-tab=optouts]');
    await page.fill('#optout-id', options.withdrawal.PatientID);
    await page.fill('#optout-issuer', options.withdrawal.IssuerOfPatientID);
    await clearStatus(page, '#optout-status');
    await page.click('#optout-loop');
    await page.waitForFunction(() => document.querySelectorAll('#optout-withdrawals tbody tr').length > 0
      || document.querySelector('#optout-status').textContent !== '');
    report.withdrawals = await page.evaluate(() => [...document.querySelectorAll('#optout-withdrawals tbody tr')]
      .map((tr) => ({ cells: [...tr.children].map((td) => td.textContent), pending: tr.className === 'pending' })));
    report.steps.push('withdrawal status shown');
  }
} catch (error) {
  report.error = String(error).slice(0, 2000);
} finally {
  if (context) await context.close().catch(() => {});
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(report));
process.exit(report.error ? 1 : 0);
