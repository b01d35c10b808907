/**
 * Strong tickets in the page: the "hidden network" preset, shrunk and with
 * a k sweep and the dense baseline added, runs edge-popup at every k in the
 * worker and draws its accuracy-vs-k view (searched masks, random masks,
 * dense and chance lines) and its mask-change view.
 */
import { expect, test } from '@playwright/test';
import type { ExperimentConfigInput } from '../src/lib/engine/config';
// ./lab loads the engine's config module before the presets load a method
// module: the registry and the methods import each other through config.ts.
import { chartDatasets, openLab, runToEnd } from './lab';
import { PRESETS, presetConfig } from '../src/lib/presets/presets';

const HIDDEN_NETWORK = PRESETS.find((p) => p.id === 'hidden-network')!;

test('a shrunk hidden-network preset searches every k and draws accuracy against k and the mask change', async ({ page }) => {
  test.setTimeout(360_000);
  const preset = presetConfig(HIDDEN_NETWORK);
  const shrunk: ExperimentConfigInput = {
    ...preset,
    name: 'e2e-hidden-network-shrunk',
    data: { ...preset.data, syntheticTrain: 300, syntheticTest: 100, validation: 50 },
    train: { ...preset.train, batchSize: 50, epochs: 2, evalEvery: 5 },
    // The preset searches k = 0.5 alone to fit three seeds; the view is checked with a sweep and the dense line.
    edgepopup: { ...preset.edgepopup, sweep: [0.1, 1], denseBaseline: true },
  };
  await openLab(page, shrunk);
  await expect(page.getByTestId('method-edgepopup')).toBeChecked();
  await runToEnd(page, 300_000);

  await expect(page.getByTestId('view-accuracy-vs-k')).toBeVisible();
  const accuracy = await chartDatasets(page, 'accuracy-vs-k');
  const searched = accuracy.find((d) => d.label.startsWith('Searched mask'))!;
  expect(searched.data.map((p) => p.x)).toEqual([10, 50, 100]);
  for (const p of searched.data) expect(p.y).toBeGreaterThanOrEqual(0);
  expect(accuracy.some((d) => d.label.startsWith('Random mask'))).toBe(true);
  expect(accuracy.some((d) => d.label.startsWith('Dense, weights trained'))).toBe(true);
  expect(accuracy.find((d) => d.label.startsWith('Chance'))!.data[0].y).toBeCloseTo(10, 5);
  await expect(page.getByTestId('accuracy-vs-k-summary')).toContainText('k = 0.5: searched');

  await expect(page.getByTestId('view-mask-change')).toBeVisible();
  const change = await chartDatasets(page, 'mask-change');
  expect(change.map((d) => d.label)).toEqual(['k = 0.5', 'k = 0.1', 'k = 1']);
  for (const line of change) expect(line.data).toHaveLength(2);
  // k = 1 keeps every weight: nothing can enter or leave its mask.
  expect(change[2].data.every((p) => p.y === 0)).toBe(true);
});

test('a tiny transfer test draws the five arms side by side with its verdict', async ({ page }) => {
  test.setTimeout(360_000);
  const preset = presetConfig(HIDDEN_NETWORK);
  await openLab(page, {
    ...preset,
    name: 'e2e-transfer-tiny',
    data: { ...preset.data, syntheticTrain: 300, syntheticTest: 100, validation: 50 },
    train: { ...preset.train, batchSize: 50, epochs: 1, evalEvery: 5 },
    edgepopup: { k: 0.5, denseBaseline: false, transfer: { source: [0, 1, 2, 3, 4], target: [5, 6, 7, 8, 9] } },
  });
  await runToEnd(page, 300_000);

  await expect(page.getByTestId('view-transfer')).toBeVisible();
  const [bars, chance] = await chartDatasets<number | null>(page, 'transfer');
  expect(bars.data).toHaveLength(5);
  for (const accuracy of bars.data) expect(accuracy).toBeGreaterThanOrEqual(0);
  expect(chance.data[0]).toBeCloseTo(20, 5);
  await expect(page.getByTestId('transfer-verdict')).toContainText(/(carried features that transfer|not in the regime of the universal-ticket theory)/);
});
