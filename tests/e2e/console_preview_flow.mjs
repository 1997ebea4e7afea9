// The console's Preview (issue 18): search the origin for a patient, pick a study, a series and an instance
// from the lists, preview them under a role, and read back the rows, the marked spans and the two images.
//
//   node tests/e2e/console_preview_flow.mjs '<json options>'   (options: see console_browser.mjs, plus
//   role, search, study, series, instance: the real UIDs to pick, which the test read from the admin API)

import { openSection, runConsole } from './console_browser.mjs';

const options = JSON.parse(process.argv[2]);

export async function pickInstance(page, prefix, { search, study, series, instance }) {
  const listed = (id) => page.waitForFunction((i) => document.getElementById(i).options.length > 1, id);
  await page.fill(`#${prefix}-q`, search);
  await page.click(`#${prefix}-search`);
  await listed(`${prefix}-study`);
  await page.selectOption(`#${prefix}-study`, study);
  await listed(`${prefix}-series`);
  await page.selectOption(`#${prefix}-series`, series);
  await listed(`${prefix}-instance`);
  await page.selectOption(`#${prefix}-instance`, instance);
}

export async function chooseRole(page, role) {
  await openSection(page, 'rules');
  await page.selectOption('#role', role);
  await page.waitForFunction((r) => document.querySelector('#role').value === r
    && document.querySelector('#role-info').textContent.includes('version'), role);
}

export async function imagesShown(page, prefix) {
  await page.waitForFunction((p) => ['before', 'after'].every((s) => {
    const img = document.getElementById(`${p}-${s}`);
    return !img.hidden && img.complete && img.naturalWidth > 0;
  }), prefix);
  return page.evaluate((p) => ['before', 'after'].map((s) => {
    const img = document.getElementById(`${p}-${s}`);
    return { width: img.naturalWidth, height: img.naturalHeight, blob: img.src.startsWith('blob:') };
  }), prefix);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runConsole(options, async (page, report) => {
    await chooseRole(page, options.role);
    await openSection(page, 'preview');
    await pickInstance(page, 'preview', options);
    report.steps.push('picked');
    report.studyOptions = await page.evaluate(() => [...document.querySelectorAll('#preview-study option')]
      .map((o) => o.value).filter(Boolean));
    await page.click('#preview-run');
    await page.waitForFunction(() => /changed|withheld|failed/.test(
      document.querySelector('#preview-status').textContent));
    report.status = await page.textContent('#preview-status');
    report.rows = await page.evaluate(() => [...document.querySelectorAll('#diff tbody tr')].map((tr) => ({
      keyword: tr.children[1].textContent, cls: tr.className, change: tr.children[4].textContent,
      struck: getComputedStyle(tr).textDecorationLine,
      marks: [...tr.children[2].querySelectorAll('mark')].map((m) => m.textContent) })));
    report.images = await imagesShown(page, 'preview');
    report.imagesStatus = await page.textContent('#preview-images-status');
    report.url = page.url();
    report.storage = await page.evaluate(() => ({ local: Object.keys(localStorage),
      session: Object.keys(sessionStorage) }));
    report.steps.push('previewed');
  });
}
