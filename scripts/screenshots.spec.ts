/**
 * The README's pictures, from classroom presets run as shipped, all their
 * seeds (run with `npm run screenshots`, which writes docs/screenshots/).
 * One page session: the ticket-vs-random preset (the lab in light and dark,
 * its guidance and charts, its kernel masks), then the LeNet preset beside
 * it (each a mean over seeds with a band), then the help panel.
 */
import { expect, test, type Page } from '@playwright/test';
import { openLab, waitForRunEnd } from '../e2e/lab';

const OUT = 'docs/screenshots';

async function runPreset(page: Page, id: string): Promise<void> {
  await page.getByTestId(`preset-${id}`).click();
  await page.getByTestId('run-button').click();
  // One Run press trains every seed of the preset, one after another.
  await expect(page.getByTestId('queued-runs')).toHaveCount(0, { timeout: 3_600_000 });
  await waitForRunEnd(page, 1_200_000);
  await expect(page.getByTestId('preset-guidance')).toHaveAttribute('data-finished', 'true');
}

test('README pictures from presets run to completion', async ({ page }) => {
  await openLab(page, null);

  await runPreset(page, 'ticket-vs-random');
  await page.screenshot({ path: `${OUT}/lab.png`, fullPage: true });
  await page.getByRole('region', { name: 'Run' }).screenshot({ path: `${OUT}/preset.png` });
  await page.getByTestId('kernel-mask-view').screenshot({ path: `${OUT}/kernel-mask.png` });
  await page.emulateMedia({ colorScheme: 'dark' });
  await expect.poll(() => page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--bg').trim())).toBe('#15181d');
  await page.screenshot({ path: `${OUT}/lab-dark.png`, fullPage: true });
  await page.emulateMedia({ colorScheme: 'light' });

  // The LeNet preset's seeds draw as a mean with a min-max band, beside the ticket-vs-random runs.
  await runPreset(page, 'prune-lenet');
  await page.screenshot({ path: `${OUT}/compare.png`, fullPage: true });

  await page.getByTestId('hint-control-randomReinit').getByTestId('help-link').click();
  await expect(page.getByTestId('help-section-imp')).toBeInViewport();
  await page.screenshot({ path: `${OUT}/help.png` });
});
