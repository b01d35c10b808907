/** Lottery Jackpots runs in the page: pre-training, the search and its arms, and the view of accuracy per arm and mask overlap. */
import { expect, test } from '@playwright/test';
import { chartDatasets, openLab, runToEnd } from './lab';

test('jackpot pre-trains, searches a mask with frozen weights and draws every arm and the overlap', async ({ page }) => {
  test.setTimeout(600_000);
  await openLab(page, {
    name: 'e2e-jackpot',
    method: 'jackpot',
    model: { arch: 'conv-4-bn', width: 0.125 },
    data: { syntheticTrain: 120, syntheticTest: 60, validation: 0 },
    train: { optimizer: 'adam', lr: 0.01, batchSize: 30, epochs: 3, evalEvery: 100 },
    jackpot: { sparsity: 0.9, epochs: 2 },
  });
  await expect(page.getByTestId('method-jackpot')).toBeVisible();
  await runToEnd(page, 540_000);

  await expect(page.getByTestId('jackpot-view')).toBeVisible();
  const accuracy = await chartDatasets(page, 'jackpot-accuracy');
  const arms = accuracy.filter((d) => d.data.length === 2 && !/^(Dense|Magnitude)/.test(d.label));
  expect(arms.map((d) => d.label)).toEqual(['Jackpot search (magnitude scores)', 'Search from random scores', 'Fine-tuned weights, magnitude mask']);
  for (const arm of arms) for (const point of arm.data) expect(point.y).toBeGreaterThanOrEqual(0);
  expect(accuracy.map((d) => d.label)).toEqual(
    expect.arrayContaining([expect.stringMatching(/^Dense, pre-trained/), expect.stringMatching(/^Magnitude mask alone/), expect.stringMatching(/^Magnitude mask \+ BN/)]),
  );
  const [overlap] = await chartDatasets(page, 'jackpot-overlap');
  expect(overlap.data).toHaveLength(2);
  for (const point of overlap.data) {
    expect(point.y).toBeGreaterThan(0);
    expect(point.y).toBeLessThanOrEqual(100);
  }
  // The per-layer table: every searched layer's kept count stays at its budget.
  const rows = page.getByTestId('jackpot-layers').locator('tbody tr');
  await expect(rows).toHaveCount(6);
  for (const text of await rows.allInnerTexts()) {
    const [, kept, budget] = /\s(\d+) \((\d+)\)/.exec(text)!;
    expect(kept).toBe(budget);
  }
});
