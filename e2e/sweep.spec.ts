/**
 * A tiny sweep in the page: queued in the worker, every run kept in
 * IndexedDB, a reload midway picks it up where it stopped, and when it ends
 * every view of the sweep is drawn from all its runs.
 */
import { expect, test } from '@playwright/test';
import { backendReport, chartDatasets, finalAccuracyLines, openLab, runToEnd, storedRecords } from './lab';

const tinySweep = {
  name: 'e2e-sweep',
  base: {
    method: 'imp',
    data: { source: 'synthetic', syntheticTrain: 200, syntheticTest: 100, validation: 50 },
    model: { arch: 'lenet-300-100', width: 0.1 },
    train: { lr: 0.002, batchSize: 25, iterations: 10, evalEvery: 10 },
    prune: { rounds: 1 },
  },
  methods: ['dense', 'imp'],
  axes: [{ path: 'train.lr', values: [0.002, 0.004] }],
  seeds: [1, 2],
} as const;

test('a tiny sweep runs in the page, survives a reload midway, and draws every view', async ({ page }) => {
  test.setTimeout(600_000);
  await openLab(page, null);
  await backendReport(page);
  const text = page.getByTestId('sweep-text');
  await text.fill('{"base": {}, "axes": [{"path": "train.lrr", "values": [1]}]}');
  await expect(page.getByTestId('sweep-error')).toContainText('axes[0]: "train.lrr": train has no field "lrr"');
  await text.fill(JSON.stringify(tinySweep));
  await expect(page.getByTestId('sweep-size')).toContainText('8 runs: dense, imp × 2 seeds.');
  await page.getByTestId('sweep-start').click();
  const progress = page.getByTestId('sweep-progress');
  await expect(progress).toContainText(/^\s*[2-7] of 8 runs finished; about .+ left/, { timeout: 240_000 });

  await page.reload();
  await backendReport(page);
  await expect(page.getByTestId('sweep-text')).toHaveValue(JSON.stringify(tinySweep));
  await expect(progress).toContainText('8 of 8 runs finished.', { timeout: 400_000 });

  // Every run is kept as any run, each once.
  const runs = await storedRecords<{ status: string; config: { seed: number } }>(page, 'runs');
  expect(runs.filter((run) => run.status === 'done')).toHaveLength(8);

  const distribution = await chartDatasets<number[]>(page, 'sweep-distribution');
  expect(distribution.map((d) => d.label)).toEqual(['Every run (config × seed)', 'Config means (hyperparameter spread)']);
  expect(distribution[0].data.map((points) => points.length)).toEqual([4, 4]);
  expect(distribution[1].data.map((points) => points.length)).toEqual([2, 2]);
  const seeds = await chartDatasets<number[]>(page, 'sweep-seed-spread');
  expect(seeds[0].data.map((points) => points.length)).toEqual([4, 4]);
  const expectedBest = await chartDatasets(page, 'sweep-expected-best');
  expect(expectedBest.map((d) => [d.label, d.data.length])).toEqual([
    ['dense', 4],
    ['imp', 4],
  ]);
  // The curve of a method rises (or stays) with n, from its mean to at most its best run.
  for (const curve of expectedBest) for (let i = 1; i < curve.data.length; i++) expect(curve.data[i].y).toBeGreaterThanOrEqual(curve.data[i - 1].y - 1e-9);
  await expect(page.getByTestId('sweep-rankings')).toContainText(/At the default config: .+ At the median config: .+ At the best \(tuned\) config: .+\. (No ranking flips|The ranking flips)/);
  await expect(page.getByTestId('sweep-pairwise').locator('tbody tr')).toHaveCount(1);
  // The charts have drawn something: their canvases are not blank.
  const drawn = await page.evaluate(() =>
    ['sweep-distribution', 'sweep-seed-spread', 'sweep-expected-best'].map((name) => {
      const canvas = window.__labCharts[name].canvas;
      const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      return pixels.some((value, i) => i % 4 === 3 && value > 0);
    }),
  );
  expect(drawn).toEqual([true, true, true]);
  const csv = page.waitForEvent('download');
  await page.getByTestId('sweep-csv').click();
  expect((await csv).suggestedFilename()).toBe('lottery-lab-sweep-e2e-sweep.csv');
});

test('"5 seeds" in History runs a stored run on its seed and the next four, drawn as one mean line with a band', async ({ page }) => {
  test.setTimeout(600_000);
  await openLab(page, { ...tinySweep.base, name: 'e2e-five', method: 'dense', seed: 1 });
  await backendReport(page);
  await runToEnd(page, 120_000);
  await page.getByTestId('history-seeds').first().click();
  // Seed 1 is the run already stored: four more run.
  await expect(page.getByTestId('sweep-progress')).toContainText('5 of 5 runs finished.', { timeout: 400_000 });
  const runs = await storedRecords<{ status: string; config: { seed: number } }>(page, 'runs');
  expect(runs.filter((run) => run.status === 'done').map((run) => run.config.seed).sort()).toEqual([1, 2, 3, 4, 5]);
  const lines = await finalAccuracyLines(page);
  expect(lines.map((line) => [line.label, line.runIds?.length])).toEqual([['e2e-five (mean of 5 seeds) · Ticket', 5]]);
  expect((await chartDatasets(page, 'accuracy')).filter((d) => d.bandOf)).toHaveLength(2);
});
