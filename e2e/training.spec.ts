/**
 * Training in the page really learns: on the backend the page picks by
 * itself (wasm here) and on WebGPU forced (SwiftShader, on the CPU, so the
 * net is tiny). Accuracy is read from the curve chart's data.
 */
import { expect, test } from '@playwright/test';
import type { ExperimentConfigInput } from '../src/lib/engine/config';
import { backendReport, openLab, runToEnd, testAccuracyCurve } from './lab';

/** Chance on the 10-class synthetic set is 10%. */
const CLEARLY_ABOVE_CHANCE = 20;

async function expectLearned(page: import('@playwright/test').Page): Promise<void> {
  const accuracy = await testAccuracyCurve(page);
  expect(accuracy.length).toBeGreaterThanOrEqual(3);
  const last = accuracy[accuracy.length - 1];
  expect(last).toBeGreaterThan(CLEARLY_ABOVE_CHANCE);
  expect(last).toBeGreaterThan(accuracy[0]);
}

test('a small conv net learns the synthetic set on the auto-chosen backend (wasm)', async ({ page }) => {
  const config: ExperimentConfigInput = {
    name: 'e2e-wasm',
    method: 'dense',
    model: { arch: 'conv-2', width: 0.25 },
    data: { syntheticTrain: 2000, syntheticTest: 500, validation: 200 },
    train: { lr: 2e-3, batchSize: 32, iterations: 150, evalEvery: 25 },
  };
  await openLab(page, config);
  expect((await backendReport(page)).backend).toMatch(/^wasm\b/);
  await runToEnd(page, 180_000);
  await expect(page.getByTestId('run-backend')).toHaveText(/^wasm\b/);
  await expectLearned(page);
});

test('with ?backend=webgpu it trains on WebGPU (SwiftShader) and learns', async ({ page }) => {
  const config: ExperimentConfigInput = {
    name: 'e2e-webgpu',
    method: 'dense',
    model: { arch: 'lenet-300-100', width: 0.1 },
    data: { syntheticTrain: 1000, syntheticTest: 300, validation: 100 },
    train: { lr: 2e-3, batchSize: 32, iterations: 100, evalEvery: 20 },
  };
  await openLab(page, config, '?backend=webgpu');
  const { backend, adapter } = await backendReport(page);
  expect(backend).toBe('webgpu');
  expect(adapter.toLowerCase()).toContain('swiftshader');
  await runToEnd(page, 180_000);
  await expect(page.getByTestId('run-backend')).toHaveText('webgpu');
  await expectLearned(page);
});
