/** Pause holds training where it is, resume continues it, stop ends the run without an error. */
import { expect, test } from '@playwright/test';
import { openLab, runToEnd } from './lab';

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

test('a run estimated at many hours from this session\'s measured speed asks before it starts', async ({ page }) => {
  test.setTimeout(180_000);
  const quick = {
    name: 'e2e-estimate',
    method: 'dense',
    model: { arch: 'conv-2', width: 0.0625 },
    data: { syntheticTrain: 400, syntheticTest: 200, validation: 50 },
    train: { lr: 5e-3, batchSize: 32, iterations: 30, evalEvery: 15 },
  } as const;
  await openLab(page, quick);
  const estimate = page.getByTestId('run-estimate');
  await expect(estimate).toHaveText('No time estimate yet: no run of this network and batch size has trained in this session.', { timeout: 60_000 });
  await runToEnd(page, 120_000);
  await expect(estimate).toHaveText(/^At the \d+ img\/s measured in this session, this run trains for at least \d+ s\.$/);

  // The same network for 1e9 iterations: the page asks, and a "no" starts nothing.
  await openLab(page, { ...quick, train: { ...quick.train, iterations: 1e9 } });
  await expect(estimate).toHaveText(/this run trains for at least [\d,]+ days\.$/);
  const questions: string[] = [];
  page.once('dialog', (dialog) => {
    questions.push(dialog.message());
    void dialog.dismiss();
  });
  await page.getByTestId('run-button').click();
  await expect.poll(() => questions).toEqual([expect.stringMatching(/this run trains for at least [\d,]+ days\. Start it\?$/)]);
  await expect(page.getByTestId('run-phase')).toHaveAttribute('data-phase', 'done');
  await expect(page.getByTestId('history-row')).toHaveCount(1);
});
