import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  BYTES_PER_IMAGE,
  CIFAR10_CLASSES,
  CIFAR10_RECORD_BYTES,
  CIFAR100_COARSE_CLASSES,
  CIFAR100_FINE_CLASSES,
  CIFAR100_RECORD_BYTES,
  DataError,
  cifarClassNames,
  concatRawImages,
  parseCifar10,
  parseCifar100,
  takeFirst,
} from './cifar';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const SHARED_CIFAR10 = resolve(REPO_ROOT, '../shared/data/cifar10');

/** Channel c of pixel (y, x) in test record `record`: distinct per plane so plane mix-ups show. */
function pixelValue(record: number, c: number, y: number, x: number): number {
  return (record * 7 + c * 85 + y * 3 + x) % 256;
}

/** One record in the official CHW layout: label byte(s), then the R, G and B planes. */
function record(labels: number[], index: number): Uint8Array {
  const bytes = new Uint8Array(labels.length + BYTES_PER_IMAGE);
  bytes.set(labels, 0);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) bytes[labels.length + c * 1024 + y * 32 + x] = pixelValue(index, c, y, x);
    }
  }
  return bytes;
}

function file(records: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(records.reduce((n, r) => n + r.length, 0));
  let offset = 0;
  for (const r of records) {
    out.set(r, offset);
    offset += r.length;
  }
  return out;
}

describe('parseCifar10', () => {
  it('reads labels and turns the R, G, B planes into HWC bytes', () => {
    const bytes = file([record([3], 0), record([9], 1), record([0], 2)]);
    const raw = parseCifar10(bytes, 'data_batch_1.bin');
    expect(raw.count).toBe(3);
    expect(raw.numClasses).toBe(10);
    expect([...raw.labels]).toEqual([3, 9, 0]);
    expect(raw.images.length).toBe(3 * 3072);
    for (let i = 0; i < 3; i++) {
      for (const [y, x] of [[0, 0], [0, 1], [1, 0], [17, 5], [31, 31]]) {
        for (let c = 0; c < 3; c++) {
          expect(raw.images[i * 3072 + (y * 32 + x) * 3 + c]).toBe(pixelValue(i, c, y, x));
        }
      }
    }
  });

  it('rejects a size that is not a whole number of records, naming the file, size and record size', () => {
    const bytes = file([record([1], 0), new Uint8Array(100)]);
    expect(() => parseCifar10(bytes, 'data_batch_3.bin')).toThrow(DataError);
    expect(() => parseCifar10(bytes, 'data_batch_3.bin')).toThrow(
      /data_batch_3\.bin is 3173 bytes, not a whole number of 3073-byte records/,
    );
  });

  it('rejects a label out of range, naming the file, record and value', () => {
    const bytes = file([record([1], 0), record([2], 1), record([10], 2)]);
    expect(() => parseCifar10(bytes, 'test_batch.bin')).toThrow(/test_batch\.bin: record 2 has label 10, outside 0\.\.9/);
  });

  it('rejects an empty file', () => {
    expect(() => parseCifar10(new Uint8Array(0), 'data_batch_5.bin')).toThrow(
      /data_batch_5\.bin is empty \(0 bytes\); expected records of 3073 bytes/,
    );
  });
});

describe('parseCifar100', () => {
  const bytes = file([record([4, 31], 0), record([19, 99], 1), record([0, 7], 2)]);

  it('uses the fine label by default and the coarse label on request', () => {
    const fine = parseCifar100(bytes, 'train.bin');
    expect(fine.numClasses).toBe(100);
    expect([...fine.labels]).toEqual([31, 99, 7]);
    const coarse = parseCifar100(bytes, 'train.bin', 'coarse');
    expect(coarse.numClasses).toBe(20);
    expect([...coarse.labels]).toEqual([4, 19, 0]);
    expect(coarse.images[(5 * 32 + 6) * 3 + 2]).toBe(pixelValue(0, 2, 5, 6));
    expect(coarse.images[3072 + (31 * 32 + 0) * 3 + 1]).toBe(pixelValue(1, 1, 31, 0));
  });

  it('checks both label bytes whichever is used', () => {
    const badCoarse = file([record([1, 1], 0), record([20, 5], 1)]);
    expect(() => parseCifar100(badCoarse, 'test.bin', 'fine')).toThrow(/test\.bin: record 1 has coarse label 20, outside 0\.\.19/);
    const badFine = file([record([1, 100], 0)]);
    expect(() => parseCifar100(badFine, 'train.bin', 'coarse')).toThrow(/train\.bin: record 0 has fine label 100, outside 0\.\.99/);
  });

  it('uses the 3074-byte record size in its size errors', () => {
    expect(() => parseCifar100(new Uint8Array(CIFAR10_RECORD_BYTES), 'train.bin')).toThrow(
      /train\.bin is 3073 bytes, not a whole number of 3074-byte records/,
    );
    expect(CIFAR100_RECORD_BYTES).toBe(3074);
  });
});

describe('class names and helpers', () => {
  it('lists 10, 20 and 100 distinct names', () => {
    expect(CIFAR10_CLASSES).toHaveLength(10);
    expect(CIFAR100_COARSE_CLASSES).toHaveLength(20);
    expect(CIFAR100_FINE_CLASSES).toHaveLength(100);
    expect(new Set(CIFAR100_FINE_CLASSES).size).toBe(100);
    expect(new Set(CIFAR100_COARSE_CLASSES).size).toBe(20);
    // Fine names are the official alphabetical order.
    expect([...CIFAR100_FINE_CLASSES].sort()).toEqual([...CIFAR100_FINE_CLASSES]);
    expect(cifarClassNames('cifar100', 'coarse')[19]).toBe('vehicles_2');
    expect(cifarClassNames('cifar100')[99]).toBe('worm');
    expect(cifarClassNames('cifar10')[0]).toBe('airplane');
  });

  it('joins files in order and takes the first images', () => {
    const a = parseCifar10(file([record([1], 0), record([2], 1)]), 'a');
    const b = parseCifar10(file([record([3], 2)]), 'b');
    const joined = concatRawImages([a, b]);
    expect(joined.count).toBe(3);
    expect([...joined.labels]).toEqual([1, 2, 3]);
    expect(joined.images[2 * 3072]).toBe(pixelValue(2, 0, 0, 0));
    const first = takeFirst(joined, 2);
    expect(first.count).toBe(2);
    expect(first.images.length).toBe(2 * 3072);
    expect(takeFirst(joined, 10)).toBe(joined);
  });
});

const realTestBatch = resolve(SHARED_CIFAR10, 'test_batch.bin');
const haveRealData = existsSync(realTestBatch);

describe('real CIFAR-10', () => {
  it.skipIf(!haveRealData)(
    haveRealData
      ? 'parses test_batch.bin: 10,000 records, 1,000 per class'
      : `SKIPPED: ${realTestBatch} is absent (real-data check needs the shared CIFAR-10 sample)`,
    () => {
      const bytes = new Uint8Array(readFileSync(realTestBatch));
      const raw = parseCifar10(bytes, realTestBatch);
      expect(raw.count).toBe(10_000);
      const perClass = new Array(10).fill(0);
      for (const label of raw.labels) perClass[label]++;
      expect(perClass).toEqual(new Array(10).fill(1000));
      // HWC: the first pixel's channels are the first byte of each plane.
      expect(raw.images[0]).toBe(bytes[1]);
      expect(raw.images[1]).toBe(bytes[1 + 1024]);
      expect(raw.images[2]).toBe(bytes[1 + 2048]);
      const names = readFileSync(resolve(SHARED_CIFAR10, 'batches.meta.txt'), 'utf8').split('\n').filter(Boolean);
      expect(names).toEqual([...CIFAR10_CLASSES]);
    },
  );
});
