// Screenshots of a running dashboard, for a person to look at:
//   node e2e/shots.mjs <url> <token> <out-dir> [tab...]
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

const [url = 'http://127.0.0.1:18080/', token = 'devtoken', out = '/tmp/noise-helper/shots', ...tabs] = process.argv.slice(2);
mkdirSync(out, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  for (const [name, viewport, mobile] of [
    ['desktop', { width: 1440, height: 900 }, false],
    ['phone', { width: 390, height: 844 }, true],
  ]) {
    const context = await browser.newContext({ viewport, deviceScaleFactor: mobile ? 2 : 1, isMobile: mobile, hasTouch: mobile });
    const page = await context.newPage();
    page.on('console', (m) => m.type() === 'error' && console.log(`[${name} console] ${m.text()}`));
    page.on('pageerror', (e) => console.log(`[${name} pageerror] ${e.message}`));
    await page.goto(url);
    await page.getByTestId('login-token').fill(token);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('positions-table').waitFor();
    await page.waitForTimeout(2500);
    await page.screenshot({ path: `${out}/${name}.png`, fullPage: false });
    await page.screenshot({ path: `${out}/${name}-full.png`, fullPage: true });
    if (mobile) {
      for (const id of ['risk-panel', 'exposure', 'positions', 'equity-card']) {
        await page.getByTestId(id).screenshot({ path: `${out}/${name}-${id}.png` });
      }
    }
    for (const tab of tabs) {
      await page.getByTestId(`tab-${tab}`).click();
      await page.waitForTimeout(1200);
      if (tab === 'signals') await page.getByTestId('signal-row').first().click().catch(() => {});
      if (tab === 'audit') await page.getByTestId('audit-row').first().click().catch(() => {});
      if (tab === 'backtests') {
        await page.getByTestId('backtest-row').first().click().catch(() => {});
        await page.waitForTimeout(1500);
      }
      await page.waitForTimeout(400);
      const el = page.locator('.tabs-card');
      await el.screenshot({ path: `${out}/${name}-${tab}.png` });
    }
    await context.close();
  }
} finally {
  await browser.close();
}
console.log(`screenshots in ${out}`);
