/** The header reports what the worker initialised: SwiftShader's WebGPU adapter is found, and training goes to wasm. */
import { expect, test } from '@playwright/test';
import { backendReport, openLab } from './lab';

test('probes the WebGPU adapter, finds SwiftShader, and trains on wasm without a notice', async ({ page }) => {
  await openLab(page, null);
  const { backend, adapter } = await backendReport(page);
  expect(adapter.toLowerCase()).toContain('swiftshader');
  expect(backend).toMatch(/^wasm\b/);
  await expect(page.getByTestId('backend-notice')).toHaveCount(0);
});
