// The Overview (issue 18): the charts of this process's last hour, read back from the DOM's data- attributes.
import { openSection, runConsole } from './console_browser.mjs';

const options = JSON.parse(process.argv[2]);
const rows = (page, chart) => page.evaluate((id) => Object.fromEntries(
  [...document.querySelectorAll(`#${id} g.row`)].map((g) => [g.dataset.label, Number(g.dataset.count)])), chart);

await runConsole(options, async (page, report) => {
  await openSection(page, 'overview');
  report.firstTab = await page.evaluate(() => document.querySelector('nav button').dataset.tab);
  await page.focus('#overview-refresh');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#chart-requests g.row[data-label=researcher]'));
  report.requests = await rows(page, 'chart-requests');
  report.withheld = await rows(page, 'chart-withheld');
  report.errors = await rows(page, 'chart-errors');
  report.titles = await page.evaluate(() => [...document.querySelectorAll('#chart-requests g.row > title')]
    .map((t) => t.textContent));
  report.latency = await page.evaluate(() => {
    const chart = document.querySelector('#chart-latency');
    return { p50: Number(chart.dataset.p50), p95: Number(chart.dataset.p95),
      lines: chart.querySelectorAll('.line').length };
  });
  report.note = await page.textContent('#overview-note');
  report.steps.push('charts read');
});
