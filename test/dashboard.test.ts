// `occdb dashboard` in a real headless Chromium (Debian's chromium, driven by playwright-core)
// against a real local cluster of 3 middlewares and 3 databases started with `occdb startup`:
// the page loads without console errors, every process card is green, a transaction run from
// the form shows its classic output and its timeline, conflicts show their hot key, the charts
// have data, and a database killed with kill -9 turns red within seconds, saying why. A screenshot is saved to
// test-artifacts/dashboard.png.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { readClusterFile } from '../cluster/cluster-file.js';
import { OccdbClient } from '../client/client.js';
import type { DashboardState } from '../dashboard/state.js';
import { REPO_ROOT, capturedOutput, killProcess, spawnOccdb } from './helpers/processes.js';
import { clusterDir, removeClusterDirs, runOccdb } from './helpers/startup-cluster.js';

const CHROMIUM = '/usr/bin/chromium';
/** Without the background-networking flags, Chromium's own connections to the internet are refused by a closed network, and it logs errors. */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS_DIR = path.join(REPO_ROOT, 'test-artifacts');
/** How long the page may take to show a change the server polls for once a second. */
const SEEN_WITHIN_MS = 5_000;
const DASHBOARD_URL_WAIT_MS = 15_000;

let dir = '';
let dashboard: ChildProcess | null = null;
let browser: BrowserContext | null = null;
let page: Page | null = null;
let userDataDir = '';
const consoleErrors: string[] = [];

test.before(async () => {
  // A missing browser is a failure with the remedy, never a skipped test.
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run the dashboard's browser test`);
  dir = clusterDir('dashboard');
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'occdb-chromium-'));
  // The browser starts while the cluster does.
  const launching = chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, viewport: { width: 1400, height: 1300 } });
  launching.catch(() => undefined); // Reported when awaited below, not as an unhandled rejection meanwhile.
  const startup = await runOccdb(['startup', '3', 'localhost', 'localhost', 'localhost', '3', 'localhost', 'localhost', 'localhost', '--dir', dir]);
  browser = await launching;
  if (startup.code !== 0) throw new Error(`occdb startup failed (${startup.code}): ${startup.stderr}`);
  dashboard = spawnOccdb(['dashboard', '--dir', dir, '--port', '0']);
  const url = await dashboardUrl(dashboard);
  page = browser.pages()[0] ?? (await browser.newPage());
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
  await page.goto(url);
});

test.after.always(async () => {
  await browser?.close();
  if (dashboard !== null) await killProcess(dashboard, 'SIGTERM');
  await removeClusterDirs();
  if (userDataDir !== '') fs.rmSync(userDataDir, { recursive: true, force: true });
});

/** The URL the dashboard prints once it listens. */
async function dashboardUrl(child: ChildProcess): Promise<string> {
  const deadlineMs = Date.now() + DASHBOARD_URL_WAIT_MS;
  while (Date.now() < deadlineMs) {
    const match = /occdb dashboard: (http:\/\/\S+)/.exec(capturedOutput(child).stdout);
    if (match) return match[1]!;
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`occdb dashboard printed no URL: ${JSON.stringify(capturedOutput(child))}`);
}

/** What the page's script keeps on window, as far as the tests read it. */
interface PageGlobals {
  dashboard: { state: DashboardState };
}

function openPage(): Page {
  if (page === null) throw new Error('the page did not open');
  return page;
}

test.serial('every process has a green card with its counters; each replica its applied and pending APPLYs; the installed view lists the members and replicas', async (t) => {
  const page = openPage();
  await page.waitForFunction(() => document.querySelectorAll('.card[data-state="up"]').length === 6, undefined, { timeout: SEEN_WITHIN_MS });
  const names = await page.$$eval('.card', (cards) => cards.map((card) => `${card.getAttribute('data-name')}:${card.getAttribute('data-state')}`));
  t.deepEqual(names, ['MIDDLEWARE1', 'MIDDLEWARE2', 'MIDDLEWARE3', 'DATABASE1', 'DATABASE2', 'DATABASE3'].map((name) => `${name}:up`));
  const middlewareCard = await page.textContent('.card[data-name="MIDDLEWARE1"]');
  for (const label of ['role', 'host', 'pid', 'uptime', 'commits', 'aborts', 'in flight']) t.true(middlewareCard!.includes(label), `${label} in ${middlewareCard}`);
  const databaseCard = await page.textContent('.card[data-name="DATABASE1"]');
  for (const label of ['applies', 'syncs', 'sync']) t.true(databaseCard!.includes(label), `${label} in ${databaseCard}`);
  // Each replica's lag: APPLYs it acknowledged, those the middlewares hold for it (from their metrics), those waiting in its line of writes.
  const replicas = await page.$$eval('#replicas tbody tr', (rows) => rows.map((row) => [...row.children].map((cell) => cell.textContent)));
  t.deepEqual(replicas.map((row) => [row[0], row[1], row[5]]), [1, 2, 3].map((id) => [`DATABASE${id}`, 'up', 'replica']));
  for (const row of replicas) t.true(row.slice(2, 5).every((count) => /^\d+$/.test(count ?? '')), `counts of ${row.join(' ')}`);
  t.false(await page.isVisible('#replicas-note'), 'every middleware\'s queued APPLYs are counted');
  const view = await page.textContent('#view');
  t.regex(view!, /members\s*MIDDLEWARE1 \(\S+\), MIDDLEWARE2 \(\S+\), MIDDLEWARE3 \(\S+\)/);
  t.regex(view!, /replicas\s*DATABASE1, DATABASE2, DATABASE3/);
});

test.serial('a transaction run from the form shows the classic output and its timeline: read, a vote from each other member, an APPLY acknowledgement from each replica, the reply', async (t) => {
  const page = openPage();
  await page.selectOption('#run-middleware', '2');
  await page.fill('#run-commands', 'ASSIGN A 10\nADD B A 10\nPRINT A\nPRINT B\n');
  await page.click('#run-button');
  await page.waitForSelector('#run-output[data-outcome]', { timeout: SEEN_WITHIN_MS });
  t.is(await page.textContent('#run-output'), '10\n20\n');
  t.regex((await page.textContent('#run-summary'))!, /on MIDDLEWARE2: committed/);
  // The timeline comes with the next poll of the middleware's observations.
  await page.waitForSelector('#timeline tbody tr[data-phase="reply"]', { timeout: SEEN_WITHIN_MS });
  t.regex((await page.textContent('#timeline-title'))!, /\(M2-\d+ on MIDDLEWARE2\)/);
  const rows = await page.$$eval('#timeline tbody tr', (trs) => trs.map((tr) => ({
    phase: tr.getAttribute('data-phase'),
    atMs: Number(tr.children[0]!.textContent),
    node: tr.children[3]!.textContent,
  })));
  t.is(rows[0]!.phase, 'read');
  t.is(rows.at(-1)!.phase, 'reply');
  t.deepEqual(rows.filter((row) => row.phase === 'vote' && row.node !== '').map((row) => row.node).sort(), ['MIDDLEWARE1', 'MIDDLEWARE3']);
  t.deepEqual(rows.filter((row) => row.phase === 'apply' && row.node !== '').map((row) => row.node).sort(), ['DATABASE1', 'DATABASE2', 'DATABASE3']);
  const times = rows.map((row) => row.atMs);
  t.deepEqual(times, [...times].sort((a, b) => a - b), 'in time order');
  t.regex((await page.textContent('#timeline-note'))!, /^committed, [\d.]+ ms in all/);
});

test.serial('conflicting increments on every middleware make their key the hottest; a recent transaction picked from the list shows its timeline', async (t) => {
  const page = openPage();
  const clusterFile = path.join(dir, 'cluster.json');
  const clients = [1, 2, 3].map((id) => OccdbClient.connect(`MIDDLEWARE${id}`, { clusterFile, failover: false }));
  try {
    await clients[0]!.run('ASSIGN hot 0\n');
    const results = await Promise.all(clients.flatMap((client) => Array.from({ length: 12 }, () => client.run('ADD hot hot 1\n'))));
    t.true(results.every((result) => result.outcome === 'committed'));
  } finally {
    for (const client of clients) client.close();
  }
  await page.waitForFunction(() => document.querySelector('#hot-keys tbody tr td')?.textContent === 'hot', undefined, { timeout: SEEN_WITHIN_MS });
  const [aborts, waits] = await page.$$eval('#hot-keys tbody tr:first-child td.number', (cells) => cells.map((cell) => Number(cell.textContent)));
  t.true(aborts! + waits! > 0, `hot: ${aborts} aborts, ${waits} waits`);

  const picked = page.locator('#recent tbody tr').nth(3);
  const traceId = (await picked.getAttribute('data-trace'))!;
  await picked.click();
  await page.waitForFunction((id) => document.querySelector('#timeline-title')?.textContent?.includes(id) === true, traceId, { timeout: SEEN_WITHIN_MS });
  t.is(await page.locator('#timeline tbody tr[data-phase="reply"]').count(), 1);
});

test.serial('the charts have data: a point a second, commits in commits/s, and latencies', async (t) => {
  const page = openPage();
  await page.waitForFunction(() => Number(document.querySelector('#chart-rates')?.getAttribute('data-points')) >= 3, undefined, { timeout: SEEN_WITHIN_MS });
  // uPlot drew its canvases, with the series in their legends.
  t.is(await page.locator('#chart-rates canvas').count(), 1);
  t.regex((await page.textContent('#chart-rates'))!, /commits\/s[\s\S]*aborts\/s/);
  t.regex((await page.textContent('#chart-latency'))!, /p50 ms[\s\S]*p99 ms/);
  // The transactions of the tests before are counted at the poll after them.
  await page.waitForFunction(() => (window as unknown as PageGlobals).dashboard.state.series.commitsPerSecond.some((rate) => rate !== null && rate > 0), undefined, { timeout: SEEN_WITHIN_MS });
  await page.waitForFunction(() => Number(document.querySelector('#chart-latency')?.getAttribute('data-points')) >= 1, undefined, { timeout: SEEN_WITHIN_MS });
  const { latencyMsP50, latencyMsP99 } = await page.evaluate(() => (window as unknown as PageGlobals).dashboard.state.series);
  const measured = latencyMsP50.flatMap((p50, index) => (p50 === null ? [] : [[p50, latencyMsP99[index]!] as const]));
  t.true(measured.length > 0 && measured.every(([p50, p99]) => p50 > 0 && p99 >= p50), JSON.stringify(measured));
});

test.serial('a database killed with kill -9 turns red within a few seconds, saying its process is not running', async (t) => {
  const page = openPage();
  const victim = readClusterFile(path.join(dir, 'cluster.json')).databases.find((entry) => entry.id === 2)!;
  const killedAtMs = Date.now();
  process.kill(victim.pid!, 'SIGKILL');
  await page.waitForSelector('.card[data-name="DATABASE2"][data-state="down"]', { timeout: SEEN_WITHIN_MS });
  t.log(`DATABASE2 red ${Date.now() - killedAtMs} ms after kill -9`);
  t.regex((await page.textContent('.card[data-name="DATABASE2"] .why'))!, new RegExp(`process ${victim.pid} is not running`));
  t.is(await page.locator('.card[data-state="up"]').count(), 5);
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'dashboard.png'), fullPage: true });
});

test.serial('the page logged no console errors', (t) => {
  t.deepEqual(consoleErrors, []);
});

test.serial('a mistake in the command lines is named with its line, and nothing runs', async (t) => {
  const page = openPage();
  await page.fill('#run-commands', 'PRINT A\nASIGN B 1\n');
  await page.click('#run-button');
  await page.waitForFunction(() => document.querySelector('#run-output')?.getAttribute('data-outcome') === 'error', undefined, { timeout: SEEN_WITHIN_MS });
  t.is(await page.textContent('#run-output'), "occdb: commands:2: unknown command 'ASIGN' (the commands are ASSIGN, ADD, PRINT, DELETE, SLEEP, IGNORE, MAGIC, QUIT, NOCMD, BEGIN, COMMIT, ROLLBACK)");
  t.is(await page.textContent('#run-summary'), 'BAD_COMMAND_FILE');
});
