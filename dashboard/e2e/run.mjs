// End-to-end test of the dashboard as the engine serves it, in headless Chromium.
//
//   NOISE_BIN=/path/to/noise DASHBOARD_DIR=dist node e2e/run.mjs
//
// Starts `noise run` on a simulated market (600× real time) with a random API
// token on a free port, serving the built dashboard; then drives the page:
// login (a wrong token is refused), positions and the equity chart with data,
// Pause/Resume through the confirmation dialog (and a refused Resume), and a
// closed trade appearing live in the trades table without a reload.
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
  });
});

process.on('SIGINT', () => {
  void stopEngine(state.engine).finally(() => process.exit(130));
});
