/** A lottery-ticket run with its random-reinit control fills the accuracy chart, the layer chart and the table. */
import { expect, test } from '@playwright/test';
import { chartDatasets, openLab, runToEnd } from './lab';

test('IMP with 2 rounds and random reinit plots both series from 100% down', async ({ page }) => {
  await openLab(page, {
    name: 'e2e-imp',
    method: 'imp',
    model: { arch: 'lenet-300-100', width: 0.1 },
    data: { syntheticTrain: 1000, syntheticTest: 300, validation: 100 },
    train: { lr: 2e-3, batchSize: 32, iterations: 60, evalEvery: 20 },
    prune: { rounds: 2 },
    controls: ['randomReinit'],
  });
  await runToEnd(page, 180_000);

  const finals = (await chartDatasets(page, 'accuracy')).filter((d) => d.measure === 'final');
  expect(finals.map((d) => d.series).sort()).toEqual(['randomReinit', 'ticket']);
  for (const dataset of finals) {
    const remaining = dataset.data.map((p) => p.x);
    expect(remaining).toHaveLength(3);
    expect(remaining[0]).toBeCloseTo(100, 5);
    expect(Math.min(...remaining)).toBeLessThan(90);
  }

  const [layers] = await chartDatasets(page, 'layers');
  expect(layers.data.length).toBe(3);
  await expect(page.getByTestId('results-table').locator('tbody tr')).toHaveCount(6);
  await page.screenshot({ path: 'docs/screenshots/lab.png', fullPage: true });
});
