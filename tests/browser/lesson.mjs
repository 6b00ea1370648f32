// Checks the pages of `wsdissect lesson -o DIR` in headless Chromium
// (Debian's /usr/bin/chromium driven by playwright-core).
// Run by tests/lesson.rs:   node lesson.mjs SPEC.json
// SPEC.json: {"dir": DIR, "pages": [chapter page file names, in the index's
// order], "titles": [a word each chapter's title holds, in order]}.
// Per page (index.html, then every chapter): loads with no console error
// and no uncaught exception, requests nothing but the page itself, shows
// its title; a chapter shows the lesson above explain's walkthrough, and
// its "next" link, clicked, opens the next chapter. Prints "ok PAGE" per
// page; exits 1 on the first failed check.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { check, openPage, withBrowser } from './common.mjs';

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));

await withBrowser(async (context) => {
  const all = ['index.html', ...spec.pages];
  for (const [n, name] of all.entries()) {
    const url = pathToFileURL(join(spec.dir, name)).href;
    const { page, fetched: requests, errors } = await openPage(context, url, {
      onlyItself: true,
      consoleTypes: ['error'],
    });
    await page.waitForLoadState('load');
    check(errors.length === 0, `${name}: console errors ${JSON.stringify(errors)}`);
    check(requests.length === 0, `${name}: requested ${JSON.stringify(requests)}`);
    const dom = await page.evaluate(() => {
      const lesson = document.getElementById('lesson');
      const h1 = lesson ? lesson.querySelector('h1') : null;
      const r = h1 ? h1.getBoundingClientRect() : null;
      return {
        title: document.title,
        h1: h1 ? h1.textContent : null,
        h1Visible: r !== null && r.height > 0 && r.width > 0,
        walkthrough: !!document.getElementById('glance') && !!document.getElementById('push'),
        walkAfterLesson: lesson && document.getElementById('glance')
          ? !!(lesson.compareDocumentPosition(document.getElementById('glance')) & Node.DOCUMENT_POSITION_FOLLOWING)
          : false,
        chapterLinks: [...document.querySelectorAll('#chapters a[href$=".html"]')].map((a) => a.getAttribute('href')),
        figures: document.querySelectorAll('#lesson-figures tr[data-figure]').length,
      };
    });
    check(dom.h1Visible, `${name}: no visible lesson heading`);
    if (n === 0) {
      check(JSON.stringify(dom.chapterLinks) === JSON.stringify(spec.pages),
        `index.html links ${JSON.stringify(dom.chapterLinks)}`);
    } else {
      const word = spec.titles[n - 1];
      check(dom.h1.toLowerCase().startsWith(`${n}. `) && dom.h1.toLowerCase().includes(word),
        `${name}: heading ${dom.h1} is not chapter ${n} (${word})`);
      check(dom.title.startsWith(`${n}. `), `${name}: title ${dom.title}`);
      check(dom.walkthrough, `${name}: explain's walkthrough is missing`);
      check(dom.walkAfterLesson, `${name}: the walkthrough is not below the lesson`);
      check(dom.figures >= 3, `${name}: ${dom.figures} figures`);
      if (n < spec.pages.length) {
        await Promise.all([page.waitForURL(/\.html$/), page.click('#lesson-top a[rel="next"]')]);
        const after = page.url();
        check(after === pathToFileURL(join(spec.dir, spec.pages[n])).href, `${name}: next leads to ${after}`);
      }
    }
    console.log(`ok ${name}`);
    await page.close();
  }
});
