// report.saveHtml(path): the evaluation report as one self-contained HTML page, opened in headless
// Chromium (Debian's chromium, driven by playwright-core; scripts/ensure-chromium.mjs installs it).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { Recognite, Tensor, ValidationError, type EvaluationReportWithHtml, type Recognizer } from 'recognite-ts';
import { REPO_ROOT } from './helpers.js';

const OUT = join(REPO_ROOT, 'out', 'test');
// $RECOGNITE_CHROMIUM, when set, is the only candidate (as in scripts/ensure-chromium.mjs)
const CHROMIUM = (
  process.env.RECOGNITE_CHROMIUM ? [process.env.RECOGNITE_CHROMIUM] : ['/usr/bin/chromium', '/usr/bin/chromium-browser']
).find((p) => existsSync(p));
const EVIL = '<b>bold</b> & "quoted"'; // a label that must stay text
const NO_CHROMIUM =
  'Chromium is not installed, so the report is not checked in a browser: run node scripts/ensure-chromium.mjs ' +
  "(as root it installs Debian's chromium) or set RECOGNITE_CHROMIUM";

let rt: Recognite;
let model: Recognizer;
let dir: string;
let browser: Browser | undefined;
let fromData: EvaluationReportWithHtml;
before(async () => {
  rt = await Recognite.start({ device: 'cpu' });
  model = await rt.createRecognizer({ modelName: 'resnet18' });
  dir = mkdtempSync(join(tmpdir(), 'recognite-report-'));
  mkdirSync(OUT, { recursive: true });
  const ds = await rt.data.generateSynthetic({
    outDir: join(dir, 'ds'),
    identities: 20,
    samplesPerIdentity: 4,
    size: 32,
  });
  const parts = await rt.data.trainValDatasets(ds, { outDir: join(dir, 'parts'), numFolds: 2, valFold: 0, numRefs: 1 });
  fromData = await model.evaluate({ gallery: parts.gallery, query: parts.query }); // only the required options
  if (CHROMIUM) browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});
after(async () => {
  await browser?.close();
  await rt.close();
  rmSync(dir, { recursive: true, force: true });
});

interface PageCheck {
  consoleErrors: string[];
  requests: string[];
  counts: Record<string, number>;
  kinds: string[];
  matchesPerRow: number[];
  brokenImages: number;
}

/** Open a saved report; record console errors and every request but the file itself; count what it shows. */
async function openInChromium(path: string, screenshot?: string): Promise<PageCheck> {
  const page = await browser!.newPage();
  const url = pathToFileURL(path).href;
  const consoleErrors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  page.on('request', (r) => {
    if (r.url() !== url && !r.url().startsWith('data:')) requests.push(r.url());
  });
  await page.route('**/*', (route) => (route.request().url() === url ? route.continue() : route.abort()));
  await page.goto(url, { waitUntil: 'load' });
  const count = (sel: string): Promise<number> => page.locator(sel).count();
  const counts: Record<string, number> = {};
  for (const sel of [
    'figure[data-chart="pr-curve"] svg',
    'figure[data-chart="cmc"] svg',
    'figure[data-chart="hist-positive"] svg',
    'figure[data-chart="hist-negative"] svg',
    'figure[data-chart="ap-per-label"] svg',
    'figure[data-chart="hist-positive"] .thresholds_marks line',
    'figure[data-chart="hist-negative"] .thresholds_marks line',
    'tr.query-row',
    'tr.query-row.worst',
    'img.thumb',
    '.thumb.none',
    'td.match.correct',
    'td.match.wrong',
    'script',
    'b',
  ]) {
    counts[sel] = await count(sel);
  }
  const kinds = await page.locator('tr.query-row .kind').allTextContents();
  const matchesPerRow: number[] = [];
  for (const row of await page.locator('tr.query-row').all()) matchesPerRow.push(await row.locator('td.match').count());
  // a string expression: the tests are typed without the DOM library
  const brokenImages = await page.evaluate<number>(
    '[...document.images].filter((i) => !i.complete || i.naturalWidth === 0).length',
  );
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  await page.close();
  return { consoleErrors, requests, counts, kinds, matchesPerRow, brokenImages };
}

describe('the report holds what its page draws', () => {
  test('histograms, PR curve and retrieval list with only the required options; saveHtml is not data', () => {
    const r = fromData;
    assert.equal(r.numQueries, 30);
    assert.equal(r.numGallery, 10);
    const { edges, positive, negative } = r.pairHistogram;
    assert.ok(positive.length > 0 && positive.length <= 50 && edges.length === positive.length + 1);
    assert.equal(
      positive.reduce((a, b) => a + b),
      30,
    ); // one gallery image per label
    assert.equal(
      negative.reduce((a, b) => a + b),
      30 * 9,
    );
    assert.equal(r.prCurve.recall.length, 101);
    assert.equal(r.prCurve.queries, 30);
    const kinds = r.retrieval.map((e) => e.kind);
    const worst = kinds.filter((k) => k === 'worst').length;
    assert.ok(worst >= 1 && worst <= 12, `${worst} worst queries`);
    assert.deepEqual(kinds, [...Array<string>(worst).fill('worst'), ...Array<string>(4).fill('best')]);
    const worstAps = r.retrieval.filter((e) => e.kind === 'worst').map((e) => e.ap!);
    assert.ok(
      worstAps.every((ap) => ap < 1),
      'a perfectly ranked query is not called worst',
    );
    assert.deepEqual(
      worstAps,
      [...worstAps].sort((a, b) => a - b),
    );
    for (const e of r.retrieval) {
      assert.equal(e.matches.length, 5);
      assert.ok(e.image && existsSync(e.image));
    }
    assert.equal(typeof r.saveHtml, 'function');
    assert.ok(!Object.keys(r).includes('saveHtml'));
    assert.ok(!JSON.stringify(r).includes('saveHtml'));
  });
});

describe('saveHtml', () => {
  test('writes one self-contained page (no script, nothing fetched), atomically', async () => {
    const path = join(OUT, 'report.html');
    await fromData.saveHtml(path, { title: 'Synthetic <test> & report', checkpoint: 'none/at-all.pt' });
    const html = readFileSync(path, 'utf8');
    assert.ok(html.includes('Synthetic &lt;test&gt; &amp; report'));
    assert.ok(html.includes('none/at-all.pt'));
    assert.ok(!/<script/i.test(html));
    assert.ok(!/(src|href)="(?!data:)[a-z]+:/i.test(html), 'no URL but data: URIs');
    assert.ok(!/url\(/.test(html));
    assert.equal((html.match(/<svg/g) ?? []).length, 5);
    assert.equal((html.match(/src="data:image\/jpeg;base64,/g) ?? []).length, fromData.retrieval.length * 6);
    assert.ok(statSync(path).size < 2_000_000, `${statSync(path).size} bytes`);
    assert.deepEqual(
      readdirSync(OUT).filter((f) => f.endsWith('.tmp')),
      [],
      'no temporary file left',
    );
  });

  test('refuses a missing folder, a folder as the path and bad options with ValidationError', async () => {
    await assert.rejects(fromData.saveHtml(join(dir, 'nope', 'r.html')), (e: unknown) => {
      assert.ok(e instanceof ValidationError);
      assert.match(e.message, /folder not found/);
      return true;
    });
    await assert.rejects(fromData.saveHtml(dir), /is a folder/);
    await assert.rejects(fromData.saveHtml(''), ValidationError);
    await assert.rejects(fromData.saveHtml(join(dir, 'r.html'), { titel: 'x' } as never), /unknown option/);
  });

  test('in Chromium: no console error, no request, curves, histograms with thresholds, the grid', async (t) => {
    if (!browser) {
      t.skip(NO_CHROMIUM);
      return;
    }
    const path = join(OUT, 'report.html');
    if (!existsSync(path)) await fromData.saveHtml(path);
    const page = await openInChromium(path, join(OUT, 'report.png'));
    assert.deepEqual(page.consoleErrors, []);
    assert.deepEqual(page.requests, []);
    for (const chart of ['pr-curve', 'cmc', 'hist-positive', 'hist-negative', 'ap-per-label']) {
      assert.equal(page.counts[`figure[data-chart="${chart}"] svg`], 1, chart);
    }
    const { maxF1, falseAcceptTargets } = fromData.thresholds;
    const rules = new Set([maxF1?.threshold, ...falseAcceptTargets.map((f) => f.threshold)].filter((v) => v != null))
      .size;
    assert.ok(rules >= 1);
    assert.equal(page.counts['figure[data-chart="hist-positive"] .thresholds_marks line'], rules);
    assert.equal(page.counts['figure[data-chart="hist-negative"] .thresholds_marks line'], rules);
    const rows = fromData.retrieval.length;
    const worst = fromData.retrieval.filter((e) => e.kind === 'worst').length;
    assert.equal(page.counts['tr.query-row'], rows);
    assert.equal(page.counts['tr.query-row.worst'], worst);
    assert.deepEqual(page.matchesPerRow, Array<number>(rows).fill(5));
    assert.deepEqual(page.kinds[0], 'worst #1');
    assert.equal(page.kinds[worst], 'best #1');
    assert.equal(page.counts['img.thumb'], rows * 6);
    assert.equal(page.brokenImages, 0);
    assert.equal(page.counts['td.match.correct']! + page.counts['td.match.wrong']!, rows * 5);
    assert.equal(page.counts.script, 0);
    assert.ok(statSync(join(OUT, 'report.png')).size > 10_000);
  });

  test('a report of embeddings (no images) renders: the grid with placeholders and a note', async (t) => {
    const rows = (v: number[][]): Tensor<'float32'> => new Tensor(Float32Array.from(v.flat()), [v.length, 3]);
    const gallery = {
      embeddings: rows([
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
      ]),
      labels: ['a', EVIL, 'c'],
    };
    const query = {
      embeddings: rows([
        [0.9, 0.1, 0],
        [0.1, 0.9, 0.1],
        [0.8, 0.5, 0],
      ]),
      labels: ['a', EVIL, EVIL],
    };
    const report = await model.evaluate({ gallery, query });
    assert.ok(report.retrieval.every((e) => e.image === null && e.matches.every((m) => m.image === null)));
    const path = join(OUT, 'report-embeddings.html');
    await report.saveHtml(path);
    const html = readFileSync(path, 'utf8');
    assert.ok(html.includes('no query images') && html.includes('embeddings (3 rows)'));
    assert.ok(!html.includes(EVIL) && html.includes('&lt;b&gt;'), 'labels are escaped, in the grid and the charts');
    if (!browser) {
      t.skip(NO_CHROMIUM);
      return;
    }
    const page = await openInChromium(path, join(OUT, 'report-embeddings.png'));
    assert.deepEqual(page.consoleErrors, []);
    assert.deepEqual(page.requests, []);
    assert.equal(page.counts['tr.query-row'], 3); // 3 queries: 1 worst (AP 0.5), 2 best (AP 1)
    assert.deepEqual(page.matchesPerRow, [3, 3, 3]); // the gallery has 3 items
    assert.equal(page.counts['img.thumb'], 0);
    assert.equal(page.counts['.thumb.none'], 12);
    assert.equal(page.counts.b, 0, 'a label became markup');
  });
});
