/** KS-Lottery runs a small class-split transfer in the page and draws its two views. */
import { expect, test } from '@playwright/test';
import { chartDatasets, openLab, runToEnd } from './lab';

test('a small KS-Lottery transfer draws accuracy against K per rule and the rows picture', async ({ page }) => {
  test.setTimeout(360_000);
  await openLab(page, {
    name: 'e2e-kslottery',
    method: 'kslottery',
    model: { arch: 'conv-2', width: 0.125 },
    data: { syntheticTrain: 600, syntheticTest: 200, validation: 0 },
    train: { lr: 5e-3, batchSize: 30, iterations: 20, evalEvery: 10 },
    kslottery: { source: [0, 1, 2], target: [3, 4, 5], k: [0.05, 0.25], probeIterations: 10 },
  });
  await expect(page.getByTestId('method-kslottery')).toBeChecked();
  await runToEnd(page, 300_000);

  // Three rules, each drawn for partial tuning and partial transfer at both K, with head-only and full fine-tuning as lines.
  const datasets = await chartDatasets(page, 'kslottery-accuracy');
  const labels = datasets.map((d) => d.label);
  for (const rule of ['Top-K by KS D', 'Top-K by L2 change', 'Random rows']) {
    for (const arm of ['partial tuning', 'partial transfer']) {
      const line = datasets.find((d) => d.label === `${rule}: ${arm}`);
      expect(line, `${rule}: ${arm}`).toBeDefined();
      expect(line!.data).toHaveLength(2);
    }
  }
  expect(labels).toContain('Head only');
  expect(labels).toContain('Full fine-tuning');
  await expect(page.getByTestId('kslottery-accuracy-table').locator('tbody tr')).toHaveCount(2);

  // conv-2 at width 0.125: 8 + 8 filters and 32 + 32 units, one cell each.
  await expect(page.getByTestId('kslottery-rows-table').locator('tbody tr')).toHaveCount(4);
  await expect(page.getByTestId('kslottery-rows-picture').locator('rect')).toHaveCount(80);
  await expect(page.getByTestId('kslottery-jaccard')).toContainText('K = 4:');
  // The picture outlines the K rows of the chosen selection: 20 at K = 25%, 4 at K = 5%.
  await expect(page.getByTestId('kslottery-rows-picture').locator('rect[stroke="#2f7fe0"]')).toHaveCount(20);
  await page.getByTestId('kslottery-rows-k').selectOption({ label: 'K = 4' });
  await expect(page.getByTestId('kslottery-rows-picture').locator('rect[stroke="#2f7fe0"]')).toHaveCount(4);
});
