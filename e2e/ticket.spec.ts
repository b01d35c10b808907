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

/** A .safetensors file: 8-byte header length, the JSON header padded with spaces to 8 bytes, then the values. */
function safetensorsFile(tensors: Record<string, { dtype: 'U8' | 'F32'; shape: number[]; values: number[] }>, metadata: Record<string, string>): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const parts: Buffer[] = [];
  let offset = 0;
  for (const [name, { dtype, shape, values }] of Object.entries(tensors)) {
    const data = dtype === 'U8' ? Buffer.from(Uint8Array.from(values)) : Buffer.from(Float32Array.from(values).buffer);
    header[name] = { dtype, shape, data_offsets: [offset, offset + data.length] };
    parts.push(data);
    offset += data.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, Buffer.from(json), ...parts]);
}

test('a slim ticket (channels cut out) imports as its slim network and retrains; bad channels metadata is refused', async ({ page }) => {
  test.setTimeout(180_000);
  // Conv-4-BN x0.125 has 8-8-16-16 channels; this ticket's conv_1 keeps 3 and conv_4 keeps 5.
  const channels = [3, 8, 16, 5];
  const tensors: Parameters<typeof safetensorsFile>[0] = {};
  const values = (n: number, scale: number) => Array.from({ length: n }, (_, i) => Math.sin(i + n) * scale);
  const kernel = (layer: string, shape: number[]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    tensors[`mask/${layer}`] = { dtype: 'U8', shape, values: new Array(size).fill(1) };
    tensors[`weight/${layer}/kernel`] = { dtype: 'F32', shape, values: values(size, 0.2) };
  };
  channels.forEach((out, i) => {
    const layer = `conv_${i + 1}`;
    kernel(layer, [3, 3, i === 0 ? 3 : channels[i - 1], out]);
    for (const [suffix, fill] of [['bn_gamma', 1], ['bn_beta', 0], ['bn_mean', 0], ['bn_variance', 1]] as const) {
      tensors[`weight/${layer}/${suffix}`] = { dtype: 'F32', shape: [out], values: new Array(out).fill(fill) };
    }
  });
  // Two pools: 8 x 8 x conv_4's 5 channels flattened into dense_1.
  for (const [layer, shape] of [['dense_1', [8 * 8 * 5, 32]], ['dense_2', [32, 32]], ['dense_3', [32, 10]]] as const) {
    kernel(layer, [...shape]);
    tensors[`weight/${layer}/bias`] = { dtype: 'F32', shape: [shape[1]], values: new Array(shape[1]).fill(0) };
  }
  const metadata = {
    format: 'lottery-lab-ticket',
    version: '1',
    arch: 'conv-4-bn',
    width: '0.125',
    numClasses: '10',
    method: 'earlybird',
    round: '1',
    sparsity: '0',
    iteration: '0',
    channels: '{"conv_1":3,"conv_4":5}',
  };
  await openLab(page, {
    name: 'e2e-slim-ticket',
    method: 'imp',
    model: { arch: 'conv-2', width: 0.0625 },
    data: { syntheticTrain: 200, syntheticTest: 100, validation: 20 },
    train: { lr: 5e-3, batchSize: 32, iterations: 6, evalEvery: 3 },
  });
  await page.getByTestId('import-ticket').setInputFiles({ name: 'slim.safetensors', mimeType: 'application/octet-stream', buffer: safetensorsFile(tensors, metadata) });
  await expect(page.getByTestId('ticket-error')).toHaveCount(0);
  await expect(page.getByTestId('method-retrain')).toBeChecked();
  await expect(page.getByTestId('model-arch')).toHaveValue('conv-4-bn');
  await expect(page.getByTestId('imported-ticket')).toContainText('conv-4-bn at width 0.125, slim (conv_1 3, conv_4 5 channels)');
  // The ticket's tensors fit only the slim network: the run would fail on the width's own shapes.
  await runToEnd(page, 150_000);

  await page.getByTestId('import-ticket').setInputFiles({
    name: 'bad.safetensors',
    mimeType: 'application/octet-stream',
    buffer: safetensorsFile(tensors, { ...metadata, channels: '{"conv_9":3}' }),
  });
  await expect(page.getByTestId('ticket-error')).toContainText(
    'Could not import bad.safetensors: Ticket metadata "channels": conv_9: conv-4-bn has no conv layer "conv_9"',
  );
});
