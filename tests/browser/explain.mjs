// Checks `explain --format html` pages in headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core), from the browser's DOM.
// Run by tests/browser.rs:   node explain.mjs SPEC.json
// SPEC.json: {"shots": DIR, "pages": [{"name", "html", "frames", "t0",
// "syn_packet"}]}: `html` the page's file, `frames` the connection's frame
// records from `frames --format json --payload hex`, `t0` the capture's
// first packet (epoch seconds), `syn_packet` the client's SYN or null,
// `full`: also keyboard stepping and screenshots.
// Prints one line per page; exits 1 on the first failed check.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { check, openPage, withBrowser } from './common.mjs';

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));

function bitsOf(value, n) {
  let s = '';
  for (let i = n - 1; i >= 0; i--) s += (BigInt(value) >> BigInt(i)) & 1n ? '1' : '0';
  return s;
}
function hexBits(hex) {
  let s = '';
  for (let i = 0; i + 1 < hex.length; i += 2) s += bitsOf(parseInt(hex.slice(i, i + 2), 16), 8);
  return s;
}

// The header bits RFC 6455 section 5.2 lays out, from the frame's record.
function headerBits(f) {
  const len = f.payload_len;
  const len7 = len < 126 ? len : len < 65536 ? 126 : 127;
  let s = (f.fin ? '1' : '0') + (f.rsv1 ? '1' : '0') + (f.rsv2 ? '1' : '0') + (f.rsv3 ? '1' : '0');
  s += bitsOf(f.opcode, 4) + (f.masked ? '1' : '0') + bitsOf(len7, 7);
  if (len7 === 126) s += bitsOf(len, 16);
  if (len7 === 127) s += bitsOf(len, 64);
  if (f.masked) s += hexBits(f.mask_key);
  return s;
}

// The first payload bytes as on the wire (masked with the key when masked).
function wirePayloadBits(f, n) {
  const p = f.payload_hex || '';
  const key = f.mask_key || '';
  let s = '';
  for (let i = 0; i < n && 2 * i + 1 < p.length; i++) {
    let b = parseInt(p.slice(2 * i, 2 * i + 2), 16);
    if (f.masked) b ^= parseInt(key.slice(2 * (i % 4), 2 * (i % 4) + 2), 16);
    s += bitsOf(b, 8);
  }
  return s;
}

await withBrowser(async (context) => {
  for (const p of spec.pages) {
    const { page, fetched, errors } = await openPage(context, pathToFileURL(p.html).href);
    const frames = p.frames;

    // One arrow per frame, each leading to its card and the card back to it.
    const dom = await page.evaluate(() => {
      const arrows = [...document.querySelectorAll('svg.sequence a.arrow')];
      return arrows.map((a) => {
        const href = a.getAttribute('href');
        const card = href ? document.getElementById(href.slice(1)) : null;
        const back = card ? card.querySelector('a.back') : null;
        const backTo = back ? document.getElementById(back.getAttribute('href').slice(1)) : null;
        const line = a.querySelector('line.shaft');
        return {
          href,
          cardClass: card ? card.className : null,
          backIsArrow: backTo === a,
          ts: Number(a.getAttribute('data-ts')),
          y: line ? line.getBoundingClientRect().top + window.scrollY : null,
          colour: line ? line.getAttribute('stroke') : null,
          opcode: a.getAttribute('data-opcode'),
        };
      });
    });
    check(dom.length === frames.length, `${p.name}: ${dom.length} arrows for ${frames.length} frames`);
    dom.forEach((a, i) => {
      check(a.href === `#frame-${i + 1}`, `${p.name}: arrow ${i + 1} links to ${a.href}`);
      check(a.cardClass === 'frame', `${p.name}: ${a.href} is not a frame card`);
      check(a.backIsArrow, `${p.name}: card ${i + 1} does not link back to its arrow`);
      check(a.opcode === frames[i].opcode_name, `${p.name}: arrow ${i + 1} is ${a.opcode}, the frame ${frames[i].opcode_name}`);
    });
    // Drawn to a time axis: later frames lower down; colours by opcode.
    const byTime = [...dom].sort((a, b) => a.ts - b.ts);
    for (let i = 1; i < byTime.length; i++) {
      check(byTime[i].y >= byTime[i - 1].y, `${p.name}: arrows out of time order`);
    }
    const colourOf = {};
    for (const a of dom) {
      check(colourOf[a.opcode] === undefined || colourOf[a.opcode] === a.colour,
        `${p.name}: ${a.opcode} arrows in two colours`);
      colourOf[a.opcode] = a.colour;
    }
    check(new Set(Object.values(colourOf)).size === Object.keys(colourOf).length,
      `${p.name}: two opcodes share a colour`);

    // The table of contents, every link of it resolving.
    const nav = await page.evaluate(() => {
      const n = document.querySelector('nav');
      if (!n) return null;
      const links = [...n.querySelectorAll('a[href^="#"]')];
      return { links: links.length, dangling: links.filter((l) => !document.getElementById(l.getAttribute('href').slice(1))).map((l) => l.getAttribute('href')) };
    });
    check(nav !== null, `${p.name}: no <nav>`);
    check(nav.links >= frames.length && nav.dangling.length === 0, `${p.name}: nav links ${JSON.stringify(nav)}`);

    // The TCP section: present (the contents link to it); each card's TCP
    // paragraph names the packet that completed its frame; every link of
    // the section resolves.
    const tcp = await page.evaluate(() => ({
      section: document.getElementById('tcp') !== null,
      paras: [...document.querySelectorAll('div.frame')].map((c) => {
        const t = c.querySelector('p.frame-tcp');
        return t ? t.textContent : null;
      }),
      dangling: [...document.querySelectorAll('table.heartbeats a[href^="#"]')]
        .filter((l) => !document.getElementById(l.getAttribute('href').slice(1))).length,
    }));
    check(tcp.section && tcp.dangling === 0, `${p.name}: TCP section ${JSON.stringify(tcp.section)}, ${tcp.dangling} dangling links`);
    tcp.paras.forEach((t, i) => {
      check(t === null || t.includes(`#${frames[i].packet}`), `${p.name}: card ${i + 1}'s TCP lacks packet ${frames[i].packet}: ${t}`);
    });

    // The client's SYN on the diagram, above the first frame.
    if (p.syn_packet !== null) {
      const syn = await page.evaluate((pkt) => {
        const g = document.querySelector(`svg.sequence g.tcp[data-kind="SYN"][data-packet="${pkt}"]`);
        if (!g) return null;
        const r = g.getBoundingClientRect();
        return { y: r.top + window.scrollY, h: r.height };
      }, p.syn_packet);
      check(syn !== null && syn.h > 0, `${p.name}: SYN (packet ${p.syn_packet}) not drawn`);
      check(dom.length === 0 || syn.y < dom[0].y, `${p.name}: SYN below the first frame`);
    }

    // Every card: heading with packet and time, a 32-bit diagram of the
    // frame's own bits, hex dumps preformatted.
    const cards = await page.evaluate(() => [...document.querySelectorAll('div.frame')].map((c) => ({
      id: c.id,
      tabindex: c.getAttribute('tabindex'),
      heading: c.querySelector('h3').textContent,
      rows: [...c.querySelectorAll('table.bits tr.row')].map((r) => [...r.querySelectorAll('td[data-bit]')].map((td) => ({
        bit: td.getAttribute('data-bit'), field: td.getAttribute('data-field'), text: td.textContent,
      }))),
      preWrapped: [...c.querySelectorAll('pre')].some((e) => getComputedStyle(e).whiteSpace !== 'pre'),
    })));
    check(cards.length === frames.length, `${p.name}: ${cards.length} cards for ${frames.length} frames`);
    cards.forEach((c, i) => {
      const f = frames[i];
      check(c.id === `frame-${i + 1}` && c.tabindex === '0', `${p.name}: card ${i + 1} is ${c.id}, tabindex ${c.tabindex}`);
      check(c.heading.includes(`packet #${f.packet}`) || c.heading.includes(`to #${f.packet}`),
        `${p.name}: card ${i + 1} heading lacks packet ${f.packet}: ${c.heading}`);
      const t = c.heading.match(/\+(\d+\.\d{6}) s/);
      check(t && Math.abs(Number(t[1]) - (f.ts - p.t0)) < 2e-6,
        `${p.name}: card ${i + 1} time ${t && t[1]}, the frame's ${f.ts - p.t0}`);
      check(c.rows.length >= 1, `${p.name}: card ${i + 1} has no bit diagram`);
      for (const r of c.rows) {
        check(r.length === 32 && r.every((x, k) => x.bit === String(k)),
          `${p.name}: card ${i + 1}: a row of ${r.length} cells, data-bit ${r.map((x) => x.bit).join(',')}`);
      }
      const cells = c.rows.flat();
      const header = cells.filter((x) => x.field !== 'payload data').map((x) => x.text).join('');
      // The length in the form the frame used: the minimal one unless the
      // frame was flagged for a longer form.
      const len7 = parseInt(header.slice(9, 16), 2);
      const ext = len7 === 126 ? 16 : len7 === 127 ? 64 : 0;
      const declared = ext ? BigInt('0b' + header.slice(16, 16 + ext)) : BigInt(len7);
      check(declared === BigInt(f.payload_len), `${p.name}: card ${i + 1} declares ${declared}, the frame ${f.payload_len}`);
      const want = f.findings.includes('frame.non-minimal-length')
        ? headerBits(f).slice(0, 9) + header.slice(9, 16 + ext) + (f.masked ? hexBits(f.mask_key) : '')
        : headerBits(f);
      check(header === want, `${p.name}: card ${i + 1} header bits ${header}, the frame's ${want}`);
      check(cells.slice(0, 16).map((x) => x.field).join(',') ===
        'FIN,RSV1,RSV2,RSV3,opcode,opcode,opcode,opcode,MASK,payload len,payload len,payload len,payload len,payload len,payload len,payload len',
        `${p.name}: card ${i + 1}: the first row is not laid out as section 5.2`);
      if (!f.rsv1) {
        const shown = cells.filter((x) => x.field === 'payload data' && x.text !== '\u00b7').map((x) => x.text).join('');
        const want = wirePayloadBits(f, 4).slice(0, shown.length);
        check(shown === want, `${p.name}: card ${i + 1} payload bits ${shown}, on the wire ${want}`);
      }
      check(!c.preWrapped, `${p.name}: card ${i + 1}: a hex dump wraps`);
    });
    const tablePre = await page.evaluate(() => [...document.querySelectorAll('#messages ~ table td')]
      .filter((td) => /^0000 {2}/.test(td.textContent)).every((td) => td.querySelector('pre')));
    check(tablePre, `${p.name}: a hex dump in the messages table is not preformatted`);

    // Keyboard stepping: j from the top to card 1, j to card 2, k back, and
    // the right arrow forward.
    if (p.full && cards.length >= 2) {
      await page.evaluate(() => window.scrollTo(0, 0));
      const active = () => page.evaluate(() => document.activeElement && document.activeElement.id);
      await page.keyboard.press('j');
      check(await active() === 'frame-1', `${p.name}: j from the top focuses ${await active()}`);
      await page.keyboard.press('j');
      check(await active() === 'frame-2', `${p.name}: j from card 1 focuses ${await active()}`);
      await page.keyboard.press('k');
      check(await active() === 'frame-1', `${p.name}: k from card 2 focuses ${await active()}`);
      await page.keyboard.press('ArrowRight');
      check(await active() === 'frame-2', `${p.name}: the right arrow from card 1 focuses ${await active()}`);
      const current = await page.evaluate(() => document.querySelector('a.arrow.current').id);
      check(current === 'arrow-2', `${p.name}: the diagram marks ${current} for card 2`);
      await page.screenshot({ path: join(spec.shots, `${p.name}-card2.png`) });
    }
    if (p.full) {
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: join(spec.shots, `${p.name}.png`) });
    }
    // Printed: black on white, no sticky table of contents, cards kept whole.
    await page.emulateMedia({ media: 'print' });
    const print = await page.evaluate(() => {
      const c = document.querySelector('div.frame');
      return {
        nav: getComputedStyle(document.querySelector('nav')).position,
        colour: getComputedStyle(document.querySelector('.meaning') || document.body).color,
        breakInside: c ? getComputedStyle(c).breakInside : 'avoid',
      };
    });
    check(print.nav !== 'sticky' && print.colour === 'rgb(0, 0, 0)' && print.breakInside === 'avoid',
      `${p.name}: print style ${JSON.stringify(print)}`);
    check(fetched.length === 0, `${p.name}: fetched ${fetched.join(' ')}`);
    check(errors.length === 0, `${p.name}: script errors ${errors.join('; ')}`);
    console.log(`ok ${p.name}: ${dom.length} arrows, ${cards.length} cards, SYN ${p.syn_packet ?? 'not in the capture'}`);
    await page.close();
  }
});
