// Every section of the console, as a keyboard user meets it: the tabs move with the arrow keys, and every
// control has an accessible name (a label, aria-label or aria-labelledby; a button its text).
import { runConsole } from './console_browser.mjs';

const options = JSON.parse(process.argv[2]);
await runConsole(options, async (page, report) => {
  report.sections = [];
  report.unnamed = [];
  await page.focus('nav button[aria-selected=true]');
  const count = await page.locator('nav button').count();
  for (let i = 0; i < count; i += 1) {
    const section = await page.evaluate(() => document.activeElement.dataset.tab);
    await page.waitForFunction((s) => !document.getElementById(s).hidden, section);
    report.sections.push(section);
    const unnamed = await page.evaluate((s) => {
      const root = document.getElementById(s);
      const named = (node) => {
        if (node.getAttribute('aria-label') || node.getAttribute('aria-labelledby')) return true;
        if (node.tagName === 'BUTTON') return node.textContent.trim() !== '';
        return node.labels && node.labels.length > 0;
      };
      return [...root.querySelectorAll('input, select, textarea, button')]
        .filter((node) => node.type !== 'hidden' && !named(node))
        .map((node) => `${node.tagName.toLowerCase()}#${node.id || '?'}`);
    }, section);
    report.unnamed.push(...unnamed.map((u) => `${section}: ${u}`));
    await page.keyboard.press('ArrowRight');
  }
  report.backToFirst = await page.evaluate(() => document.activeElement.dataset.tab);
});
