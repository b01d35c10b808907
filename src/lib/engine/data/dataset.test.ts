import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { gzipSync } from 'fflate';
import { createTar } from 'nanotar';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type DataConfig, type ExperimentConfigInput } from '../config';
import { Rng } from '../rng';
import { BYTES_PER_IMAGE, DataError } from './cifar';
import { loadDataset, randomCropFlip } from './dataset';
import { nodeFileSource } from './node-files';
import { mapFileSource } from './sources';
import type { Dataset, Split } from './types';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const SHARED_CIFAR10 = resolve(REPO_ROOT, '../shared/data/cifar10');

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function dataConfig(data: ExperimentConfigInput['data']): DataConfig {
  return parseConfig({ data: { dir: '.', ...data } }).data;
}

/**
 * CIFAR-format records whose first red byte is the image id, so a test can
 * tell which file image ended up where; the other bytes vary so that every
 * channel has a spread.
 */
function idRecords(ids: number[], labelOf: (id: number) => number[]): Uint8Array {
  const labelBytes = labelOf(0).length;
  const size = labelBytes + BYTES_PER_IMAGE;
  const out = new Uint8Array(ids.length * size);
  ids.forEach((id, i) => {
    const start = i * size;
    out.set(labelOf(id), start);
    for (let p = 0; p < BYTES_PER_IMAGE; p++) out[start + labelBytes + p] = (id * 13 + p * 7) % 256;
    out[start + labelBytes] = id; // red plane, pixel (0, 0)
  });
  return out;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const label10 = (id: number) => [id % 10];

/** 100 + 100 training images with ids 0..199 and a 50-image test file with ids 200..249. */
function cifar10Files(): Map<string, Uint8Array> {
  return new Map([
    ['data_batch_1.bin', idRecords(range(0, 100), label10)],
    ['data_batch_2.bin', idRecords(range(100, 200), label10)],
    ['test_batch.bin', idRecords(range(200, 250), label10)],
  ]);
}

/** Image ids back from a normalised split: undo the normalisation of pixel (0, 0), red. */
function ids(dataset: Dataset, x: tf.Tensor4D): number[] {
  const red = tf.tidy(() => x.slice([0, 0, 0, 0], [-1, 1, 1, 1]).reshape([-1]));
  const values = [...red.dataSync()].map((v) => Math.round((v * dataset.std[0] + dataset.mean[0]) * 255) || 0);
  red.dispose();
  return values;
}

function channelMoments(split: Split): { mean: number[]; std: number[] } {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(split.x, [0, 1, 2]);
    return { mean: [...mean.dataSync()], std: [...variance.sqrt().dataSync()] };
  });
}

describe('loadDataset: synthetic', () => {
  it('builds the splits on the device, normalised with the training statistics', async () => {
    const before = tf.memory().numTensors;
    const dataset = await loadDataset(dataConfig({ syntheticTrain: 600, syntheticTest: 200, validation: 100 }), 1, null);
    expect(dataset.source).toBe('synthetic');
    expect(dataset.numClasses).toBe(10);
    expect(dataset.classNames).toHaveLength(10);
    expect(dataset.train.size).toBe(500);
    expect(dataset.validation?.size).toBe(100);
    expect(dataset.test.size).toBe(200);
    expect(dataset.train.x.shape).toEqual([500, 32, 32, 3]);
    expect(dataset.train.x.dtype).toBe('float32');
    expect(dataset.train.y.shape).toEqual([500]);
    expect(dataset.train.y.dtype).toBe('int32');
    const { mean, std } = channelMoments(dataset.train);
    for (let c = 0; c < 3; c++) {
      expect(Math.abs(mean[c])).toBeLessThan(1e-3);
      expect(Math.abs(std[c] - 1)).toBeLessThan(1e-3);
      expect(dataset.mean[c]).toBeGreaterThan(0.2);
      expect(dataset.mean[c]).toBeLessThan(0.8);
    }
    // Other splits use the training statistics, so they are only close to 0 / 1.
    const test = channelMoments(dataset.test);
    for (let c = 0; c < 3; c++) expect(Math.abs(test.mean[c])).toBeLessThan(0.2);
    dataset.dispose();
    dataset.dispose(); // twice is harmless
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is reproducible from the seed and differs across seeds', async () => {
    const config = dataConfig({ syntheticTrain: 60, syntheticTest: 20, validation: 10 });
    const a = await loadDataset(config, 5, null);
    const b = await loadDataset(config, 5, null);
    const c = await loadDataset(config, 6, null);
    expect([...a.train.x.dataSync()]).toEqual([...b.train.x.dataSync()]);
    expect([...a.test.x.dataSync()]).toEqual([...b.test.x.dataSync()]);
    expect([...a.train.x.dataSync()]).not.toEqual([...c.train.x.dataSync()]);
    // Train and test come from different sub-seeds.
    expect([...a.train.x.dataSync().subarray(0, 3072)]).not.toEqual([...a.test.x.dataSync().subarray(0, 3072)]);
    [a, b, c].forEach((d) => d.dispose());
  });

  it('applies trainLimit and testLimit, and allows no validation split', async () => {
    const dataset = await loadDataset(dataConfig({ trainLimit: 70, testLimit: 30, validation: 0 }), 1, null);
    expect(dataset.train.size).toBe(70);
    expect(dataset.validation).toBeNull();
    expect(dataset.test.size).toBe(30);
    dataset.dispose();
  });
});

describe('loadDataset: CIFAR files', () => {
  it('holds out a seeded validation set disjoint from training, and limits', async () => {
    const config = dataConfig({ source: 'cifar10', train: ['data_batch_1.bin', 'data_batch_2.bin'], trainLimit: 150, testLimit: 20, validation: 30 });
    const dataset = await loadDataset(config, 3, mapFileSource(cifar10Files(), 'fake'));
    expect(dataset.classNames[0]).toBe('airplane');
    expect(dataset.train.size).toBe(120);
    expect(dataset.validation!.size).toBe(30);
    expect(dataset.test.size).toBe(20);
    const trainIds = ids(dataset, dataset.train.x);
    const validationIds = ids(dataset, dataset.validation!.x);
    expect(new Set(trainIds).size).toBe(120);
    expect(validationIds.filter((id) => trainIds.includes(id))).toEqual([]);
    expect([...trainIds, ...validationIds].sort((p, q) => p - q)).toEqual(range(0, 150));
    expect(ids(dataset, dataset.test.x)).toEqual(range(200, 220));
    // Labels travel with their images.
    expect([...dataset.train.y.dataSync()]).toEqual(trainIds.map((id) => id % 10));
    // Another seed holds out other images.
    const other = await loadDataset(config, 4, mapFileSource(cifar10Files(), 'fake'));
    expect(ids(other, other.validation!.x)).not.toEqual(validationIds);
    dataset.dispose();
    other.dispose();
  });

  it('uses the official names by default and stops reading once trainLimit is met', async () => {
    const limited = await loadDataset(dataConfig({ source: 'cifar10', trainLimit: 150, validation: 0 }), 1, mapFileSource(cifar10Files(), 'fake'));
    expect(limited.train.size).toBe(150);
    expect(limited.test.size).toBe(50);
    limited.dispose();
    // Without a limit all five batches are needed, and the third is missing.
    await expect(loadDataset(dataConfig({ source: 'cifar10' }), 1, mapFileSource(cifar10Files(), 'fake'))).rejects.toThrow(
      /fake has no file data_batch_3\.bin/,
    );
  });

  it('reads the official archive named by data.archive', async () => {
    const files = cifar10Files();
    const tar = createTar([
      ...range(1, 6).map((b) => ({ name: `cifar-10-batches-bin/data_batch_${b}.bin`, data: files.get(b <= 2 ? `data_batch_${b}.bin` : 'data_batch_1.bin')! })),
      { name: 'cifar-10-batches-bin/test_batch.bin', data: files.get('test_batch.bin')! },
    ]);
    const source = mapFileSource(new Map([['cifar-10-binary.tar.gz', gzipSync(tar)]]), '/data');
    const dataset = await loadDataset(dataConfig({ source: 'cifar10', archive: 'cifar-10-binary.tar.gz', validation: 50 }), 1, source);
    expect(dataset.train.size).toBe(450);
    expect(dataset.test.size).toBe(50);
    dataset.dispose();
  });

  it('trains CIFAR-100 on fine or coarse labels', async () => {
    const files = new Map([
      ['train.bin', idRecords(range(0, 80), (id) => [id % 20, id % 100])],
      ['test.bin', idRecords(range(100, 120), (id) => [id % 20, id % 100])],
    ]);
    const coarse = await loadDataset(dataConfig({ source: 'cifar100', labels: 'coarse', validation: 0 }), 1, mapFileSource(files, 'fake'));
    expect(coarse.numClasses).toBe(20);
    expect(coarse.classNames[0]).toBe('aquatic_mammals');
    expect([...coarse.train.y.dataSync()].slice(0, 25)).toEqual(range(0, 25).map((id) => id % 20));
    const fine = await loadDataset(dataConfig({ source: 'cifar100', validation: 0 }), 1, mapFileSource(files, 'fake'));
    expect(fine.numClasses).toBe(100);
    expect(fine.classNames[99]).toBe('worm');
    expect([...fine.test.y.dataSync()]).toEqual(range(100, 120).map((id) => id % 100));
    coarse.dispose();
    fine.dispose();
  });

  it('refuses a file name that is a path (separators, ..) before reading any file', async () => {
    const read: string[] = [];
    const files = mapFileSource(cifar10Files(), 'fake');
    const watched = { describe: 'fake', read: (name: string) => (read.push(name), files.read(name)) };
    const cases: [ExperimentConfigInput['data'], RegExp][] = [
      [{ train: ['data_batch_1.bin', '../../../../etc/passwd'] }, /^data\.train\[1\]: "\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd" is not a file name inside the data folder/],
      [{ test: '..' }, /^data\.test: "\.\." is not a file name/],
      [{ test: 'sub\\test_batch.bin' }, /^data\.test: "sub\\\\test_batch\.bin" is not a file name/],
      [{ archive: '/etc/cifar-10-binary.tar.gz' }, /^data\.archive: "\/etc\/cifar-10-binary\.tar\.gz" is not a file name/],
    ];
    for (const [data, message] of cases) {
      await expect(loadDataset(dataConfig({ source: 'cifar10', ...data }), 1, watched)).rejects.toThrow(message);
    }
    expect(read).toEqual([]);
  });

  it('explains a missing file source and a validation set that is too large', async () => {
    await expect(loadDataset(dataConfig({ source: 'cifar10' }), 1, null)).rejects.toThrow(/Data source "cifar10" needs its files/);
    await expect(loadDataset(dataConfig({ trainLimit: 100, validation: 100 }), 1, null)).rejects.toThrow(
      DataError,
    );
    await expect(loadDataset(dataConfig({ trainLimit: 100, validation: 100 }), 1, null)).rejects.toThrow(
      'data.validation (100) must be smaller than the 100 training images (data.trainLimit 100)',
    );
  });
});

describe('batches', () => {
  const files = cifar10Files;
  const config = (augment: boolean) =>
    dataConfig({ source: 'cifar10', train: ['data_batch_1.bin'], validation: 0, testLimit: 10, augment });

  it('covers the training set once per epoch, reshuffling each epoch deterministically from the seed', async () => {
    const dataset = await loadDataset(config(false), 1, mapFileSource(files(), 'fake'));
    const before = tf.memory().numTensors;
    const epochs = (seed: number) => {
      const stream = dataset.batches(32, seed);
      expect(stream.stepsPerEpoch).toBe(4);
      const result: number[][] = [];
      for (let epoch = 0; epoch < 3; epoch++) {
        const seen: number[] = [];
        for (let step = 0; step < stream.stepsPerEpoch; step++) {
          const { x, y } = stream.next();
          expect(x.shape).toEqual([step < 3 ? 32 : 4, 32, 32, 3]);
          const batchIds = ids(dataset, x);
          expect([...y.dataSync()]).toEqual(batchIds.map((id) => id % 10));
          seen.push(...batchIds);
          x.dispose();
          y.dispose();
        }
        expect([...seen].sort((p, q) => p - q)).toEqual(range(0, 100));
        result.push(seen);
      }
      return result;
    };
    const first = epochs(9);
    expect(first[0]).not.toEqual(first[1]);
    expect(first[1]).not.toEqual(first[2]);
    expect(first[0]).not.toEqual(range(0, 100));
    expect(epochs(9)).toEqual(first);
    expect(epochs(10)[0]).not.toEqual(first[0]);
    expect(tf.memory().numTensors).toBe(before);
    dataset.dispose();
    expect(() => dataset.batches(8, 1).next()).toThrow(/disposed/);
  });

  it('augments with crops and flips: new pixels, same shapes and labels', async () => {
    const plain = await loadDataset(config(false), 1, mapFileSource(files(), 'fake'));
    const augmented = await loadDataset(config(true), 1, mapFileSource(files(), 'fake'));
    const before = tf.memory().numTensors;
    const a = plain.batches(20, 4).next();
    const b = augmented.batches(20, 4).next();
    expect(b.x.shape).toEqual(a.x.shape);
    expect([...b.y.dataSync()]).toEqual([...a.y.dataSync()]);
    const difference = tf.tidy(() => a.x.sub(b.x).abs().mean().dataSync()[0]);
    expect(difference).toBeGreaterThan(0.05);
    tf.dispose([a.x, a.y, b.x, b.y]);
    expect(tf.memory().numTensors).toBe(before);
    plain.dispose();
    augmented.dispose();
  });

  it('pads the crops with black pixels (byte 0), as the reference pads before normalising', async () => {
    const synthetic = (augment: boolean) => loadDataset(dataConfig({ syntheticTrain: 40, syntheticTest: 10, validation: 0, augment }), 1, null);
    const plain = await synthetic(false);
    const augmented = await synthetic(true);
    const black = augmented.mean.map((m, c) => Math.fround(-m / augmented.std[c]));
    const blackPixels = (x: tf.Tensor4D) => {
      const values = x.dataSync();
      let n = 0;
      for (let i = 0; i < values.length; i += 3) if (values[i] === black[0] && values[i + 1] === black[1] && values[i + 2] === black[2]) n++;
      return n;
    };
    const a = plain.batches(40, 4).next();
    const b = augmented.batches(40, 4).next();
    // 40 crops shifted by up to 4 pixels each way pad about 140 pixels each on average.
    expect(blackPixels(b.x)).toBeGreaterThan(blackPixels(a.x) + 2000);
    tf.dispose([a.x, a.y, b.x, b.y]);
    plain.dispose();
    augmented.dispose();
  });

  it('randomCropFlip is an exact shifted (and maybe mirrored) window of the image padded with the fill colour', () => {
    const batch = 12;
    const fill = [-1.5, -2, -2.5] as const;
    const x = tf.tidy(() => tf.randomNormal([batch, 32, 32, 3], 0, 1, 'float32', 3).add(5)) as tf.Tensor4D;
    const out = randomCropFlip(x, new Rng(11), fill);
    expect(out.shape).toEqual([batch, 32, 32, 3]);
    const input = x.arraySync();
    const output = out.arraySync();
    let flips = 0;
    let shifted = 0;
    for (let b = 0; b < batch; b++) {
      let match: [number, number, boolean] | null = null;
      for (let top = 0; top <= 8 && !match; top++) {
        for (let left = 0; left <= 8 && !match; left++) {
          for (const flip of [false, true]) {
            let same = true;
            for (let row = 0; row < 32 && same; row++) {
              for (let col = 0; col < 32 && same; col++) {
                const srcRow = top + row - 4;
                const srcCol = left + (flip ? 31 - col : col) - 4;
                const inside = srcRow >= 0 && srcRow < 32 && srcCol >= 0 && srcCol < 32;
                for (let c = 0; c < 3; c++) {
                  const expected = inside ? input[b][srcRow][srcCol][c] : fill[c];
                  if (output[b][row][col][c] !== expected) same = false;
                }
              }
            }
            if (same) {
              match = [top, left, flip];
              break;
            }
          }
        }
      }
      expect(match).not.toBeNull();
      if (match![2]) flips++;
      if (match![0] !== 4 || match![1] !== 4) shifted++;
    }
    expect(flips).toBeGreaterThan(0);
    expect(flips).toBeLessThan(batch);
    expect(shifted).toBeGreaterThan(batch / 2);
    tf.dispose([x, out]);
  });
});

describe('classSubset', () => {
  it('keeps the listed classes, relabelled from 0, with its own tensors', async () => {
    const before = tf.memory().numTensors;
    const dataset = await loadDataset(
      dataConfig({ source: 'cifar10', train: ['data_batch_1.bin', 'data_batch_2.bin'], validation: 40 }),
      2,
      mapFileSource(cifar10Files(), 'fake'),
    );
    const subset = dataset.classSubset([2, 3, 4]);
    expect(subset.numClasses).toBe(3);
    expect(subset.classNames).toEqual(['bird', 'cat', 'deer']);
    expect(subset.mean).toEqual(dataset.mean);
    const trainIds = ids(subset, subset.train.x);
    expect(trainIds.every((id) => id % 10 >= 2 && id % 10 < 5)).toBe(true);
    expect([...subset.train.y.dataSync()]).toEqual(trainIds.map((id) => (id % 10) - 2));
    expect(subset.train.size + subset.validation!.size).toBe(60);
    expect(subset.test.size).toBe(15);
    expect([...subset.test.y.dataSync()].every((label) => label >= 0 && label < 3)).toBe(true);

    // The subset survives its parent, and a subset of a subset works.
    dataset.dispose();
    const batch = subset.batches(16, 1).next();
    expect(batch.x.shape).toEqual([16, 32, 32, 3]);
    tf.dispose([batch.x, batch.y]);
    const inner = subset.classSubset([1, 2]);
    expect(inner.classNames).toEqual(['cat', 'deer']);
    expect([...inner.test.y.dataSync()].sort()).toEqual([...new Array(5).fill(0), ...new Array(5).fill(1)]);
    subset.dispose();
    inner.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => dataset.classSubset([0, 10])).toThrow(DataError);
  });

  it('relabels in the order given, not in label order', async () => {
    const dataset = await loadDataset(dataConfig({ syntheticTrain: 200, syntheticTest: 50, validation: 0 }), 1, null);
    const labels = [...dataset.train.y.dataSync()];
    const subset = dataset.classSubset([7, 2]);
    expect(subset.classNames).toEqual([dataset.classNames[7], dataset.classNames[2]]);
    expect([...subset.train.y.dataSync()]).toEqual(labels.filter((l) => l === 7 || l === 2).map((l) => (l === 7 ? 0 : 1)));
    subset.dispose();
    dataset.dispose();
  });

  it('rejects an empty, repeated or out-of-range class list', async () => {
    const dataset = await loadDataset(dataConfig({ syntheticTrain: 30, syntheticTest: 10, validation: 0 }), 1, null);
    expect(() => dataset.classSubset([])).toThrow('Class subset [] is not a list of distinct classes within 0..9');
    expect(() => dataset.classSubset([-1, 2])).toThrow(DataError);
    expect(() => dataset.classSubset([2, 2])).toThrow(DataError);
    dataset.dispose();
  });
});

describe('data.classes', () => {
  it('trains and tests on the task only, relabelled, with validation from its classes', async () => {
    const before = tf.memory().numTensors;
    const full = await loadDataset(dataConfig({ syntheticTrain: 300, syntheticTest: 100, validation: 0 }), 3, null);
    const fullTest = [...full.test.y.dataSync()];
    full.dispose();
    const task = await loadDataset(dataConfig({ syntheticTrain: 300, syntheticTest: 100, validation: 20, classes: [5, 6, 7, 8, 9] }), 3, null);
    expect(task.numClasses).toBe(5);
    expect(task.classNames).toHaveLength(5);
    expect([...task.test.y.dataSync()]).toEqual(fullTest.filter((l) => l >= 5).map((l) => l - 5));
    for (const split of [task.train, task.validation!]) {
      expect([...split.y.dataSync()].every((l) => l >= 0 && l < 5)).toBe(true);
    }
    expect(task.validation!.size).toBe(20);
    task.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

const haveRealData = existsSync(resolve(SHARED_CIFAR10, 'data_batch_1.bin')) && existsSync(resolve(SHARED_CIFAR10, 'test_batch.bin'));

describe('real CIFAR-10 through loadDataset', () => {
  it.skipIf(!haveRealData)(
    haveRealData
      ? 'loads a limited real set with the known CIFAR-10 channel means'
      : `SKIPPED: ${SHARED_CIFAR10} lacks data_batch_1.bin / test_batch.bin (needs the shared CIFAR-10 sample)`,
    async () => {
      const before = tf.memory().numTensors;
      const dataset = await loadDataset(
        dataConfig({ source: 'cifar10', train: ['data_batch_1.bin', 'data_batch_2.bin'], trainLimit: 3000, testLimit: 1000, validation: 300 }),
        1,
        nodeFileSource(SHARED_CIFAR10),
      );
      expect(dataset.train.size).toBe(2700);
      expect(dataset.validation!.size).toBe(300);
      expect(dataset.test.size).toBe(1000);
      // The usual full-set statistics are (0.491, 0.482, 0.447) / (0.247, 0.243, 0.262).
      const expectedMean = [0.491, 0.482, 0.447];
      const expectedStd = [0.247, 0.243, 0.262];
      for (let c = 0; c < 3; c++) {
        expect(Math.abs(dataset.mean[c] - expectedMean[c])).toBeLessThan(0.02);
        expect(Math.abs(dataset.std[c] - expectedStd[c])).toBeLessThan(0.02);
      }
      const perClass = new Array(10).fill(0);
      for (const label of dataset.test.y.dataSync()) perClass[label]++;
      expect(Math.min(...perClass)).toBeGreaterThan(60);
      dataset.dispose();
      expect(tf.memory().numTensors).toBe(before);
    },
  );
});

describe('classSubset without held-out images of its classes', () => {
  it('has no validation split rather than an empty one', async () => {
    const dataset = await loadDataset(
      dataConfig({ source: 'cifar10', train: ['data_batch_1.bin'], validation: 1 }),
      2,
      mapFileSource(cifar10Files(), 'fake'),
    );
    const heldOut = dataset.validation!.y.dataSync()[0];
    const withIt = dataset.classSubset([heldOut]);
    const other = (heldOut + 5) % 10;
    const without = dataset.classSubset([other]);
    expect(withIt.validation!.size).toBe(1);
    expect(without.validation).toBeNull();
    expect(without.train.size).toBe(10);
    for (const d of [dataset, withIt, without]) d.dispose();
  });
});
