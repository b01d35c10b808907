/** Run by the `no-webgpu` project: Chromium without --enable-unsafe-webgpu has no WebGPU adapter. */
import { expect, test } from '@playwright/test';
import { backendReport, openLab } from './lab';

test('forcing webgpu where there is none falls back and says so', async ({ page }) => {
  await openLab(page, null, '?backend=webgpu');
  const { backend, adapter } = await backendReport(page);
  expect(backend).not.toMatch(/webgpu/);
  expect(adapter).toBe('none');
  const notice = page.getByTestId('backend-notice');
  await expect(notice).toBeVisible();
  await expect(notice).toContainText(/webgpu/i);
});
