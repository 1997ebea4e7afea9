// The console's Ledger section (tests/e2e/console_ledger_test.py), in two phases:
//
//   phase "filter": filter by role, by role and scope, by scope, by a study, by a patient (rows as shown in
//                   the report) → export CSV and JSON → verify the chain (intact)
//   phase "broken": (the test has edited an entry in the store) filter by role → verify: the broken link is
//                   named, and its row highlighted
//
// Options (besides the runner's): phase, study (a StudyInstanceUID to filter by), patient (a real PatientID).

import fs from 'node:fs';
import { openSection, runConsole } from './console_browser.mjs';

const options = JSON.parse(process.argv[2]);

const shown = (page) => page.evaluate(() => [...document.querySelectorAll('#ledger-list tbody tr')]
  .map((tr) => ({ cells: [...tr.children].map((td) => td.textContent), broken: tr.classList.contains('broken') })));

async function search(page, filters) {
  for (const [name, value] of Object.entries({ role: '', scope: '', action: '', study: '', patient: '', ...filters })) {
    const selector = `#ledger-${name}`;
    if (await page.evaluate((s) => document.querySelector(s).tagName, selector) === 'SELECT') {
      await page.selectOption(selector, value);
    } else await page.fill(selector, value);
  }
  await page.evaluate(() => { document.querySelector('#ledger-status').textContent = ''; });
  await page.click('#ledger-search');
  await page.waitForFunction(() => document.querySelector('#ledger-status').textContent !== '');
  return shown(page);
}

async function verify(page) {
  await page.evaluate(() => { document.querySelector('#ledger-verdict').textContent = ''; });
  await page.click('#ledger-verify');
  await page.waitForFunction(() => document.querySelector('#ledger-verdict').textContent !== '');
  return page.evaluate(() => ({ text: document.querySelector('#ledger-verdict').textContent,
    cls: document.querySelector('#ledger-verdict').className }));
}

await runConsole(options, async (page, report) => {
  await openSection(page, 'ledger');
  // The role choices are filled from the roles list once the section has loaded: wait for them.
  await page.waitForFunction(() => document.querySelectorAll('#ledger-role option').length > 1);
  report.roles = await page.evaluate(() => [...document.querySelectorAll('#ledger-role option')].map((o) => o.value));
  if (options.phase === 'filter') {
    report.researcher = await search(page, { role: 'researcher' });
    report.researcherScope = await search(page, { role: 'researcher', scope: 'researcher' });
    report.external = await search(page, { scope: 'external' });
    report.study = await search(page, { study: options.study });
    report.patient = await search(page, { patient: options.patient, action: 'disclose' });
    report.steps.push('filtered');
    report.exports = {};
    for (const kind of ['csv', 'json']) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click(`#ledger-export-${kind}`)]);
      report.exports[kind] = { name: download.suggestedFilename(), text: fs.readFileSync(await download.path(), 'utf8') };
    }
    report.steps.push('exported');
    report.verdict = await verify(page);
  } else {
    report.researcher = await search(page, { role: 'researcher' });
    report.verdict = await verify(page);
    report.rows = await shown(page);
  }
  report.steps.push('verified');
  report.url = page.url();
});
