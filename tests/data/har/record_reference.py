#!/usr/bin/env python3
"""Records tests/data/har/chromium-reference.har: a real page in Debian's
headless Chromium (driven by playwright-core's recordHar, content embedded)
talking to a real WebSocket server (python websockets) on loopback; the
server serves the page and echoes, then stops by itself.

    cd tests/data/har && python3 record_reference.py
"""
import asyncio, json, os, subprocess, sys

import websockets
from websockets.asyncio.server import serve

PAGE = b"""<!doctype html><title>ws</title><script>
const ws = new WebSocket('ws://' + location.host + '/echo');
ws.binaryType = 'arraybuffer';
let n = 0;
ws.onopen = () => { ws.send('hello \\u00e9'); ws.send(new Uint8Array([0, 1, 2, 255])); };
ws.onmessage = () => { if (++n == 2) { ws.close(1000, 'done'); document.title = 'done'; } };
</script>"""

async def handler(ws):
    async for m in ws:
        await ws.send(m)

def page(connection, request):
    if request.path == "/":
        r = connection.respond(200, PAGE.decode())
        del r.headers["Content-Type"]  # (Headers: assignment appends)
        r.headers["Content-Type"] = "text/html"
        return r
    return None

DRIVER = r"""
import { chromium } from 'playwright-core';
const [url, har] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const ctx = await browser.newContext({ recordHar: { path: har, content: 'embed' } });
const page = await ctx.newPage();
await page.goto(url);
await page.waitForFunction(() => document.title === 'done', null, { timeout: 10000 });
await page.waitForTimeout(300);
await ctx.close();
await browser.close();
"""

async def main():
    async with serve(handler, "127.0.0.1", 0, process_request=page) as server:
        port = server.sockets[0].getsockname()[1]
        here = os.path.dirname(os.path.abspath(__file__))
        browser_dir = os.path.join(here, "..", "..", "browser")
        drv = os.path.join(browser_dir, "record-har.tmp.mjs")
        with open(drv, "w") as f:
            f.write(DRIVER)
        try:
            p = await asyncio.create_subprocess_exec(
                "node", drv, f"http://127.0.0.1:{port}/",
                os.path.join(here, "chromium-reference.har"))
            rc = await asyncio.wait_for(p.wait(), 60)
        finally:
            os.remove(drv)
        sys.exit(rc)

asyncio.run(main())
