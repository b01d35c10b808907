/**
 * The header reports what the worker initialised, and training goes where the
 * lab's policy sends it for the adapter found: webgpu on a GPU, wasm beside a
 * software adapter (SwiftShader on this project's machine) or none.
 */
import { expect, test } from '@playwright/test';
import { autoBackendForReport, backendReport, openLab } from './lab';

test('probes the WebGPU adapter and trains where the policy says for it, explaining only a missing WebGPU', async ({ page }) => {
  await openLab(page, null);
  const { backend, adapter } = await backendReport(page);
  const expected = autoBackendForReport(adapter);
  expect(backend).toMatch(new RegExp(`^${expected}\\b`));
  const notice = page.getByTestId('backend-notice');
  if (adapter === 'none') {
    await expect(notice).toContainText(`WebGPU is not available in this browser`);
  } else {
    await expect(notice).toHaveCount(0);
    // A software adapter is named as one, with where training went instead.
    if (expected === 'wasm') expect(adapter).toMatch(/\(software, so training runs on wasm\)$/);
  }
});
