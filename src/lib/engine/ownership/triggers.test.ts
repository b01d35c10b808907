import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { BYTES_PER_IMAGE } from '../data/cifar';
import { mixTriggers, triggerImages, triggerIndices } from './triggers';

describe('trigger set', () => {
  it('draws the same images and labels from the same seed, other ones from another, with labels in range', () => {
    const a = triggerImages(30, 10, 7);
    const b = triggerImages(30, 10, 7);
    const c = triggerImages(30, 10, 8);
    expect(a.images.length).toBe(30 * BYTES_PER_IMAGE);
    expect(a.images).toEqual(b.images);
    expect(a.labels).toEqual(b.labels);
    expect(a.images).not.toEqual(c.images);
    expect(Math.max(...a.labels)).toBeLessThan(10);
    expect(new Set(a.labels).size).toBeGreaterThan(3);
    // Images differ from one another.
    expect(a.images.subarray(0, BYTES_PER_IMAGE)).not.toEqual(a.images.subarray(BYTES_PER_IMAGE, 2 * BYTES_PER_IMAGE));
  });

  it('goes through every trigger once per pass, in a seeded order that depends on the iteration alone', () => {
    const size = 7;
    const perBatch = 3;
    const seen = Array.from({ length: 7 }, (_, iteration) => triggerIndices(size, perBatch, 5, iteration)).flat();
    // 21 slots = 3 whole passes over 7 triggers.
    for (let pass = 0; pass < 3; pass++) expect([...seen.slice(pass * size, (pass + 1) * size)].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(seen.slice(0, size)).not.toEqual(seen.slice(size, 2 * size));
    expect(triggerIndices(size, perBatch, 5, 4)).toEqual(seen.slice(12, 15));
    expect(triggerIndices(size, perBatch, 6, 0)).not.toEqual(seen.slice(0, 3));
  });

  it('appends the chosen triggers to a batch and leaves the batch as it was', () => {
    const triggers = { x: tf.fill([4, 32, 32, 3], 9) as tf.Tensor4D, y: tf.tensor1d([3, 1, 4, 1], 'int32'), size: 4 };
    const batch = { x: tf.zeros([5, 32, 32, 3]) as tf.Tensor4D, y: tf.zeros([5], 'int32') as tf.Tensor1D };
    const before = tf.memory().numTensors;
    const mixed = mixTriggers(triggers, 2, 11)(batch, 3);
    expect(tf.memory().numTensors).toBe(before + 2);
    const picked = triggerIndices(4, 2, 11, 3);
    expect(mixed.x.shape).toEqual([7, 32, 32, 3]);
    expect([...mixed.y.dataSync()]).toEqual([0, 0, 0, 0, 0, ...picked.map((k) => [3, 1, 4, 1][k])]);
    expect(mixed.x.slice([5], [2]).min().dataSync()[0]).toBe(9);
    expect(batch.x.isDisposed).toBe(false);
    tf.dispose([triggers.x, triggers.y, batch.x, batch.y, mixed.x, mixed.y]);
  });
});
