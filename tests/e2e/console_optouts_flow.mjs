// The console's Opt-outs section (tests/e2e/console_optouts_test.py), in two phases:
//
//   phase "optout": search the patient by a name prefix → pick it from the patients found → opt out (the studies
//                   covered are shown) → list the disclosures per scope → export the withdrawal CSV (its text,
//                   from the browser's download, is in the report)
//   phase "remove": search and pick again → withdraw the opt-out
//
// Options (besides the runner's): phase, query (what is typed in the search), patientId (the row to pick).

import fs from 'node:fs';
import { openSection, runConsole } from './console_browser.mjs';

const options = JSON.parse(process.argv[2]);

const rows = (page, selector) => page.evaluate((s) => [...document.querySelectorAll(`${s} tbody tr`)]
  .map((tr) => [...tr.children].map((td) => td.textContent)), selector);

async function findAndPick(page, report) {
  await page.fill('#optout-q', options.query);
  await page.press('#optout-q', 'Enter');  // the search is a form: Enter submits it
  await page.waitForFunction(() => document.querySelectorAll('#optout-patients tbody tr').length > 0);
  report.patients = await rows(page, '#optout-patients');
  await page.locator('#optout-patients tbody tr', { hasText: options.patientId }).locator('button.pick').click();
  report.picked = await page.evaluate(() => ({ id: document.querySelector('#optout-id').value,
    issuer: document.querySelector('#optout-issuer').value }));
  report.steps.push('searched and picked the patient');
}

async function optOut(page, report) {
  await page.click('#optout-add');
  await page.waitForFunction(() => document.querySelector('#optout-covered').textContent !== '');
  report.covered = await page.textContent('#optout-covered');
  report.feed = await rows(page, '#optout-feed');
  report.steps.push('opted out');
  await page.click('#optout-disclosures');
  await page.waitForFunction(() => document.querySelectorAll('#optout-disclosed tbody tr').length > 0
    || document.querySelector('#optout-status').textContent !== '');
  report.disclosed = await rows(page, '#optout-disclosed');
  report.identifierTables = await page.evaluate(() => [...document.querySelectorAll('#optout-identifiers table')]
    .map((t) => t.querySelector('caption').textContent));
  report.steps.push('listed the disclosures');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#optout-csv')]);
  report.csvName = download.suggestedFilename();
  report.csv = fs.readFileSync(await download.path(), 'utf8');
  report.steps.push('exported the CSV');
}

async function remove(page, report) {
  await page.evaluate(() => { document.querySelector('#optout-status').textContent = ''; });
  await page.click('#optout-remove');
  await page.waitForFunction(() => document.querySelector('#optout-status').textContent !== '');
  report.removed = await page.textContent('#optout-status');
  report.registry = await rows(page, '#optout-list');
  report.steps.push('withdrew the opt-out');
}

await runConsole(options, async (page, report) => {
  await openSection(page, 'optouts');
  await findAndPick(page, report);
  if (options.phase === 'optout') await optOut(page, report);
  else await remove(page, report);
  report.url = page.url();
  report.storage = await page.evaluate(() => ({ session: Object.keys(sessionStorage), local: localStorage.length }));
});
