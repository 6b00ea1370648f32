// What the page checks (explain.mjs, report.mjs, lesson.mjs) share: how a
// check fails, headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core) in a throwaway profile, and a page that records what it
// requested and the script errors it raised.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export function fail(msg) {
  console.error(`FAIL ${msg}`);
  process.exitCode = 1;
  throw new Error(msg);
}

export function check(ok, msg) {
  if (!ok) fail(msg);
}

// Runs `body(context)` in a fresh headless Chromium; a check that failed
// (or anything thrown) sets the exit status 1; the profile is removed.
export async function withBrowser(body) {
  const profile = mkdtempSync(join(tmpdir(), 'wsdissect-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run',
    ],
    viewport: { width: 1280, height: 900 },
    timeout: 60000,
  });
  try {
    await body(context);
  } catch (e) {
    if (!process.exitCode) console.error(`FAIL ${e && e.stack ? e.stack : e}`);
    process.exitCode = 1;
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

// Opens `url` in a new page. `fetched` collects the requests a
// self-contained page must not make: anything not `file:` or, with
// `onlyItself`, anything but the page itself; `errors` the uncaught
// exceptions and the console messages of the `consoleTypes` given.
export async function openPage(context, url, { onlyItself = false, consoleTypes = [] } = {}) {
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  const fetched = [];
  page.on('request', (r) => {
    const u = r.url();
    if (onlyItself ? u !== url : !u.startsWith('file:')) fetched.push(u);
  });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (consoleTypes.includes(m.type())) errors.push(`console ${m.type()}: ${m.text()}`);
  });
  await page.goto(url);
  return { page, fetched, errors };
}
