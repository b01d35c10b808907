/**
 * What the model tests share: seeded random image batches, the largest
 * elementwise difference of two tensors, and a small momentum-SGD setup that
 * makes BN statistics, shifts and optimiser state all non-trivial in a few steps.
 */
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../config';
import { Rng } from '../rng';

/** `count` images of size x size x 3 with normal pixels and labels 0-9, from `seed`. */
export function seededBatch(count: number, size: number, seed: number): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const rng = new Rng(seed);
  return {
    x: tf.tensor4d(Float32Array.from({ length: count * size * size * 3 }, () => rng.normal()), [count, size, size, 3]),
    y: tf.tensor1d(Int32Array.from({ length: count }, () => Math.floor(rng.next() * 10)), 'int32'),
  };
}

export function maxDifference(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

export const SMALL_SGD: TrainConfig = {
  optimizer: 'sgd',
  lr: 0.05,
  momentum: 0.9,
  weightDecay: 0,
  batchSize: 16,
  lrDecay: 0.1,
  lrDecayEpochs: [],
  evalEvery: 100,
};
