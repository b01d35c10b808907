/** Without a validation split the page reports no early stop, says why, and never picks one on the test set. */
import { expect, test } from '@playwright/test';
import { chartDatasets, openLab, runToEnd } from './lab';

test('a run with no validation images shows no early stop, and says why', async ({ page }) => {
  await openLab(page, {
    name: 'e2e-no-validation',
    method: 'dense',
    model: { arch: 'lenet-300-100', width: 0.1 },
    data: { syntheticTrain: 400, syntheticTest: 200, validation: 0 },
    train: { batchSize: 32, iterations: 20, evalEvery: 10 },
  });
  await runToEnd(page, 120_000);
  const row = page.getByTestId('results-table').locator('tbody tr');
  await expect(row).toHaveCount(1);
  // Early-stop iteration and the accuracy there.
  await expect(row.locator('td').nth(4)).toHaveText('none');
  await expect(row.locator('td').nth(5)).toHaveText('none');
  await expect(page.getByTestId('early-stop-note')).toContainText('held out no validation images');
  const measures = (await chartDatasets(page, 'accuracy')).map((d) => d.measure);
  expect(measures).toContain('final');
  expect(measures).not.toContain('earlyStop');
});
