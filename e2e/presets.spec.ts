/**
 * Classroom presets: choosing one loads its experiment and what to look
 * for; every preset, shortened, runs all its seeds in the page and its
 * guidance then reads those runs' own numbers; a run finishes with the
 * ticket and both controls charted, exports a CSV of every round and PNGs
 * of the charts on the theme's background, and draws the ticket's kernel
 * mask. The README's pictures come from `npm run screenshots`, not from here.
 */
import { readFile } from 'node:fs/promises';
import { expect, test, type Download, type Page } from '@playwright/test';
import type { ExperimentConfigInput } from '../src/lib/engine/config';
import type { RunResults } from '../src/lib/engine/results';
import { formatCountSpread, formatSpread, spreadOf } from '../src/lib/presets/preset';
import { PRESETS, presetConfig, type Preset } from '../src/lib/presets/presets';
import { FIRST_VIEW_CAPTION } from '../src/lib/store/lab-defaults';
import type { StoredRun } from '../src/lib/store/run-db';
import { decodeConfigHash } from '../src/lib/store/config-hash';
import { CSV_COLUMNS } from '../src/lib/ui/export';
import { chartDatasets, openLab, runToEnd, storedRecords, waitForRunEnd } from './lab';
import { DEV_SERVER_URL } from './servers';

const TICKET_VS_RANDOM = PRESETS.find((p) => p.id === 'ticket-vs-random')!;

async function downloaded(page: Page, click: () => Promise<void>): Promise<{ download: Download; bytes: Buffer }> {
  const [download] = await Promise.all([page.waitForEvent('download'), click()]);
  return { download, bytes: await readFile((await download.path())!) };
}

/** RGBA of a PNG's top-left pixel, decoded by the browser. */
function cornerPixel(page: Page, png: Buffer): Promise<number[]> {
  return page.evaluate(async (base64) => {
    const image = new Image();
    image.src = `data:image/png;base64,${base64}`;
    await image.decode();
    const canvas = new OffscreenCanvas(image.width, image.height);
    const context = canvas.getContext('2d')!;
    context.drawImage(image, 0, 0);
    return [...context.getImageData(0, 0, 1, 1).data];
  }, png.toString('base64'));
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

test('choosing a preset loads its experiment and shows its guidance until the experiment is edited', async ({ page }) => {
  await openLab(page, null);
  for (const preset of PRESETS) {
    await page.getByTestId(`preset-${preset.id}`).click();
    await expect(page.getByTestId('preset-guidance')).toHaveAttribute('data-preset', preset.id);
    await expect(page.getByTestId('preset-guidance')).toHaveAttribute('data-finished', 'false');
    await expect(page.getByTestId('preset-guidance')).toContainText(preset.lookFor);
    await expect(page.getByTestId(`preset-${preset.id}`)).toHaveAttribute('aria-pressed', 'true');
    // The link (and so a run) holds exactly the preset's experiment.
    await expect.poll(() => page.evaluate(() => location.hash)).not.toBe('');
    const fromLink = decodeConfigHash(await page.evaluate(() => location.hash), presetConfig(PRESETS[0]));
    expect(fromLink.config, preset.id).toEqual(presetConfig(preset));
    await expect(page.getByTestId(`method-${presetConfig(preset).method}`)).toBeChecked();
  }

  await page.getByTestId(`preset-${TICKET_VS_RANDOM.id}`).click();
  await expect(page.getByTestId('control-randomReinit')).toBeChecked();
  await expect(page.getByTestId('control-randomPrune')).toBeChecked();
  await page.getByTestId('seed').fill('7');
  await expect(page.getByTestId('preset-guidance')).toHaveCount(0);
  await expect(page.getByTestId(`preset-${TICKET_VS_RANDOM.id}`)).toHaveAttribute('aria-pressed', 'false');
});

test('a shrunk ticket-vs-random run charts ticket and controls, exports CSV and PNGs, and draws the kernel mask', async ({ page }) => {
  test.setTimeout(360_000);
  // The preset's experiment at a fraction of its length, so the export checks do not wait minutes.
  const preset = presetConfig(TICKET_VS_RANDOM);
  const shrunk: ExperimentConfigInput = {
    ...preset,
    name: 'e2e-preset-shrunk',
    data: { ...preset.data, syntheticTrain: 800, syntheticTest: 200, validation: 100 },
    train: { ...preset.train, iterations: 30, evalEvery: 10 },
    // Two iterative rounds at twice the paper's rates, for a chart of three points.
    prune: { strategy: 'layerwise', rounds: 2, rate: { conv: 0.2, dense: 0.4, output: 0.2 } },
  };
  await openLab(page, shrunk);
  await runToEnd(page, 300_000);

  const finals = (await chartDatasets(page, 'accuracy')).filter((d) => d.measure === 'final');
  expect(finals.map((d) => d.series).sort()).toEqual(['randomPrune', 'randomReinit', 'ticket']);
  for (const dataset of finals) {
    const remaining = dataset.data.map((p) => p.x);
    expect(remaining).toHaveLength(3);
    expect(remaining[0]).toBeCloseTo(100, 5);
    // Twice the paper's rates: 0.6² of the (dense-dominated) weights remain.
    expect(remaining[2]).toBeGreaterThan(30);
    expect(remaining[2]).toBeLessThan(40);
  }

  const csv = await downloaded(page, () => page.getByTestId('export-csv-button').click());
  expect(csv.download.suggestedFilename()).toBe('e2e-preset-shrunk-results.csv');
  const [header, ...rows] = csv.bytes.toString('utf8').trimEnd().split('\r\n');
  expect(header).toBe(CSV_COLUMNS.join(','));
  expect(rows).toHaveLength(9);
  const cells = rows.map((row) => row.split(','));
  expect(new Set(cells.map((c) => c[0]))).toEqual(new Set(['ticket', 'randomReinit', 'randomPrune']));
  const ticketRows = cells.filter((c) => c[0] === 'ticket');
  expect(ticketRows.map((c) => Number(c[1]))).toEqual([0, 1, 2]);
  expect(Number(ticketRows[0][2])).toBe(100);
  const finalTicket = finals.find((d) => d.series === 'ticket')!.data;
  ticketRows.forEach((c, round) => {
    expect(Number(c[2])).toBeCloseTo(finalTicket[round].x, 2);
    expect(Number(c[4]) * 100).toBeCloseTo(finalTicket[round].y, 2);
    expect(Number(c[7])).toBeGreaterThan(0);
    expect(Number(c[8])).toBeGreaterThan(0);
  });

  // The curve chart shows any finished round's training curve on request.
  await page.getByTestId('curve-round').selectOption('randomReinit:1');
  const curveTitle = () => page.evaluate(() => String(window.__labCharts.curve.options.plugins?.title?.text));
  await expect.poll(curveTitle).toMatch(/^Training curve: Random reinit, round 1, /);
  const curvePoints = await page.evaluate(() => window.__labCharts.curve.data.datasets[0].data.length);
  expect(curvePoints).toBe(3);

  // PNGs are opaque, on the page's background in each theme.
  const light = await downloaded(page, () => page.getByTestId('accuracy-png').click());
  expect(light.download.suggestedFilename()).toBe('lottery-lab-test-accuracy-vs-weights-remaining.png');
  expect([...light.bytes.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
  expect(await cornerPixel(page, light.bytes)).toEqual([255, 255, 255, 255]);
  await page.emulateMedia({ colorScheme: 'dark' });
  await expect.poll(() => page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--bg').trim())).toBe('#15181d');
  const dark = await downloaded(page, () => page.getByTestId('layers-png').click());
  expect([...dark.bytes.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
  expect(await cornerPixel(page, dark.bytes)).toEqual([0x15, 0x18, 0x1d, 255]);
  await page.emulateMedia({ colorScheme: 'light' });

  // The ticket's conv masks, kernel by kernel: conv rate 0.2 over two rounds leaves 64% of each conv layer.
  await expect(page.getByTestId('kernel-mask-view')).toBeVisible();
  for (const layer of ['conv_1', 'conv_2']) {
    const caption = await page.getByTestId(`kernel-mask-caption-${layer}`).innerText();
    const [, alive, total] = caption.match(/weights alive ([\d,]+) of ([\d,]+)/)!;
    expect(Number(alive.replaceAll(',', '')) / Number(total.replaceAll(',', ''))).toBeCloseTo(0.64, 2);
    await expect(page.getByTestId(`kernel-mask-${layer}`)).toBeVisible();
  }
});

/**
 * Each preset's experiment cut to seconds per seed (smaller sets, a few
 * iterations or epochs, fewer rounds): the page bundles these in place of the
 * files, so the page sees the shortened experiment as the preset itself and
 * runs all its seeds.
 */
const SHORTENED: Record<string, (config: ExperimentConfigInput) => ExperimentConfigInput> = {
  'ticket-vs-random': (c) => ({ ...c, data: { ...c.data, syntheticTrain: 300, syntheticTest: 200, validation: 60 }, train: { ...c.train, iterations: 10, evalEvery: 10 } }),
  'early-bird': (c) => ({
    ...c,
    data: { ...c.data, syntheticTrain: 160, syntheticTest: 100, validation: 60 },
    model: { ...c.model, width: 0.125 },
    train: { ...c.train, epochs: 4, lrDecayEpochs: [3], evalEvery: 2 },
    earlybird: { ...c.earlybird, queueLength: 2, epsilon: 0.3 },
  }),
  'colt-vs-imp': (c) => ({ ...c, data: { ...c.data, syntheticTrain: 300, syntheticTest: 200, validation: 60 }, train: { ...c.train, iterations: 10, evalEvery: 10 }, prune: { rounds: 2 } }),
  'prune-lenet': (c) => ({ ...c, data: { ...c.data, syntheticTrain: 300, syntheticTest: 200, validation: 60 }, train: { ...c.train, iterations: 10, evalEvery: 10 }, prune: { ...c.prune, rounds: 3 } }),
  'which-filters': (c) => ({ ...c, data: { ...c.data, syntheticTrain: 300, syntheticTest: 200 }, train: { ...c.train, iterations: 10, evalEvery: 10 }, kslottery: { ...c.kslottery, probeIterations: 5 } }),
  'hidden-network': (c) => ({ ...c, data: { ...c.data, syntheticTrain: 160, syntheticTest: 100, validation: 40 }, train: { ...c.train, batchSize: 40, epochs: 1, evalEvery: 10 } }),
  'kernel-sizes': (c) => ({ ...c, data: { ...c.data, syntheticTrain: 120, syntheticTest: 60 }, train: { ...c.train, batchSize: 20, iterations: 6, evalEvery: 100 }, supertickets: { ...c.supertickets, events: 2, increment: 0.45 } }),
};

/** Branch channels the SuperTickets two-in-one arm kept with kernel size k, per run. */
function keptChannels(runs: RunResults[], k: number): number[] {
  return runs.map((r) =>
    Object.values((r as unknown as { supertickets: { arms: { twoInOne: { channels: Record<string, Record<string, number>> } } } }).supertickets.arms.twoInOne.channels).reduce((n, stage) => n + (stage[`k${k}`] ?? 0), 0),
  );
}

/** The accuracy the guidance must quote first for each preset, computed here from the stored runs' results: the measure each preset is about. */
const QUOTED: Record<string, (runs: RunResults[]) => string> = {
  'ticket-vs-random': (runs) => `the ticket kept ${formatSpread(spreadOf(runs.map((r) => r.rounds.at(-1)!.testAccuracy)))} test accuracy`,
  'early-bird': (runs) => {
    const tickets = runs.map((r) => (r as unknown as { ticket: { epoch: number | null; accuracyAfterRetraining: number | null; accuracyDense: number } }).ticket);
    const dense = formatSpread(spreadOf(tickets.map((t) => t.accuracyDense)));
    const drawn = tickets.filter((t) => t.epoch !== null);
    if (drawn.length === 0) return `no ticket was drawn in 4 epochs: the channel masks never came within ε of the last four, so the network trained dense to the end (${dense} test accuracy)`;
    // The retrained tickets against the dense baseline, the comparison the claim rests on.
    return `${formatSpread(spreadOf(drawn.map((t) => t.accuracyAfterRetraining!)))} after retraining, against ${dense} for the dense network trained the whole schedule`;
  },
  'colt-vs-imp': (runs) => {
    const colts = runs.map((r) => (r as unknown as { colt: { rounds: { sparsity: number }[]; imp: { rounds: unknown[] } } }).colt);
    // After the rounds that COLT and IMP both completed in every seed.
    const last = Math.min(...colts.map((c) => Math.min(c.rounds.length, c.imp.rounds.length))) - 1;
    return `after ${last} rounds COLT with 2 segments had pruned ${formatSpread(spreadOf(colts.map((c) => c.rounds[last].sparsity)))} of the conv weights`;
  },
  'prune-lenet': (runs) =>
    `went from ${formatSpread(spreadOf(runs.map((r) => r.rounds[0].testAccuracy)))} dense to ${formatSpread(spreadOf(runs.map((r) => r.rounds.at(-1)!.testAccuracy)))}`,
  'which-filters': (runs) => {
    const ks = runs.map((r) => (r as unknown as { kslottery: { arms: { ks: { k: number; partialTuning: number }[] } } }).kslottery.arms.ks);
    const largest = ks.map((points) => points.reduce((best, p) => (p.k > best.k ? p : best)));
    return `tuning ${largest[0].k} rows chosen by KS reached ${formatSpread(spreadOf(largest.map((p) => p.partialTuning)))}`;
  },
  'hidden-network': (runs) => {
    const tickets = runs.map((r) => (r as unknown as { edgepopup: { searches: { testAccuracy: number; untrainedMaskAccuracy: number }[] } }).edgepopup.searches[0]);
    return `reached ${formatSpread(spreadOf(tickets.map((t) => t.testAccuracy)))} test accuracy with every weight bit-identical to its random start; a random mask of that k in the same random network scored ${formatSpread(spreadOf(tickets.map((t) => t.untrainedMaskAccuracy)))}`;
  },
  // Width 0.125: each branch of the supernet starts with 8 + 8 + 16 + 16 channels.
  'kernel-sizes': (runs) => `the search kept ${formatCountSpread(spreadOf(keptChannels(runs, 3)))} of 48 3x3 and ${formatCountSpread(spreadOf(keptChannels(runs, 5)))} of 48 5x5 branch channels`,
};


// Replacing the presets' files needs the page to fetch them as modules of their own: the dev server's page does, a built one has them inside its bundle.
test.describe(() => {
test.use({ baseURL: DEV_SERVER_URL });
test('every preset, shortened, runs all its seeds in the page, and its guidance then quotes those runs\' own numbers', async ({ page }) => {
  test.setTimeout(1_200_000);
  const shortened = new Map(PRESETS.map((preset) => [preset.id, SHORTENED[preset.id](presetConfig(preset))]));
  await page.route(/\/experiments\/presets\/([\w-]+)\.json(\?.*)?$/, (route) => {
    const id = /\/experiments\/presets\/([\w-]+)\.json/.exec(route.request().url())![1];
    const config = shortened.get(id);
    if (!config) return route.continue();
    return route.fulfill({ contentType: 'text/javascript', body: `export default ${JSON.stringify(config)};` });
  });
  await openLab(page, null);
  // The first view has its caption; a preset replaces it with its guidance.
  await expect(page.getByTestId('first-view-caption')).toHaveText(FIRST_VIEW_CAPTION);
  const expectedIds: string[] = [];
  for (const preset of PRESETS) {
    await page.getByTestId(`preset-${preset.id}`).click();
    const guidance = page.getByTestId('preset-guidance');
    await expect(guidance).toHaveAttribute('data-preset', preset.id);
    await expect(guidance).toHaveAttribute('data-finished', 'false');
    await expect(page.getByTestId('first-view-caption')).toHaveCount(0);
    await page.getByTestId('run-button').click();
    // One Run press queues the preset's other seeds.
    await expect(page.getByTestId('queued-runs')).toContainText(`(seed ${preset.seeds[1]})`);
    await expect(page.getByTestId('queued-runs')).toHaveCount(0, { timeout: 600_000 });
    await waitForRunEnd(page, 600_000);
    await expect(guidance).toHaveAttribute('data-finished', 'true');

    // The runs as stored, one per seed: the guidance reads these, and so does this test. The last
    // run's results are stored a moment after its end shows.
    const storedRuns = async () => (await storedRecords<StoredRun>(page, 'runs')).filter((run) => run.config.name === preset.config.name && run.results);
    await expect.poll(async () => (await storedRuns()).map((run) => run.config.seed).sort(), { message: preset.id }).toEqual([...preset.seeds].sort());
    const stored = await storedRuns();
    const runs = preset.seeds.map((seed) => stored.find((run) => run.config.seed === seed)!.results!);
    expectedIds.push(preset.id);
    await expect(guidance.locator('p')).not.toContainText('still to run');
    const text = await guidance.locator('p').innerText();
    expect(text, preset.id).toContain(`In your run (seeds ${preset.seeds.join(', ')})`);
    expect(text, preset.id).toContain(QUOTED[preset.id](runs));
    // All of it is the preset's reading of those results.
    expect(text, preset.id).toBe((preset as Preset).readRuns(runs));
    // The chart draws each series as one mean line over the seeds, with its band.
    const ids = stored.map((run) => run.id).sort();
    const datasets = await chartDatasets(page, 'accuracy');
    const ofTheseRuns = datasets.filter((d) => d.measure === 'final' && JSON.stringify([...(d.runIds ?? [])].sort()) === JSON.stringify(ids));
    expect(ofTheseRuns.filter((d) => !d.bandOf).length, preset.id).toBeGreaterThan(0);
    expect(ofTheseRuns.filter((d) => d.bandOf).length, preset.id).toBeGreaterThan(0);
  }
  expect(expectedIds).toEqual(PRESETS.map((p) => p.id));
  expect(PRESETS.map((p) => p.id)).toEqual(['ticket-vs-random', 'early-bird', 'colt-vs-imp', 'prune-lenet', 'which-filters', 'hidden-network', 'kernel-sizes']);
});
});

// About 5 minutes of CPU per seed on this project's 2-core machine, so it runs on request:
// LAB_FULL_PRESETS=1 npx playwright test e2e/presets.spec.ts. `npm run screenshots` runs the same preset for the README.
test('the ticket-vs-random preset runs to completion as shipped, one seed, and its guidance quotes the ticket and both controls', async ({ page }) => {
  test.skip(!process.env.LAB_FULL_PRESETS, 'set LAB_FULL_PRESETS=1 to run a full-length preset (minutes on wasm)');
  test.setTimeout(900_000);
  await openLab(page, null);
  await page.getByTestId(`preset-${TICKET_VS_RANDOM.id}`).click();
  await page.getByTestId('preset-quick').check();
  await expect(page.getByTestId('preset-guidance')).toBeVisible();
  const started = Date.now();
  await runToEnd(page, 840_000);
  console.log(`preset ${TICKET_VS_RANDOM.id} (quick) ran in ${((Date.now() - started) / 1000).toFixed(0)} s`);

  const finals = (await chartDatasets(page, 'accuracy')).filter((d) => d.measure === 'final');
  expect(finals.map((d) => d.series).sort()).toEqual(['randomPrune', 'randomReinit', 'ticket']);
  for (const dataset of finals) expect(dataset.data.map((p) => Math.round(p.x))).toEqual([100, 3]);
  const guidance = page.getByTestId('preset-guidance');
  await expect(guidance).toHaveAttribute('data-finished', 'true');
  const sparsest = (series: string) => finals.find((d) => d.series === series)!.data.at(-1)!;
  await expect(guidance).toContainText(
    `the ticket kept ${sparsest('ticket').y.toFixed(1)}% test accuracy at ${sparsest('ticket').x.toFixed(1)}% of weights remaining; ` +
      `random reinit ${sparsest('randomReinit').y.toFixed(1)}%, random pruning ${sparsest('randomPrune').y.toFixed(1)}%`,
  );
  await expect(guidance).toContainText('One seed has no spread to judge a gap by');
  await expect(page.getByTestId('kernel-mask-view')).toBeVisible();
});
