// End-to-end test of the dashboard as the engine serves it, in headless Chromium.
//
//   NOISE_BIN=/path/to/noise DASHBOARD_DIR=dist node e2e/run.mjs
//
// Starts `noise run` on a simulated market (600× real time) with a random API
// token on a free port, serving the built dashboard; then drives the page:
// login (a wrong token is refused), positions and the equity chart with data,
// Pause/Resume through the confirmation dialog (and a refused Resume), a
// closed trade appearing live in the trades table without a reload, that
// trade opened to its fills (one entry, one exit; net = gross − fees), and an
// open position opened to its lots (they add up to its quantity).
// On a failure: a screenshot path and the engine log's tail are printed.
// The engine is always stopped (SIGINT, then SIGKILL) and the browser closed.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const dashboardRoot = path.resolve(here, '..');
const NOISE_BIN = path.resolve(dashboardRoot, process.env.NOISE_BIN ?? '../target/release/noise');
const DASHBOARD_DIR = path.resolve(dashboardRoot, process.env.DASHBOARD_DIR ?? 'dist');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SPEED = process.env.E2E_SPEED ?? '600';
const KEEP = process.env.E2E_KEEP === '1';

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
const log = (...args) => console.log(`# [${elapsed()}]`, ...args);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForHealth(base, engine, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (engine.exitCode !== null) throw new Error(`the engine exited with ${engine.exitCode} before it was healthy`);
    try {
      const res = await fetch(`${base}/healthz`);
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = e.cause?.code ?? e.message;
    }
    await sleep(150);
  }
  throw new Error(`no /healthz within ${timeoutMs} ms (${last})`);
}

/** Resolves true when `promise` settles within `ms`, false otherwise (no timer left behind). */
function within(promise, ms) {
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([promise.then(() => true), timeout]).finally(() => clearTimeout(timer));
}

async function stopEngine(engine) {
  if (!engine || engine.exitCode !== null || engine.signalCode !== null) return;
  const exited = new Promise((resolve) => engine.once('exit', resolve));
  engine.kill('SIGINT');
  if (!(await within(exited, 8000))) {
    log('the engine did not stop on SIGINT within 8 s: SIGKILL');
    engine.kill('SIGKILL');
    await within(exited, 3000);
  }
}

const state = {
  tmp: null,
  engine: null,
  engineLog: null,
  base: null,
  token: randomBytes(24).toString('hex'),
  browser: null,
  page: null,
  broken: null,
  /** The trade that appeared live (then opened to its fills). */
  tradeId: null,
};

function tail(file, lines = 40) {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no engine log)';
  }
}

/** One step: skipped after an earlier failure; on its own failure a screenshot. */
function step(name, fn, timeout = 90_000) {
  it(name, { timeout }, async (t) => {
    if (state.broken) {
      t.skip(`an earlier step failed (${state.broken})`);
      return;
    }
    const t0 = Date.now();
    try {
      await fn();
      log(`${name}: ok in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    } catch (error) {
      state.broken = name;
      if (state.page) {
        const shot = path.join(state.tmp ?? tmpdir(), `e2e-failure-${name.replace(/\W+/g, '-')}.png`);
        try {
          await state.page.screenshot({ path: shot, fullPage: true });
          console.log(`# screenshot of the failure: ${shot}`);
        } catch (e) {
          console.log(`# no screenshot: ${e.message}`);
        }
      }
      if (state.engineLog) console.log(`# engine log (tail):\n${tail(state.engineLog).replace(/^/gm, '#   ')}`);
      throw error;
    }
  });
}

/** The trading state badge's text. */
const tradingState = () => state.page.getByTestId('trading-state').innerText();

async function waitForText(locator, re, timeout) {
  const deadline = Date.now() + timeout;
  let text = '';
  while (Date.now() < deadline) {
    text = (await locator.innerText().catch(() => '')).trim();
    if (re.test(text)) return text;
    await sleep(200);
  }
  throw new Error(`expected ${re} within ${timeout} ms, last saw ${JSON.stringify(text)}`);
}

/** A displayed amount (`+$1,234.56`, `-$0.62`, `$0.00`) as a number. */
function money(text) {
  const m = /^([+-]?)\$([\d,]+\.\d\d)$/.exec(text.trim());
  assert.ok(m, `an amount: ${JSON.stringify(text)}`);
  const n = Number(m[2].replace(/,/g, ''));
  return m[1] === '-' ? -n : n;
}

/** GET /api/<path> with the session's token. */
async function api(path) {
  const res = await fetch(`${state.base}/api/${path}`, { headers: { Authorization: `Bearer ${state.token}` } });
  assert.equal(res.status, 200, `GET /api/${path}: HTTP ${res.status}`);
  return res.json();
}

async function control(name, confirmText) {
  const { page } = state;
  await page.getByTestId(`control-${name}`).click();
  const dialog = page.getByTestId('confirm-dialog');
  await dialog.waitFor({ state: 'visible', timeout: 5000 });
  if (confirmText) assert.match(await dialog.innerText(), confirmText);
  await page.getByTestId('confirm-yes').click();
  await dialog.waitFor({ state: 'detached', timeout: 5000 });
  // the outcome replaces "waiting for the engine…"
  const outcome = page.getByTestId('control-outcome');
  await page.waitForFunction(
    () => {
      const el = document.querySelector('[data-testid="control-outcome"]');
      return el && el.getAttribute('data-kind') !== 'pending';
    },
    null,
    { timeout: 35_000 },
  );
  return { kind: await outcome.getAttribute('data-kind'), text: (await page.getByTestId('control-outcome-text').innerText()).trim() };
}

describe('NOISE dashboard, end to end', { concurrency: false }, () => {
  before(async () => {
    assert.ok(existsSync(NOISE_BIN), `no engine binary at ${NOISE_BIN} (set NOISE_BIN)`);
    assert.ok(existsSync(path.join(DASHBOARD_DIR, 'index.html')), `no built dashboard in ${DASHBOARD_DIR} (run npm run build, or set DASHBOARD_DIR)`);
    assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (set CHROMIUM_PATH)`);
    state.tmp = mkdtempSync(path.join(tmpdir(), 'noise-e2e-'));
    const port = await freePort();
    state.base = `http://127.0.0.1:${port}`;
    state.engineLog = path.join(state.tmp, 'engine.log');
    const out = createWriteStream(state.engineLog);
    const args = [
      'run',
      '--speed', SPEED,
      '--db', path.join(state.tmp, 'e2e.db'),
      '--sim-state', path.join(state.tmp, 'sim.json'),
      '--api-addr', `127.0.0.1:${port}`,
      '--dashboard', DASHBOARD_DIR,
    ];
    log(`engine: ${NOISE_BIN} ${args.join(' ')}`);
    state.engine = spawn(NOISE_BIN, args, {
      cwd: state.tmp,
      env: { ...process.env, NOISE_API_TOKEN: state.token },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    state.engine.stdout.pipe(out);
    state.engine.stderr.pipe(out);
    state.engine.on('exit', (code, signal) => log(`engine exited (${code ?? signal})`));
    await waitForHealth(state.base, state.engine, 20_000);
    log(`engine healthy at ${state.base}`);
    state.browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const context = await state.browser.newContext({ viewport: { width: 1440, height: 900 } });
    state.page = await context.newPage();
    state.page.setDefaultTimeout(15_000);
    state.page.on('pageerror', (e) => console.log(`# page error: ${e.message}`));
    state.page.on('console', (m) => {
      // 401 (the wrong token) and 409 (the refused Resume) are expected
      if (m.type() === 'error' && !/\b(401|409)\b/.test(m.text())) console.log(`# console error: ${m.text()}`);
    });
  });

  after(async () => {
    await state.browser?.close().catch(() => {});
    await stopEngine(state.engine);
    if (state.tmp && !state.broken && !KEEP) rmSync(state.tmp, { recursive: true, force: true });
    else if (state.tmp) log(`kept ${state.tmp}`);
    log('done');
  });

  step('the login refuses a wrong token with a message', async () => {
    const { page } = state;
    await page.goto(`${state.base}/`);
    await page.getByTestId('login-token').fill(`wrong-${state.token}`);
    await page.getByTestId('login-submit').click();
    const error = await waitForText(page.getByTestId('login-error'), /refused/i, 10_000);
    assert.match(error, /401/);
    assert.equal(await page.getByTestId('positions-table').count(), 0, 'no dashboard after a wrong token');
  });

  step('the right token opens the dashboard, with the live stream', async () => {
    const { page } = state;
    await page.getByTestId('login-token').fill(state.token);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('positions-table').waitFor();
    await waitForText(page.getByTestId('mode'), /PAPER/, 10_000);
    await page.waitForSelector('[data-testid="live-indicator"][data-state="live"]', { timeout: 15_000 });
    await waitForText(page.getByTestId('trading-state'), /^(ACTIVE|REDUCING|HALTED)$/, 15_000);
    const equity = await waitForText(page.getByTestId('equity'), /^\$[\d,]+\.\d\d$/, 15_000);
    log(`equity shown: ${equity}`);
  });

  step('positions appear, and the equity chart draws its points', async () => {
    const { page } = state;
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="position-row"]').length >= 1, null, { timeout: 45_000 });
    const rows = await page.getByTestId('position-row').count();
    const pnl = await page.getByTestId('position-pnl').first().innerText();
    assert.match(pnl, /^([+-]?\$[\d,]+\.\d\d|—)$/, `unrealized P&L formatted: ${pnl}`);
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid="equity-chart"]')?.getAttribute('data-points') ?? 0) > 1,
      null,
      { timeout: 45_000 },
    );
    const points = Number(await page.getByTestId('equity-chart').getAttribute('data-points'));
    // The chart's canvases have pixels drawn on them.
    const painted = await page.evaluate(() => {
      let count = 0;
      for (const canvas of document.querySelectorAll('[data-testid="equity-chart"] canvas')) {
        if (!canvas.width || !canvas.height) continue;
        const ctx = canvas.getContext('2d');
        if (!ctx) continue;
        const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        for (let i = 3; i < data.length; i += 16) if (data[i] !== 0) count++;
      }
      return count;
    });
    assert.ok(painted > 500, `the chart canvases are drawn on (${painted} sampled pixels)`);
    const text = await page.locator('body').innerText();
    assert.ok(!/\bNaN\b|undefined/.test(text), 'no NaN or undefined on the page');
    log(`${rows} position row(s), ${points} equity points, ${painted} painted pixels sampled`);
  });

  step('Pause (confirmed) halts trading; Resume brings it back; a second Resume is refused', async () => {
    const { page } = state;
    // Cancel first: nothing happens.
    await page.getByTestId('control-pause').click();
    await page.getByTestId('confirm-dialog').waitFor();
    await page.getByTestId('confirm-no').click();
    await page.getByTestId('confirm-dialog').waitFor({ state: 'detached' });
    assert.notEqual(await tradingState(), 'HALTED');

    const paused = await control('pause', /halts/i);
    assert.equal(paused.kind, 'ok', paused.text);
    assert.match(paused.text, /HALTED/);
    await waitForText(page.getByTestId('trading-state'), /^HALTED$/, 15_000);

    const resumed = await control('resume');
    assert.equal(resumed.kind, 'ok', resumed.text);
    await waitForText(page.getByTestId('trading-state'), /^(ACTIVE|REDUCING)$/, 15_000);

    const refused = await control('resume');
    assert.equal(refused.kind, 'error', refused.text);
    assert.match(refused.text, /409/);
    assert.match(refused.text, /not paused/);
    log(`outcomes: "${paused.text}" / "${resumed.text}" / "${refused.text}"`);
  });

  step('a newly closed trade appears in the trades table without a reload', async () => {
    const { page } = state;
    await page.getByTestId('trades-table').waitFor();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="trade-row"]').length >= 1, null, { timeout: 60_000 });
    const newestId = async () =>
      page.evaluate(() =>
        Math.max(...[...document.querySelectorAll('[data-testid="trade-row"]')].map((r) => Number(r.getAttribute('data-trade-id')))),
      );
    const before = await newestId();
    // Mark the document: a reload would lose the mark.
    await page.evaluate(() => {
      window.__noReload = true;
    });
    log(`newest trade id ${before}; waiting for a newer one`);
    await page.waitForFunction(
      (id) =>
        [...document.querySelectorAll('[data-testid="trade-row"]')].some((r) => Number(r.getAttribute('data-trade-id')) > id),
      before,
      { timeout: 60_000, polling: 250 },
    );
    assert.equal(await page.evaluate(() => window.__noReload), true, 'the page was not reloaded');
    const after = await newestId();
    const pnl = await page.locator(`[data-testid="trade-row"][data-trade-id="${after}"] [data-testid="trade-pnl"]`).innerText();
    assert.match(pnl, /^[+-]?\$[\d,]+\.\d\d$/);
    log(`trade ${after} appeared live (P&L ${pnl})`);
    state.tradeId = after;
  });

  step('a closed trade opens to its fills: one entry, one exit, and net = gross − fees', async () => {
    const { page } = state;
    const id = state.tradeId;
    const row = page.locator(`[data-testid="trade-row"][data-trade-id="${id}"]`);
    const rowPnl = money(await row.getByTestId('trade-pnl').innerText());
    await row.click();
    const detail = page.locator(`[data-testid="trade-detail"][data-trade-id="${id}"]`);
    const fills = detail.getByTestId('trade-fills');
    await fills.waitFor({ timeout: 15_000 });
    const rows = detail.getByTestId('trade-fill-row');
    const count = await rows.count();
    assert.ok(count >= 2, `at least two fills (${count})`);
    const roles = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-role')));
    assert.equal(roles.filter((r) => r === 'entry').length, 1, `one entry fill: ${roles}`);
    assert.equal(roles.filter((r) => r === 'exit').length, 1, `one exit fill: ${roles}`);
    for (const cell of ['Role', 'Time', 'Side', 'Qty', 'Price', 'Fee', 'Fill id', 'Order']) {
      assert.match(await fills.locator('thead').innerText(), new RegExp(cell, 'i'));
    }
    // The fills marked are the ones the engine says the round trip used.
    const body = await api(`trades/${id}`);
    assert.equal(body.fills.length, count, 'as many fill rows as the API lists');
    const entryId = await detail.locator('[data-testid="trade-fill-row"][data-role="entry"]').getAttribute('data-fill-id');
    const exitId = await detail.locator('[data-testid="trade-fill-row"][data-role="exit"]').getAttribute('data-fill-id');
    assert.equal(entryId, body.entry_fill_id);
    assert.equal(exitId, body.exit_fill_id);
    // net = gross − fees, as shown (to the cent) and exactly (the decimals behind the text).
    const gross = money(await detail.getByTestId('trade-gross').innerText());
    const fees = money(await detail.getByTestId('trade-fees').innerText());
    const net = money(await detail.getByTestId('trade-net').innerText());
    assert.ok(Math.abs(net - (gross - fees)) <= 0.0100001, `net ${net} = gross ${gross} − fees ${fees} (to the cent)`);
    assert.equal(net, rowPnl, 'the row shows the net P&L');
    const exact = async (testid) => Number(await detail.getByTestId(testid).getAttribute('data-value'));
    const [g, f, n] = [await exact('trade-gross'), await exact('trade-fees'), await exact('trade-net')];
    assert.ok(Math.abs(n - (g - f)) < 1e-6, `exact: ${n} = ${g} − ${f}`);
    // Enter closes and opens the row again (the second time from the cache).
    await row.focus();
    await page.keyboard.press('Enter');
    await detail.waitFor({ state: 'detached', timeout: 5000 });
    await page.keyboard.press('Enter');
    await fills.waitFor({ timeout: 2000 });
    assert.equal(await rows.count(), count);
    const text = await page.locator('body').innerText();
    assert.ok(!/\bNaN\b|undefined/.test(text), 'no NaN or undefined on the page');
    log(`trade ${id}: ${count} fills (${roles.map((r) => r || 'part').join(', ')}); ${gross} − ${fees} = ${net}`);
  });

  step('an open position opens to its lots, which add up to its quantity', async () => {
    const { page } = state;
    for (let attempt = 1; attempt <= 5; attempt++) {
      const symbols = await page.getByTestId('position-row').evaluateAll((els) => els.map((e) => e.getAttribute('data-symbol')));
      if (symbols.length === 0) {
        if (attempt === 5) {
          log('no open position to open: skipped');
          return;
        }
        await sleep(2000);
        continue;
      }
      const symbol = symbols[0];
      const row = page.locator(`[data-testid="position-row"][data-symbol="${symbol}"]`);
      try {
        if ((await row.getAttribute('aria-expanded')) !== 'true') await row.click({ timeout: 3000 });
        // The detail row follows its position row.
        const lots = page.locator(`[data-testid="position-row"][data-symbol="${symbol}"] + tr [data-testid="position-lots"]`);
        await lots.waitFor({ timeout: 5000 });
        // Read the position and its lots in one go (the table refreshes every few seconds).
        const seen = await page.evaluate((sym) => {
          const tr = document.querySelector(`[data-testid="position-row"][data-symbol="${sym}"]`);
          const detail = tr?.nextElementSibling;
          const lots = [...(detail?.querySelectorAll('[data-testid="position-lot-row"]') ?? [])];
          return {
            quantity: tr?.getAttribute('data-quantity'),
            shown: tr?.querySelector('[data-testid="position-qty"]')?.textContent,
            lots: lots.map((l) => ({
              signed: l.getAttribute('data-signed-quantity'),
              shown: l.querySelector('[data-testid="lot-qty"]')?.textContent,
            })),
          };
        }, symbol);
        assert.ok(seen.quantity !== null && seen.quantity !== undefined, 'the position row carries its quantity');
        assert.ok(seen.lots.length >= 1, `${symbol} has at least one lot`);
        const sum = seen.lots.reduce((s, l) => s + Number(l.signed), 0);
        assert.ok(Math.abs(sum - Number(seen.quantity)) < 1e-6, `${symbol}: the lots add up to ${sum}, the position is ${seen.quantity}`);
        const shownSum = seen.lots.reduce((s, l) => s + Number(String(l.shown).replace(/,/g, '')), 0);
        assert.ok(Math.abs(shownSum - Number(String(seen.shown).replace(/,/g, ''))) < 1e-6, `shown: lots ${shownSum}, position ${seen.shown}`);
        const text = await page.locator('body').innerText();
        assert.ok(!/\bNaN\b|undefined/.test(text), 'no NaN or undefined on the page');
        log(`${symbol}: ${seen.lots.length} lot(s) adding up to ${seen.quantity}`);
        return;
      } catch (error) {
        // The position closed under us: try again with whatever is open now.
        const still = await row.count();
        if (still > 0 || attempt === 5) throw error;
        log(`${symbol} closed while being opened; again`);
      }
    }
  });

  step('a position_mismatch event shows as a dismissible alert under the top bar', async () => {
    // The simulated broker never disagrees with the ledger: a second page gets
    // a canned event stream (the rest of the API is the engine's).
    const context = await state.browser.newContext({ viewport: { width: 390, height: 844 } });
    try {
      const page = await context.newPage();
      let served = 0;
      await page.route('**/api/events', (route) => {
        served += 1;
        const event = {
          event: { type: 'position_mismatch', data: { symbol: 'MES', ledger: '1', broker: '3', booked: [['BUY', '2', '5012.25']] } },
          time: '2026-03-09T14:05:00Z',
        };
        const body = served === 1 ? `: hello\n\nevent: position_mismatch\ndata: ${JSON.stringify(event)}\n\n` : ': keep-alive\n\n';
        return route.fulfill({ status: 200, headers: { 'Content-Type': 'text/event-stream' }, body });
      });
      await page.goto(`${state.base}/`);
      await page.getByTestId('login-token').fill(state.token);
      await page.getByTestId('login-submit').click();
      const alert = page.locator('[data-testid="mismatch-alert"][data-symbol="MES"]');
      await alert.waitFor({ timeout: 15_000 });
      const text = (await alert.innerText()).replace(/\s+/g, ' ');
      assert.match(text, /ledger long 1, broker long 3; booked BUY 2 @ 5,012\.25/);
      assert.equal(await page.getByTestId('mismatch-alert').count(), 1);
      await alert.getByRole('button', { name: /dismiss/i }).click();
      await page.getByTestId('mismatch-alerts').waitFor({ state: 'detached', timeout: 5000 });
      log(`mismatch alert: ${JSON.stringify(text)}`);
    } finally {
      await context.close();
    }
  });
});

process.on('SIGINT', () => {
  void stopEngine(state.engine).finally(() => process.exit(130));
});
