/** A run's ticket leaves the page as .safetensors and comes back in to be retrained; a broken file is refused with a reason. */
import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { finalAccuracyLines, openLab, runToEnd } from './lab';

/** conv-2 at width 1/16: 4 filters per conv, 16 units per hidden dense layer, 10 classes. */
const FILTERS = 4;
const UNITS = 16;
const KERNELS: Record<string, number[]> = {
  conv_1: [3, 3, 3, FILTERS],
  conv_2: [3, 3, FILTERS, FILTERS],
  // One 2x2 pool: 16 x 16 x filters flattened.
  dense_1: [16 * 16 * FILTERS, UNITS],
  dense_2: [UNITS, UNITS],
  dense_3: [UNITS, 10],
};

type HeaderEntry = { dtype: string; shape: number[]; data_offsets: [number, number] };

/** The safetensors header: 8-byte little-endian length, then that many bytes of JSON. */
function readHeader(bytes: Buffer): { metadata: Record<string, string>; tensors: Record<string, HeaderEntry>; dataStart: number } {
  const length = Number(bytes.readBigUInt64LE(0));
  const { __metadata__: metadata, ...tensors } = JSON.parse(bytes.subarray(8, 8 + length).toString('utf8'));
  return { metadata, tensors, dataStart: 8 + length };
}

test('download an IMP ticket as .safetensors, import it and retrain it; a malformed file is refused', async ({ page }) => {
  test.setTimeout(300_000);
  await openLab(page, {
    name: 'e2e-ticket',
    method: 'imp',
    model: { arch: 'conv-2', width: 0.0625 },
    data: { syntheticTrain: 400, syntheticTest: 200, validation: 50 },
    train: { lr: 5e-3, batchSize: 32, iterations: 30, evalEvery: 15 },
    prune: { rounds: 1 },
  });
  await expect(page.getByTestId('download-ticket')).toBeDisabled();
  await runToEnd(page, 180_000);

  const downloading = page.waitForEvent('download');
  await page.getByTestId('download-ticket').click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^e2e-ticket.*\.safetensors$/);
  const bytes = readFileSync((await download.path())!);
  const { metadata, tensors, dataStart } = readHeader(bytes);

  expect(metadata).toMatchObject({ format: 'lottery-lab-ticket', arch: 'conv-2', width: '0.0625', numClasses: '10', method: 'imp', round: '1' });
  const expected: Record<string, { dtype: string; shape: number[] }> = {};
  for (const [layer, shape] of Object.entries(KERNELS)) {
    expected[`mask/${layer}`] = { dtype: 'U8', shape };
    expected[`weight/${layer}/kernel`] = { dtype: 'F32', shape };
    expected[`weight/${layer}/bias`] = { dtype: 'F32', shape: [shape[shape.length - 1]] };
  }
  expect(Object.fromEntries(Object.entries(tensors).map(([name, { dtype, shape }]) => [name, { dtype, shape }]))).toEqual(expected);
  // The data section holds exactly the tensors, and the masks prune what the metadata says.
  const bytesPerValue: Record<string, number> = { U8: 1, F32: 4 };
  const end = Math.max(...Object.values(tensors).map((t) => t.data_offsets[1]));
  expect(dataStart + end).toBe(bytes.length);
  let kept = 0;
  let total = 0;
  for (const [name, tensor] of Object.entries(tensors)) {
    const count = tensor.shape.reduce((a, b) => a * b, 1);
    expect(tensor.data_offsets[1] - tensor.data_offsets[0], name).toBe(count * bytesPerValue[tensor.dtype]);
    if (name.startsWith('mask/')) {
      const mask = bytes.subarray(dataStart + tensor.data_offsets[0], dataStart + tensor.data_offsets[1]);
      kept += mask.reduce((sum, bit) => sum + bit, 0);
      total += count;
    }
  }
  expect(1 - kept / total).toBeCloseTo(Number(metadata.sparsity), 3);
  expect(Number(metadata.sparsity)).toBeGreaterThan(0.05);

  // Import it back: the builder switches to retrain on the ticket's network.
  await page.getByTestId('import-ticket').setInputFiles({ name: download.suggestedFilename(), mimeType: 'application/octet-stream', buffer: bytes });
  await expect(page.getByTestId('ticket-error')).toHaveCount(0);
  await expect(page.getByTestId('method-retrain')).toBeChecked();
  await expect(page.getByTestId('model-arch')).toHaveValue('conv-2');
  await expect(page.getByTestId('imported-ticket')).toContainText(download.suggestedFilename());
  await runToEnd(page, 180_000);
  const lines = await finalAccuracyLines(page);
  expect(lines.map((line) => [line.label, line.data.length])).toEqual([
    ['e2e-ticket · Ticket', 2],
    ['e2e-ticket #2 · Ticket', 1],
  ]);
  const retrained = lines.slice(1);
  expect(100 - retrained[0].data[0].x).toBeCloseTo(Number(metadata.sparsity) * 100, 1);

  // A file that is not a ticket says what is wrong with it.
  await page.getByTestId('import-ticket').setInputFiles({ name: 'broken.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from('not a safetensors file') });
  await expect(page.getByTestId('ticket-error')).toContainText('Could not import broken.safetensors: Not a valid .safetensors file');
});
