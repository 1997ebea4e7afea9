// The console's pixel-rule editor (issue 18): pick a CT instance, draw a mask rectangle on its rendered frame
// with the mouse, add and remove one by numbers (the keyboard way), save the rule to the role, then look at
// another instance of the same series before and after.
//
//   node tests/e2e/console_pixels_flow.mjs '<json options>'   (options: see console_browser.mjs, plus role,
//   search, study, series, instance (the real UIDs to draw on), other (an instance of the same series),
//   from and to: the drag's corners in image pixels)

import { openSection, runConsole } from './console_browser.mjs';
import { chooseRole, imagesShown, pickInstance } from './console_preview_flow.mjs';

const options = JSON.parse(process.argv[2]);

// The mean of the shown image's pixels inside [x, y, w, h], read back through a canvas.
async function meanInside(page, id, [x, y, w, h]) {
  return page.evaluate(({ id, x, y, w, h }) => {
    const img = document.getElementById(id);
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const context = canvas.getContext('2d');
    context.drawImage(img, 0, 0);
    const data = context.getImageData(x, y, w, h).data;
    let sum = 0;
    for (let i = 0; i < data.length; i += 4) sum += data[i];
    return sum / (data.length / 4);
  }, { id, x, y, w, h });
}

await runConsole(options, async (page, report) => {
  await chooseRole(page, options.role);
  await openSection(page, 'pixels');
  await pickInstance(page, 'pixels', options);
  await page.waitForFunction(() => {
    const canvas = document.getElementById('pixels-canvas');
    return !canvas.hidden && canvas.width > 1;
  });
  report.frameStatus = await page.textContent('#pixels-frame-status');
  const box = await page.locator('#pixels-canvas').boundingBox();
  const size = await page.evaluate(() => [document.getElementById('pixels-canvas').width,
    document.getElementById('pixels-canvas').height]);
  report.shown = { width: box.width, height: box.height, image: size };
  const at = ([x, y]) => [box.x + (x + 0.5) * box.width / size[0], box.y + (y + 0.5) * box.height / size[1]];
  await page.mouse.move(...at(options.from));
  await page.mouse.down();
  await page.mouse.move(...at([(options.from[0] + options.to[0]) / 2, options.to[1]]), { steps: 4 });
  await page.mouse.move(...at(options.to), { steps: 4 });
  await page.mouse.up();
  report.steps.push('drawn');
  report.fields = await Promise.all(['x', 'y', 'w', 'h'].map((k) => page.inputValue(`#pixels-${k}`)));
  // The keyboard way: numbers into the fields, Add; then Remove it again so the rule holds the drawn one only.
  await page.focus('#pixels-x');
  for (const [key, value] of [['x', '0'], ['y', '0'], ['w', '5'], ['h', '5']]) {
    await page.fill(`#pixels-${key}`, value);
  }
  await page.focus('#pixels-add');
  await page.keyboard.press('Enter');
  report.typedList = await page.$$eval('#pixels-regions li', (items) => items.map((li) => li.firstChild.textContent));
  await page.click('button[aria-label="Remove rectangle 2"]');
  report.regions = await page.$$eval('#pixels-regions li', (items) => items.map((li) => li.firstChild.textContent));
  report.match = await page.textContent('#pixels-match');
  await page.click('#pixels-save');
  await page.waitForFunction(() => document.querySelector('#pixels-status').textContent !== '');
  report.saveStatus = await page.textContent('#pixels-status');
  report.steps.push('saved');
  await page.waitForFunction(() => document.querySelector('#profile').value.includes('pixel_rules'));
  await page.selectOption('#pixels-check', options.other);
  await page.click('#pixels-check-run');
  report.checkImages = await imagesShown(page, 'pixels-check');
  const region = [options.from[0], options.from[1], options.to[0] - options.from[0], options.to[1] - options.from[1]];
  report.checkMeans = { before: await meanInside(page, 'pixels-check-before', region),
    after: await meanInside(page, 'pixels-check-after', region) };
  report.steps.push('checked');
});
