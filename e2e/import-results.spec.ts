/**
 * A results.json from the exported PyTorch program (e2e/fixtures: `python
 * run.py` on experiments/imp-conv-2-quick.json, CPU) imported into History
 * and drawn on the accuracy chart beside a run of the lab, and beside the
 * lab's own run of the same config (`npm run experiment --
 * experiments/imp-conv-2-quick.json`, wasm): the two prune the same number of
 * weights in every layer, so their points sit at the same % remaining. A file
 * missing a key is refused with the key's name.
 */
import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { finalAccuracyLines, openLab, runToEnd } from './lab';

const FIXTURE = 'e2e/fixtures/pytorch-imp-conv-2-quick.results.json';
const LAB_FIXTURE = 'e2e/fixtures/lab-imp-conv-2-quick.results.json';

test('History imports a PyTorch results.json and the chart draws it beside the lab run', async ({ page }) => {
  test.setTimeout(180_000);
  await openLab(page, {
    name: 'e2e-lab-run',
    method: 'dense',
    model: { arch: 'conv-2', width: 0.0625 },
    data: { syntheticTrain: 400, syntheticTest: 200, validation: 50 },
    train: { lr: 5e-3, batchSize: 32, iterations: 30, evalEvery: 15 },
  });
  await runToEnd(page, 120_000);

  await page.getByTestId('history-import').setInputFiles(FIXTURE);
  const imported = page.getByTestId('history-row').filter({ hasText: 'imp-conv-2-quick (pytorch-cpu)' });
  await expect(imported).toHaveAttribute('data-status', 'done');
  await expect(imported.getByTestId('history-compare')).toBeChecked();
  const lines = async () => (await finalAccuracyLines(page)).map((d) => `${d.label}: ${d.data.length}`);
  await expect
    .poll(lines)
    .toEqual(['e2e-lab-run · Ticket: 1', 'imp-conv-2-quick (pytorch-cpu) · Ticket: 4', 'imp-conv-2-quick (pytorch-cpu) · Random reinit: 4']);

  await page.getByTestId('history-import').setInputFiles(LAB_FIXTURE);
  await expect(page.getByTestId('history-row').filter({ hasText: 'imp-conv-2-quick (wasm)' })).toHaveAttribute('data-status', 'done');
  // A repeat of the same seed elsewhere is its own line, not a mean of two "seeds".
  await expect.poll(async () => (await lines()).sort()).toEqual(
    [
      'e2e-lab-run · Ticket: 1',
      'imp-conv-2-quick (pytorch-cpu) · Ticket: 4',
      'imp-conv-2-quick (pytorch-cpu) · Random reinit: 4',
      'imp-conv-2-quick (wasm) · Ticket: 4',
      'imp-conv-2-quick (wasm) · Random reinit: 4',
    ].sort(),
  );
  const remaining = async (label: string) => (await finalAccuracyLines(page)).find((d) => d.label === label)!.data.map((p) => p.x);
  expect(await remaining('imp-conv-2-quick (pytorch-cpu) · Ticket')).toEqual(await remaining('imp-conv-2-quick (wasm) · Ticket'));

  const broken = JSON.parse(readFileSync(FIXTURE, 'utf8'));
  delete broken.rounds[2].testAccuracy;
  await page.getByTestId('history-import').setInputFiles({ name: 'broken.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(broken)) });
  await expect(page.getByTestId('history-import-error')).toHaveText('broken.json: results.json has no "testAccuracy" in rounds[2]');
  await expect(page.getByTestId('history-row')).toHaveCount(3);
});
