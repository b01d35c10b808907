/**
 * Run by the `no-webgpu` project (Chromium without --enable-unsafe-webgpu).
 * Whether a browser without that flag finds an adapter depends on the machine
 * (none here; a real GPU may be exposed elsewhere), so the test takes the
 * adapter away itself: every worker the page starts finds none.
 */
import { expect, test } from '@playwright/test';
import { recordWorkers } from './device';
import { backendReport, openLab } from './lab';

test('forcing webgpu where there is none falls back and says so', async ({ page }) => {
  await recordWorkers(page);
  await page.addInitScript(() => (window.__labNoAdapterInNewWorkers = true));
  await openLab(page, null, '?backend=webgpu');
  const { backend, adapter } = await backendReport(page);
  expect(backend).not.toMatch(/webgpu/);
  expect(adapter).toBe('none');
  const notice = page.getByTestId('backend-notice');
  await expect(notice).toBeVisible();
  await expect(notice).toContainText(/webgpu/i);
});
