/**
 * A GPU device lost mid-run (a driver reset, the GPU process restarting):
 * the page says so in plain words, keeps every finished round, stays
 * responsive, and "Continue" finishes the run from its last checkpoint on
 * a fresh WebGPU device, or on wasm when no new device can be had.
 */
import { expect, test, type Page } from '@playwright/test';
import type { ExperimentConfigInput } from '../src/lib/engine/config';
import type { RoundResult } from '../src/lib/engine/results';
import { loseDeviceAtFirstCheckpoint, recordWorkers, refuseNewDevices } from './device';
import { longTasksSince, openLab, recordLongTasks, storedRecords, waitForRunEnd } from './lab';

/**
 * On WebGPU itself (SwiftShader emulates the GPU on the CPU here, too slowly
 * for convolutions): a narrow LeNet, a few seconds per round, four rounds.
 */
const ON_WEBGPU: ExperimentConfigInput = {
  backend: 'webgpu',
  method: 'imp',
  seed: 5,
  prune: { rounds: 3 },
  model: { arch: 'lenet-300-100', width: 0.25 },
  data: { syntheticTrain: 400, syntheticTest: 200, validation: 50 },
  train: { lr: 2e-3, batchSize: 32, iterations: 30, evalEvery: 15 },
};

interface StoredSummary {
  status: string;
  error: string | null;
  checkpointRound: number | null;
  ticket: RoundResult[];
}

/** The stored run of that name, as the page's IndexedDB holds it; null until it is stored. */
async function storedRun(page: Page, name: string): Promise<StoredSummary | null> {
  type Stored = { name: string; status: string; error: string | null; checkpointRound: number | null; rounds: Record<string, RoundResult[]> };
  const run = (await storedRecords<Stored>(page, 'runs')).find((r) => r.name === name);
  return run ? { status: run.status, error: run.error, checkpointRound: run.checkpointRound, ticket: run.rounds.ticket ?? [] } : null;
}

/**
 * Starts the run, loses its device as soon as its first round is kept (the
 * worker's first checkpoint, so well before the last round however fast the
 * GPU), and checks what the page says and keeps. `beforeRun` runs once the
 * page is open, before Run. Returns the rounds kept and the run as stored.
 */
async function loseDeviceMidRun(page: Page, name: string, beforeRun: () => Promise<void> = async () => {}): Promise<{ kept: number; interrupted: StoredSummary }> {
  await recordWorkers(page);
  await recordLongTasks(page);
  await openLab(page, { ...ON_WEBGPU, name });
  await beforeRun();
  await loseDeviceAtFirstCheckpoint(page);
  await page.getByTestId('run-button').click();

  const lost = page.getByTestId('device-lost');
  await expect(lost).toContainText(/^The GPU stopped responding \(device lost: destroyed\) during round \d\. Rounds? 0(–\d)? (is|are) kept\./, { timeout: 180_000 });
  const lostAt = (await page.evaluate(() => window.__labFirstCheckpointAt))!;
  const [, during, last] = /during round (\d)\. Rounds? 0(?:–(\d))?/.exec(await lost.innerText())!;
  const kept = Number(last ?? 0) + 1;
  expect(kept).toBeLessThan(4);
  expect(Number(during)).toBeGreaterThanOrEqual(kept);
  await expect(page.getByTestId('run-phase')).toHaveAttribute('data-phase', 'interrupted');

  // The finished rounds are kept: the checkpoint the message names, and every round stored before the loss.
  const interrupted = (await storedRun(page, name))!;
  expect(interrupted.status).toBe('interrupted');
  expect(interrupted.checkpointRound).toBe(kept);
  expect(interrupted.ticket.length).toBeGreaterThanOrEqual(kept);
  const row = page.getByTestId('history-row').first();
  await expect(row).toHaveAttribute('data-status', 'interrupted');
  await expect(row.getByTestId('history-reason')).toContainText(/^The GPU stopped responding .* Continue resumes it from its last checkpoint\.$/);
  await expect(row.getByTestId('history-continue')).toBeVisible();
  // The page stays responsive: its main thread answers at once, and ran no long task while it handled the loss.
  // (On SwiftShader the browser's GPU process, which also draws the page, may draw no frame for some seconds
  // while it finishes the work queued on the lost device; the page cannot shorten that.)
  expect(await page.evaluate(() => 'answered')).toBe('answered');
  const longTasks = await longTasksSince(page, lostAt);
  expect(longTasks.filter((task) => task.duration > 100)).toEqual([]);
  return { kept, interrupted };
}

/** Clicks Continue and waits for the run to finish; returns it as stored. */
async function continueToEnd(page: Page, name: string, kept: number, backend: RegExp): Promise<StoredSummary> {
  await page.getByTestId('continue-button').click();
  await expect(page.getByTestId('run-notice')).toHaveText(`Continued "${name}" from round ${kept}.`);
  await expect(page.getByTestId('progress')).toContainText(backend, { timeout: 60_000 });
  await waitForRunEnd(page, 300_000);
  await expect(page.getByTestId('results-table').locator('tbody tr')).toHaveCount(4);
  const continued = (await storedRun(page, name))!;
  expect(continued.status).toBe('done');
  expect(continued.error).toBeNull();
  expect(continued.ticket.map((r) => r.round)).toEqual([0, 1, 2, 3]);
  return continued;
}

test('a GPU device lost mid-run: the page says so, keeps the finished rounds, and Continue finishes on a fresh device', async ({ page }) => {
  test.setTimeout(480_000);
  const { kept, interrupted } = await loseDeviceMidRun(page, 'e2e-device-lost');
  const continued = await continueToEnd(page, 'e2e-device-lost', kept, /on webgpu/);
  // The kept rounds stand as they were; training went on from the next one.
  expect(continued.ticket.slice(0, kept)).toEqual(interrupted.ticket.slice(0, kept));
});

test('after a lost GPU with no new device to be had, Continue finishes the run on wasm', async ({ page }) => {
  test.setTimeout(480_000);
  const { kept, interrupted } = await loseDeviceMidRun(page, 'e2e-device-lost-wasm', () => refuseNewDevices(page));
  await expect(page.getByTestId('backend-notice')).toHaveText(
    'The webgpu backend was requested but could not start (no WebGPU adapter), so training runs on wasm instead.',
    { timeout: 60_000 },
  );
  const continued = await continueToEnd(page, 'e2e-device-lost-wasm', kept, /on wasm/);
  expect(continued.ticket.slice(0, kept)).toEqual(interrupted.ticket.slice(0, kept));
});
