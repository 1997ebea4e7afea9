// The console's OIDC sign-in: the button, the provider's round trip, and a signed-in console with a clean URL.
import { runConsole } from './console_browser.mjs';

const options = JSON.parse(process.argv[2]);
await runConsole(options, async (page, report) => {
  await page.waitForSelector('#oidc-login:not([hidden])');
  report.steps.push('oidc offered');
  await page.click('#oidc-login');
  await page.waitForFunction(() => document.querySelector('#login-status').textContent !== '');
  report.status = await page.textContent('#login-status');
  report.url = page.url();
  report.storage = await page.evaluate(() => Object.keys(sessionStorage));
  report.roles = await page.evaluate(() => [...document.querySelectorAll('#role option')].map((o) => o.value));
  report.steps.push('signed in with oidc');
});
