/** SuperTickets runs a tiny supernet in the page and draws its view. */
import { expect, test } from '@playwright/test';
import { chartDatasets, openLab, runToEnd } from './lab';

test('a tiny SuperTickets supernet draws channels per branch, accuracy against FLOPs and regrowth', async ({ page }) => {
  test.setTimeout(180_000);
  await openLab(page, {
    name: 'e2e-supertickets',
    method: 'supertickets',
    model: { arch: 'conv-4-bn', width: 0.125, branches: [3, 5] },
    data: { syntheticTrain: 120, syntheticTest: 60, validation: 0 },
    train: { optimizer: 'adam', lr: 0.01, batchSize: 20, iterations: 6, evalEvery: 100 },
    supertickets: { events: 2, increment: 0.45, compareTwoStage: false, compareRandomMask: false, compareImp: false },
  });
  await expect(page.getByTestId('method-supertickets')).toBeChecked();
  await runToEnd(page, 150_000);

  // Four stages with a 3x3 and a 5x5 branch each: eight lines, each from epoch 0 through both events.
  const channels = await chartDatasets(page, 'supertickets-channels');
  expect(channels.map((d) => d.label)).toEqual(['conv_1', 'conv_2', 'conv_3', 'conv_4'].flatMap((stage) => [`${stage} 3x3`, `${stage} 5x5`]));
  for (const line of channels) expect(line.data).toHaveLength(3);
  const accuracy = await chartDatasets(page, 'supertickets-accuracy');
  expect(accuracy.map((d) => d.label)).toEqual(['Two-in-one (regrow)', 'Monotone masks']);
  // Regrowth per event: the two-in-one arm's two events (the monotone arm's bars are checked in the unit test's numbers, see the report).
  const regrowth = await chartDatasets<number>(page, 'supertickets-regrowth');
  expect(regrowth[0].label).toBe('Two-in-one (regrow)');
  expect(regrowth[0].data).toHaveLength(2);
  await expect(page.getByTestId('supertickets-arms').locator('tbody tr')).toHaveCount(2);
  await expect(page.getByTestId('supertickets-kept')).toContainText('conv_1 3x3:');
});
