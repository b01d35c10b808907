/**
 * What the model tests share: seeded random image batches, the largest
 * elementwise difference of two tensors, and a small momentum-SGD setup that
 * makes BN statistics, shifts and optimiser state all non-trivial in a few steps.
 */
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../config';
import { Rng } from '../rng';
import { trainStep } from '../train/trainer';
import type { Model } from './model';

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

/** A few steps so BN statistics, shifts and optimiser state are all non-trivial. */
export function trainSteps(model: Model, optimizer: tf.Optimizer, steps: number): void {
  for (let i = 0; i < steps; i++) {
    const batch = seededBatch(16, 8, 100 + i);
    const loss = trainStep({ model, optimizer, batch, numClasses: 10, weightDecay: 0, masks: null, variables: model.trainableVariables, iteration: i });
    tf.dispose([loss, batch.x, batch.y]);
  }
}

/** Set BN scale and shift of the removed channels to 0: what EarlyBird's pruning does. */
export function silence(model: Model, channelKeep: ReadonlyMap<string, Uint8Array>): void {
  for (const bn of model.batchNorms) {
    const keep = tf.tensor1d(Float32Array.from(channelKeep.get(bn.name)!));
    bn.gamma.assign(tf.mul(bn.gamma, keep));
    bn.beta.assign(tf.mul(bn.beta, keep));
    keep.dispose();
  }
}
