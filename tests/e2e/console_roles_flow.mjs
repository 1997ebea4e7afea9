// The Roles form (issue 18): YAML -> form, form -> YAML by keyboard, an override added with keyword completion,
// live validation naming the key of a bad entry, then a save. Options (besides the shared ones): role,
// option (a PS3.15 option's name the profile has), badKeyword, prefix, keyword, action.
import { openSection, runConsole } from './console_browser.mjs';

const options = JSON.parse(process.argv[2]);
const text = (page, selector) => page.textContent(selector);

await runConsole(options, async (page, report) => {
  await openSection(page, 'rules');
  // An identity role shows only what applies to it: its permissions.
  await page.selectOption('#role', options.identityRole);
  await page.waitForFunction((role) => document.querySelector('#form-fields').dataset.role === role,
    options.identityRole);
  report.identityFields = await page.evaluate(() => [...document.querySelectorAll('#form-fields input, '
    + '#form-fields select')].map((n) => n.id));
  await page.selectOption('#role', options.role);
  await page.waitForFunction((role) => document.querySelector('#role').value === role
    && document.querySelector('#role-info').textContent.includes('version')
    && document.querySelector('#form-fields').dataset.role === role, options.role);
  report.original = await page.inputValue('#profile');
  const box = `#opt-${options.option}`;
  report.optionLabel = await page.evaluate((s) => document.querySelector(s).closest('label').textContent, box);
  report.optionChecked = await page.isChecked(box);
  report.steps.push('form drawn');

  // The advanced view edited: the form follows.
  await page.fill('#profile', report.original.replace(new RegExp(`^\\s*- ${options.option}.*$\\n`, 'm'), ''));
  await page.waitForFunction((s) => !document.querySelector(s).checked, box);
  report.yamlToForm = true;
  // The form edited with the keyboard: the YAML follows (and loses its comments).
  await page.focus(box);
  await page.keyboard.press('Space');
  await page.waitForFunction((name) => document.querySelector('#profile').value.includes(name)
    && document.querySelector('#live-status').textContent.startsWith('checked'), options.option);
  report.formToYaml = await page.inputValue('#profile');
  report.steps.push('form and YAML in step');

  // A bad override: live validation names its key beside the form and beside the YAML.
  await page.focus('#override-add');
  await page.keyboard.press('Enter');
  await page.keyboard.type(options.badKeyword);
  await page.waitForFunction(() => document.querySelector('#form-error').textContent !== '');
  report.formError = await text(page, '#form-error');
  report.yamlError = await text(page, '#profile-error');
  report.invalidMarked = await page.evaluate(() => document.activeElement.getAttribute('aria-invalid'));
  report.steps.push('bad entry named');

  // The keyword completed from the dictionary.
  const input = await page.evaluateHandle(() => document.activeElement);
  await input.fill(options.prefix);
  await page.waitForFunction((k) => document.querySelector(`#dictionary option[value="${k}"]`), options.keyword);
  report.suggestions = await page.evaluate(() => [...document.querySelectorAll('#dictionary option')]
    .map((o) => ({ value: o.value, tag: o.dataset.tag })));
  const chosen = report.suggestions.find((s) => s.value === options.keyword);
  await input.fill(chosen.value);
  const row = await page.evaluate(() => document.activeElement.closest('tr').querySelector('select').id);
  await page.selectOption(`#${row}`, options.action);
  await page.waitForFunction((line) => document.querySelector('#profile').value.includes(line)
    && document.querySelector('#live-status').textContent.startsWith('checked: valid')
    && document.querySelector('#form-error').textContent === '', `${options.keyword}: ${options.action}`);
  report.tagShown = await page.evaluate(() => document.activeElement.closest('tr').querySelector('td.tag')
    .textContent);
  report.steps.push('override added');

  // A pixel rule, as numbers: one that does not fit its image is named, and removing it clears the error.
  await page.focus('#pixel-rule-add');
  await page.keyboard.press('Enter');
  await page.fill('#pixel-1-Columns', '100');
  await page.fill('#pixel-1-region-1-width', '200');
  await page.waitForFunction(() => document.querySelector('#form-error').textContent.includes('pixel_rules'));
  report.pixelError = await text(page, '#form-error');
  report.pixelYaml = await page.inputValue('#profile');
  await page.click('button[aria-label="Remove pixel rule 1"]');
  await page.waitForFunction(() => document.querySelector('#form-error').textContent === ''
    && document.querySelector('#live-status').textContent.startsWith('checked: valid')
    && document.querySelector('li[data-pixel-rule]') === null);
  report.steps.push('pixel rule named and removed');

  await page.focus('#save');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#save-status').textContent.startsWith('saved')
    || document.querySelector('#profile-error').textContent !== '');
  report.saveStatus = await text(page, '#save-status');
  await page.waitForFunction(() => /^version [1-9]/.test(document.querySelector('#role-info').textContent));
  report.roleInfo = await text(page, '#role-info');
  report.savedText = await page.inputValue('#profile');
  report.steps.push('saved');
});
