/** SuperTickets runs a tiny supernet in the page and draws its view; its ticket file comes back in and retrains. */
import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { chartDatasets, finalAccuracyLines, openLab, runToEnd } from './lab';

test('a tiny SuperTickets supernet draws channels per branch, accuracy against FLOPs, regrowth and its transfer; its ticket imports and retrains', async ({ page }) => {
  test.setTimeout(180_000);
  await openLab(page, {
    name: 'e2e-supertickets',
    method: 'supertickets',
    model: { arch: 'conv-4-bn', width: 0.125, branches: [3, 5] },
    data: { syntheticTrain: 120, syntheticTest: 60, validation: 0 },
    train: { optimizer: 'adam', lr: 0.01, batchSize: 20, iterations: 6, evalEvery: 100 },
    supertickets: {
      events: 2,
      increment: 0.45,
      compareTwoStage: false,
      compareRandomMask: false,
      compareImp: false,
      transferSource: [0, 1, 2, 3, 4],
      transferTarget: [5, 6, 7, 8, 9],
      transferDense: false,
    },
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

  // The transfer test: the source ticket and a ticket drawn on the target, on classes 5-9.
  await expect(page.getByTestId('supertickets-transfer').locator('caption')).toContainText('on classes 0, 1, 2, 3, 4, on classes 5, 6, 7, 8, 9');
  await expect(page.getByTestId('supertickets-transfer').locator('tbody tr')).toHaveCount(2);
  await expect(page.getByTestId('supertickets-transfer-verdict')).toContainText('the ticket drawn on the target');

  // The ticket file holds the searched supernet; imported, it retrains on the classes it was drawn on.
  const downloading = page.waitForEvent('download');
  await page.getByTestId('download-ticket').click();
  const download = await downloading;
  const bytes = readFileSync((await download.path())!);
  const { __metadata__: metadata } = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8'));
  expect(metadata).toMatchObject({ method: 'supertickets', branches: '[3,5]', classes: '[0,1,2,3,4]', numClasses: '5' });
  await page.getByTestId('import-ticket').setInputFiles({ name: 'supernet.safetensors', mimeType: 'application/octet-stream', buffer: bytes });
  await expect(page.getByTestId('ticket-error')).toHaveCount(0);
  await expect(page.getByTestId('method-retrain')).toBeChecked();
  await expect(page.getByTestId('imported-ticket')).toContainText('conv-4-bn at width 0.125, supernet with branches 3, 5 (conv_1 ');
  await runToEnd(page, 150_000);
  const retrained = (await finalAccuracyLines(page)).at(-1)!;
  expect(100 - retrained.data[0].x).toBeCloseTo(Number(metadata.sparsity) * 100, 1);
});
