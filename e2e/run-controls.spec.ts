/** Pause holds training where it is, resume continues it, stop ends the run without an error. */
import { expect, test } from '@playwright/test';
import { openLab } from './lab';

test('pause, resume and stop steer a running experiment', async ({ page }) => {
  await openLab(page, {
    name: 'e2e-controls',
    method: 'dense',
    model: { arch: 'conv-2', width: 0.25 },
    data: { syntheticTrain: 1000, syntheticTest: 200, validation: 100 },
    train: { lr: 2e-3, batchSize: 60, iterations: 5000, evalEvery: 100 },
  });
  const phase = page.getByTestId('run-phase');
  const progress = page.getByTestId('progress');
  await page.getByTestId('run-button').click();
  await expect(progress).toContainText(/iteration [1-9]\d*\/5000/, { timeout: 60_000 });

  await page.getByTestId('pause-button').click();
  await expect(phase).toHaveAttribute('data-phase', 'paused');
  // A step already queued may still report; after that the iteration must hold.
  await page.waitForTimeout(1_000);
  const held = await progress.innerText();
  await page.waitForTimeout(2_000);
  expect(await progress.innerText()).toBe(held);

  await page.getByTestId('resume-button').click();
  await expect(phase).toHaveAttribute('data-phase', 'running');
  await expect(progress).not.toHaveText(held, { timeout: 30_000 });

  await page.getByTestId('stop-button').click();
  await expect(phase).toHaveAttribute('data-phase', 'stopped', { timeout: 30_000 });
  await expect(page.getByRole('alert')).toHaveCount(0);
  await expect(page.getByTestId('run-button')).toBeEnabled();
});
