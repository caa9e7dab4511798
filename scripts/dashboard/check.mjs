// check.mjs SITE_DIR SHOT_DIR [PAGE,...]: opens every page of a built dashboard in
// headless Chromium (Debian's /usr/bin/chromium, or $CHROMIUM), fails on a
// console error, a page error, a failed request or a chart without data
// points, and saves a PNG screenshot of each page.  Prints one line per
// page: "page NAME charts N points N" or "FAIL NAME: why"; exits 1 on a failure.
import puppeteer from 'puppeteer-core';
import fs from 'node:fs';
import path from 'node:path';

const [site, shots, only] = process.argv.slice(2);
const pages = fs.readdirSync(site).filter(f => f.endsWith('.html'))
  .filter(f => !only || only.split(',').includes(path.basename(f, '.html'))).sort();
fs.mkdirSync(shots, { recursive: true });
const args = ['--headless=new', '--disable-gpu', '--hide-scrollbars', '--allow-file-access-from-files'];
if (process.getuid && process.getuid() === 0) args.push('--no-sandbox');
const browser = await puppeteer.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args });
let failed = 0;
try {
  for (const file of pages) {
    const name = path.basename(file, '.html');
    const errors = [];
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    page.on('console', m => { if (m.type() === 'error') errors.push('console: ' + m.text()); });
    page.on('pageerror', e => errors.push('page error: ' + e.message));
    page.on('requestfailed', r => errors.push('request failed: ' + r.url()));
    await page.goto('file://' + path.resolve(site, file), { waitUntil: 'load' });
    await page.waitForFunction('window.eltReady === true', { timeout: 15000 }).catch(() => errors.push('page not ready'));
    // Every chart: its series, and the data points with a value in them.
    const charts = await page.evaluate(() => (window.eltCharts || []).map(c => ({
      title: c.eltTitle,
      series: (c.getOption().series || []).map(s => ({
        name: s.name,
        points: (s.data || []).filter(p => {
          const v = p !== null && typeof p === 'object' && !Array.isArray(p) ? p.value : p;
          const x = Array.isArray(v) ? v[v.length - 1] : v;
          return x !== null && x !== undefined && x !== '-' && !Number.isNaN(Number(x));
        }).length })),
      canvas: (() => { const cv = c.getDom().querySelector('canvas');
                       return cv ? cv.width * cv.height : 0; })(),
    })));
    if (charts.length === 0) errors.push('no chart');
    let points = 0;
    for (const c of charts) {
      if (c.canvas === 0) errors.push('chart "' + c.title + '" has no canvas');
      const drawn = c.series.filter(s => s.name !== 'base');
      if (drawn.length === 0) errors.push('chart "' + c.title + '" has no series');
      for (const s of drawn) {
        if (s.points === 0) errors.push('chart "' + c.title + '" series "' + s.name + '" has no data');
        points += s.points;
      }
    }
    await page.screenshot({ path: path.join(shots, name + '.png'), fullPage: true });
    await page.close();
    if (errors.length) { failed++; console.log('FAIL ' + name + ': ' + errors.join('; ')); }
    else console.log('page ' + name + ' charts ' + charts.length + ' points ' + points);
  }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
