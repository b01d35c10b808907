import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config';
import { loadDataset } from '../data/dataset';
import type { Batch, Dataset } from '../data/types';
import { createModel } from '../models/registry';
import { dense, flatten } from '../models/layers';
import { Model } from '../models/model';
import { Rng } from '../rng';
import { initBackend } from '../runtime/backend';
import { cosineLearningRate, keptCount, ScoreMasks, topKMask, topKRule, uniformScores, type MaskRule } from './score-masks';

let dataset: Dataset;

beforeAll(async () => {
  await initBackend('wasm');
  dataset = await loadDataset(parseConfig({ data: { syntheticTrain: 40, syntheticTest: 10, validation: 0 } }).data, 1, null);
});

afterAll(() => dataset.dispose());

function batchOf(size: number): Batch {
  return dataset.batches(size, 3).next();
}

function scoreMasks(model: Model, rule: MaskRule, seed = 7): ScoreMasks {
  const rng = new Rng(seed);
  return new ScoreMasks({ model, layers: model.prunable, initialScores: (layer) => uniformScores(layer, rng), rule });
}

describe('keptCount and topKMask', () => {
  it('keeps n - floor((1 - k) n), as the reference zeroes the floor((1 - k) n) lowest', () => {
    expect(keptCount(10, 0.5)).toBe(5);
    expect(keptCount(10, 0.7)).toBe(7); // (1 - 0.7) * 10 is 3.0000000000000004: floor 3
    expect(keptCount(10, 0.1)).toBe(1);
    expect(keptCount(7, 0.5)).toBe(4); // floor(3.5) = 3 pruned
    expect(keptCount(3, 0.01)).toBe(1); // any k > 0 keeps a weight
    expect(keptCount(864, 1)).toBe(864);
  });

  it('breaks ties at the threshold by keeping the lowest indices', async () => {
    const values = tf.tensor1d([3, 1, 2, 2, 2, 0]);
    const mask = topKMask(values, 3);
    expect(Array.from(await mask.data())).toEqual([1, 0, 1, 1, 0, 0]);
    const equal = tf.fill([2, 4], 0.5);
    const equalMask = topKMask(equal, 3);
    expect(Array.from(await equalMask.data())).toEqual([1, 1, 1, 0, 0, 0, 0, 0]);
    expect(equalMask.shape).toEqual([2, 4]);
    tf.dispose([values, mask, equal, equalMask]);
  });

  it('keeps exactly the count asked for, and only the largest values, with many ties', async () => {
    const rng = new Rng(3);
    for (const size of [1, 9, 100, 1001]) {
      // Values on a coarse grid, so most thresholds fall on ties.
      const values = Float32Array.from({ length: size }, () => rng.int(7) / 7);
      for (const k of [0.01, 0.1, 0.3, 0.5, 0.7, 0.99, 1]) {
        const kept = keptCount(size, k);
        const mask = await tf.tidy(() => topKMask(tf.tensor1d(values), kept)).data();
        let count = 0;
        let minKept = Infinity;
        let maxPruned = -Infinity;
        for (let i = 0; i < size; i++) {
          if (mask[i]) {
            count++;
            minKept = Math.min(minKept, values[i]);
          } else maxPruned = Math.max(maxPruned, values[i]);
        }
        expect(count, `size ${size}, k ${k}`).toBe(kept);
        expect(minKept).toBeGreaterThanOrEqual(maxPruned);
      }
    }
  });

  it('refuses a count it cannot keep', () => {
    const values = tf.zeros([4]);
    expect(() => topKMask(values, 0)).toThrow(/Cannot keep 0 of 4/);
    expect(() => topKMask(values, 5)).toThrow(/Cannot keep 5 of 4/);
    values.dispose();
  });
});

describe('straight-through score gradients', () => {
  const keepAll: MaskRule = { initial: (l) => tf.onesLike(l.scores), afterStep: (l) => l.mask, absoluteScores: false };
  const cases: { name: string; rule: MaskRule }[] = [
    { name: "edge-popup's top-k of |S| (gradient through sign(S))", rule: topKRule(0.5) },
    { name: 'a rule on S itself (gradient dL/dW_eff ⊙ W)', rule: keepAll },
  ];
  for (const { name, rule } of cases) {
    it(`match finite differences of the loss along W ⊙ dS-directions: ${name}`, async () => {
      // Along D = W ⊙ s ⊙ E (s = sign(S) when |S| is ranked, else 1), the
      // derivative of the loss in the effective weights is Σ g ⊙ D = Σ dS ⊙ E:
      // one finite difference checks the product, its W and its sign. A
      // small net on small inputs keeps ReLU kinks out of the difference.
      const model = new Model('probe', [flatten(), dense('dense_1', 8, { output: false }), dense('dense_2', 3, { output: true })], [2, 2, 3], 2);
      const masks = scoreMasks(model, rule);
      const batch: Batch = { x: tf.randomNormal([16, 2, 2, 3], 0, 1, 'float32', 1), y: tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0], 'int32') };
      const loss = () => tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(batch.y, 3), model.forward(batch.x, true)).dataSync()[0]);
      const { loss: value, grads } = masks.scoreGradients(batch, 3);
      const rng = new Rng(11);
      for (const scored of masks.layers) {
        const name = scored.layer.name;
        const kernel = model.kernel(name);
        const original = tf.clone(kernel);
        const e = tf.tensor(Float32Array.from({ length: scored.layer.size }, () => rng.normal()), scored.layer.shape);
        const direction = tf.tidy(() => tf.mul(tf.mul(scored.weights, e), rule.absoluteScores ? tf.sign(scored.scores) : 1));
        const h = 3e-3;
        kernel.assign(tf.tidy(() => tf.add(original, tf.mul(direction, h))));
        const plus = loss();
        kernel.assign(tf.tidy(() => tf.sub(original, tf.mul(direction, h))));
        const minus = loss();
        kernel.assign(original);
        const numeric = (plus - minus) / (2 * h);
        const analytic = tf.tidy(() => tf.sum(tf.mul(grads.get(name)!, e)).dataSync()[0]);
        expect(Math.abs(numeric), `${name} moves the loss`).toBeGreaterThan(1e-4);
        expect(Math.abs(analytic - numeric) / Math.abs(numeric), name).toBeLessThan(0.02);
        tf.dispose([original, e, direction]);
      }
      model.discardBatchStats();
      tf.dispose([value, ...grads.values(), batch.x, batch.y]);
      masks.dispose();
      model.dispose();
    });
  }

  it('reach pruned weights too, so they can pop up into the mask', async () => {
    const model = createModel('lenet-300-100', 0.02, 10, 4);
    const masks = scoreMasks(model, topKRule(0.3));
    const batch = batchOf(20);
    const { loss, grads } = masks.scoreGradients(batch, 10);
    const output = masks.layers.at(-1)!;
    const prunedGradient = tf.tidy(() => tf.sum(tf.abs(tf.mul(grads.get(output.layer.name)!, tf.sub(1, output.mask)))).dataSync()[0]);
    expect(prunedGradient).toBeGreaterThan(0);
    model.discardBatchStats();
    tf.dispose([loss, ...grads.values(), batch.x, batch.y]);
    masks.dispose();
    model.dispose();
  });
});

describe('a score step', () => {
  it('trains the scores only: frozen hash equal, kernels W ⊙ M, BN statistics updated, counts exact', async () => {
    const model = createModel('conv-4-bn', 0.125, 10, 2);
    const k = 0.4;
    const masks = scoreMasks(model, topKRule(k));
    const before = await masks.frozenHash();
    const scoresBefore = await masks.readScores();
    const maskBefore = await masks.readMasks();
    const runningMean = model.buffers.get('conv_1/bn_mean')!;
    const meanBefore = runningMean.dataSync().slice();
    const optimizer = tf.train.momentum(0.1, 0.9);
    for (let step = 0; step < 3; step++) {
      const batch = batchOf(20);
      tf.dispose([masks.step({ optimizer, batch, numClasses: 10, weightDecay: 1e-4 }), batch.x, batch.y]);
    }
    expect(await masks.frozenHash()).toBe(before);
    expect(await masks.kernelsMatchMasks()).toBe(true);
    expect(runningMean.dataSync()).not.toEqual(meanBefore);
    const scoresAfter = await masks.readScores();
    for (const [name, values] of scoresAfter) expect(values, name).not.toEqual(scoresBefore.get(name));
    const maskAfter = await masks.readMasks();
    for (const count of maskAfter.counts()) expect(count.remaining, count.name).toBe(keptCount(count.weights, k));
    const changed = [...maskAfter.layers.values()].some((m) => m.keep.some((bit, i) => bit !== maskBefore.get(m.name).keep[i]));
    expect(changed, 'the steps moved some weight in or out of the mask').toBe(true);
    optimizer.dispose();
    masks.dispose();
    model.dispose();
  });

  it('has a frozen hash that notices a changed bias, BN affine parameter or frozen weight', async () => {
    const model = createModel('conv-4-bn', 0.125, 10, 2);
    const masks = scoreMasks(model, topKRule(0.5));
    const original = await masks.frozenHash();
    for (const name of ['dense_1/bias', 'conv_2/bn_gamma', 'conv_3/bn_beta']) {
      const param = model.params.get(name)!;
      const saved = tf.clone(param);
      param.assign(tf.tidy(() => tf.add(saved, 1e-3)));
      expect(await masks.frozenHash(), name).not.toBe(original);
      param.assign(saved);
      saved.dispose();
    }
    const scored = masks.layers[0];
    const weights = scored.weights;
    (scored as { weights: tf.Tensor }).weights = tf.tidy(() => tf.mul(weights, 1.001));
    expect(await masks.frozenHash()).not.toBe(original);
    scored.weights.dispose();
    (scored as { weights: tf.Tensor }).weights = weights;
    expect(await masks.frozenHash()).toBe(original);
    masks.dispose();
    model.dispose();
  });

  it('leaves no tensors behind per step', () => {
    const model = createModel('lenet-300-100', 0.02, 10, 4);
    const masks = scoreMasks(model, topKRule(0.5));
    const optimizer = tf.train.momentum(0.1, 0.9);
    const batch = batchOf(20);
    tf.dispose(masks.step({ optimizer, batch, numClasses: 10, weightDecay: 1e-4 })); // creates the momentum slots
    const tensors = tf.memory().numTensors;
    tf.dispose(masks.step({ optimizer, batch, numClasses: 10, weightDecay: 1e-4 }));
    expect(tf.memory().numTensors).toBe(tensors);
    tf.dispose([batch.x, batch.y]);
    optimizer.dispose();
    masks.dispose();
    model.dispose();
  });
});

describe('cosineLearningRate', () => {
  it('anneals from lr to 0 over the epochs', () => {
    expect(cosineLearningRate(0.1, 0, 10)).toBeCloseTo(0.1, 12);
    expect(cosineLearningRate(0.1, 5, 10)).toBeCloseTo(0.05, 12);
    expect(cosineLearningRate(0.1, 10, 10)).toBeCloseTo(0, 12);
  });
});
