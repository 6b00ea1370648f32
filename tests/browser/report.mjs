// Checks `wsdissect report` pages in headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core), from the browser's DOM.
// Run by tests/report.rs:   node report.mjs SPEC.json
// SPEC.json: {"shots": DIR, "pages": [{"name", "html", "conns", "messages",
// "findings", "shot"}]}: `html` the page's file, `conns` the ids of the
// WebSocket connections of `conns --format json`, `messages` how many
// records `messages --format json` has, `findings` the packet
// numbers of `check --format json`'s findings (null where none), `shot`:
// write a screenshot.
// Prints one line per page; exits 1 on the first failed check.
import { readFileSync, statSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { check, openPage, withBrowser } from './common.mjs';

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const CHARTS = ['timeline', 'rate', 'sizes', 'rtt', 'closes'];
// Charts that must draw something whenever a WebSocket connection is
// there, and those that need a data message.
const ALWAYS = ['timeline', 'closes'];
const WITH_MESSAGES = ['rate', 'sizes'];

await withBrowser(async (context) => {
  for (const p of spec.pages) {
    const { page, fetched, errors } = await openPage(context, pathToFileURL(p.html).href, {
      consoleTypes: ['error', 'warning'],
    });

    const dom = await page.evaluate((charts) => {
      const rows = [...document.querySelectorAll('table.conns tbody tr.conn')];
      const chart = (id) => {
        const svg = document.getElementById(id);
        if (!svg) return null;
        const r = svg.getBoundingClientRect();
        return {
          tag: svg.tagName.toLowerCase(),
          empty: svg.classList.contains('empty'),
          marks: svg.querySelectorAll('rect, polyline, path, circle, line').length,
          texts: [...svg.querySelectorAll('text')].map((t) => t.textContent.trim()).filter((t) => t),
          width: r.width,
          height: r.height,
          // Text too small to read once scaled to the page.
          smallest: Math.min(...[...svg.querySelectorAll('text')].map((t) => t.getBoundingClientRect().height).filter((h) => h > 0)),
        };
      };
      const findings = [...document.querySelectorAll('table.findings tr.finding')].map((tr) => {
        const a = tr.querySelector('a[href^="#pkt-"]');
        const target = a ? document.getElementById(a.getAttribute('href').slice(1)) : null;
        return {
          packet: tr.getAttribute('data-packet'),
          link: a ? a.getAttribute('href') : null,
          target: target ? target.className : null,
          targetText: target ? target.querySelector('td').textContent : null,
        };
      });
      const dangling = [...document.querySelectorAll('a[href^="#"]')]
        .map((a) => a.getAttribute('href'))
        .filter((h) => !document.getElementById(h.slice(1)));
      return {
        rows: rows.map((r) => r.getAttribute('data-conn')),
        charts: Object.fromEntries(charts.map((c) => [c, chart(`${c}-1`)])),
        findings,
        dangling,
      };
    }, CHARTS);

    // Rows by connection id (conns prints them as they end).
    const ids = [...p.conns].sort((a, b) => a - b).map(String);
    check(JSON.stringify(dom.rows) === JSON.stringify(ids),
      `${p.name}: connection rows ${JSON.stringify(dom.rows)}, conns records ${JSON.stringify(p.conns)}`);
    for (const c of CHARTS) {
      const ch = dom.charts[c];
      check(ch !== null && ch.tag === 'svg', `${p.name}: no svg #${c}-1`);
      check(ch.width > 300 && ch.height > 40, `${p.name}: #${c}-1 is ${ch.width}x${ch.height}`);
      check(ch.texts.length > 0, `${p.name}: #${c}-1 has no text`);
      check(ch.smallest >= 9, `${p.name}: #${c}-1 has text ${ch.smallest}px high`);
      if ((p.conns.length > 0 && ALWAYS.includes(c)) || (p.messages > 0 && WITH_MESSAGES.includes(c))) {
        check(!ch.empty && ch.marks > 5, `${p.name}: #${c}-1 draws nothing (${ch.marks} marks)`);
      }
    }
    // Every finding names its packet and links to that packet's row.
    check(dom.findings.length === p.findings.length,
      `${p.name}: ${dom.findings.length} finding rows, check has ${p.findings.length}`);
    const key = (v) => (v === null || v === undefined || v === '' ? 'none' : String(v));
    const got = dom.findings.map((f) => key(f.packet)).sort();
    const want = p.findings.map(key).sort();
    check(JSON.stringify(got) === JSON.stringify(want),
      `${p.name}: findings at packets ${got.join(',')}, check's at ${want.join(',')}`);
    dom.findings.forEach((f, i) => {
      if (f.packet) {
        check(f.link === `#pkt-1-${f.packet}` && f.target === 'packet' && f.targetText === `#${f.packet}`,
          `${p.name}: finding ${i + 1} (packet ${f.packet}) links ${f.link} to ${f.target} ${f.targetText}`);
      }
    });
    check(dom.dangling.length === 0, `${p.name}: links to nothing: ${dom.dangling.join(' ')}`);

    if (p.shot) {
      const png = join(spec.shots, `${p.name}.png`);
      await page.screenshot({ path: png, fullPage: true });
      check(statSync(png).size > 10000, `${p.name}: screenshot ${png} is nearly empty`);
    }
    check(fetched.length === 0, `${p.name}: fetched ${fetched.join(' ')}`);
    check(errors.length === 0, `${p.name}: errors ${errors.join('; ')}`);
    console.log(`ok ${p.name}: ${dom.rows.length} connection rows, ${dom.findings.length} findings, charts ${CHARTS.map((c) => `${c}:${dom.charts[c].empty ? 'empty' : dom.charts[c].marks}`).join(' ')}`);
    await page.close();
  }
});
