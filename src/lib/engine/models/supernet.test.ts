import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config';
import { MaskSet, countOnes } from '../masks/mask';
import { Rng } from '../rng';
import { createOptimizer, disposeOptimizer } from '../train/trainer';
import { branchStage, dense, flatten, leadingPositions } from './layers';
import { Model } from './model';
import { archLayers, stageBranches } from './registry';
import { shrinkModel } from './shrink';
import { SMALL_SGD, maxDifference, seededBatch, silence, trainSteps } from './test-fixtures';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Random BN scales and shifts, so no branch is a copy of another. */
function randomiseBatchNorms(model: Model, seed: number): void {
  const rng = new Rng(seed);
  for (const bn of model.batchNorms) {
    bn.gamma.assign(tf.tensor1d(Float32Array.from({ length: bn.channels }, () => rng.normal())));
    bn.beta.assign(tf.tensor1d(Float32Array.from({ length: bn.channels }, () => 0.3 * rng.normal())));
  }
}

describe('branchStage', () => {
  it('computes the sum of its branches, each its own conv, BatchNorm and ReLU; a branch with fewer channels adds at its positions', () => {
    // Stage of 4 channels: a 3x3 branch on all of them, a 5x5 branch on channels 1 and 3 only.
    const stage = branchStage('conv_1', 4, [
      { kernel: 3, positions: leadingPositions(4) },
      { kernel: 5, positions: [1, 3] },
    ]);
    const model = new Model('toy', [stage, flatten(), dense('dense_2', 2, { output: true })], [6, 6, 3], 4);
    randomiseBatchNorms(model, 5);
    const { x } = seededBatch(3, 6, 6);
    const branch = (name: string): tf.Tensor4D =>
      tf.relu(
        tf.batchNorm(
          tf.conv2d(x, model.kernel(name) as tf.Tensor4D, 1, 'same'),
          model.buffers.get(`${name}/bn_mean`)!,
          model.buffers.get(`${name}/bn_variance`)!,
          model.params.get(`${name}/bn_beta`)!,
          model.params.get(`${name}/bn_gamma`)!,
          1e-5,
        ),
      ) as tf.Tensor4D;
    const expected = tf.tidy(() => {
      const k3 = branch('conv_1_k3');
      const k5 = branch('conv_1_k5');
      // The 5x5 branch's channels 0 and 1 land on stage channels 1 and 3.
      const placed = tf.concat([tf.zerosLike(k5.slice([0, 0, 0, 0], [-1, -1, -1, 1])), k5.slice([0, 0, 0, 0], [-1, -1, -1, 1]), tf.zerosLike(k5.slice([0, 0, 0, 0], [-1, -1, -1, 1])), k5.slice([0, 0, 0, 1], [-1, -1, -1, 1])], 3);
      const features = tf.reshape(tf.add(k3, placed), [3, -1]);
      return tf.add(tf.matMul(features, model.kernel('dense_2') as tf.Tensor2D), model.params.get('dense_2/bias')!);
    });
    const logits = model.forward(x, false);
    expect(maxDifference(logits, expected)).toBeLessThan(1e-4);
    expect(model.batchNorms.map((bn) => [bn.name, bn.channels])).toEqual([
      ['conv_1_k3', 4],
      ['conv_1_k5', 2],
    ]);
    // FLOPs: each branch's window over every input, per output channel it has.
    expect(stage.flops([6, 6, 3], [6, 6, 4])).toBe(2 * 36 * 3 * (9 * 4 + 25 * 2));
    tf.dispose([logits, expected, x]);
    model.dispose();
  });

  it('refuses even kernel sizes and repeated ones', () => {
    expect(() => branchStage('conv_1', 2, [{ kernel: 4, positions: [0, 1] }])).toThrow('odd');
    expect(() => parseConfig({ model: { arch: 'conv-4-bn', branches: [3, 4] } })).toThrow('model.branches: kernel size 4 is not odd');
    expect(() => parseConfig({ model: { arch: 'conv-4-bn', branches: [3, 3] } })).toThrow('each kernel size may appear once');
    // The arch is checked when the model is built, before any training.
    expect(() => archLayers('conv-4', 0.25, 10, undefined, [3, 5])).toThrow('needs a BatchNorm arch');
  });
});

describe('a supernet from model.channels', () => {
  it('lays the first branch on the leading stage channels and the others on the trailing ones; a branch with 0 is left out', () => {
    expect(stageBranches('conv_1', 16, [3, 5], { conv_1: 10, conv_1_k3: 7, conv_1_k5: 5 })).toEqual({
      width: 10,
      branches: [
        { kernel: 3, positions: [0, 1, 2, 3, 4, 5, 6] },
        { kernel: 5, positions: [5, 6, 7, 8, 9] },
      ],
    });
    expect(stageBranches('conv_2', 16, [3, 5], { conv_2_k5: 0 })).toEqual({ width: 16, branches: [{ kernel: 3, positions: leadingPositions(16) }] });
    const model = new Model('conv-4-bn', archLayers('conv-4-bn', 0.25, 10, { conv_1: 10, conv_1_k3: 7, conv_1_k5: 5, conv_2_k5: 0 }, [3, 5]), [8, 8, 3], 1);
    expect(model.batchNorms.map((bn) => `${bn.name}:${bn.channels}`).slice(0, 3)).toEqual(['conv_1_k3:7', 'conv_1_k5:5', 'conv_2_k3:16']);
    model.dispose();
  });

  it('refuses counts no stage can have, by name', () => {
    const refused = (channels: Record<string, number>) => () => parseConfig({ model: { arch: 'conv-4-bn', width: 0.25, branches: [3, 5], channels } });
    expect(refused({ conv_2_k3: 0, conv_2_k5: 0 })).toThrow('model.channels.conv_2: every branch of conv_2 has 0 channels');
    expect(refused({ conv_1: 4, conv_1_k3: 6 })).toThrow('model.channels.conv_1: 4 channels are fewer than its widest branch has (6)');
    expect(refused({ conv_1: 12, conv_1_k3: 5, conv_1_k5: 5 })).toThrow('model.channels.conv_1: 12 channels are more than its branches add to (5 + 5)');
    expect(refused({ conv_1_k7: 3 })).toThrow('has no conv layer "conv_1_k7"');
    // Without branches, a branch name is no layer and 0 is no count.
    expect(() => parseConfig({ model: { arch: 'conv-4-bn', channels: { conv_1_k3: 3 } } })).toThrow('has no conv layer "conv_1_k3"');
    expect(() => parseConfig({ model: { arch: 'conv-4-bn', channels: { conv_1: 0 } } })).toThrow('at least 1, got 0');
  });
});

describe('shrinking a supernet', () => {
  /** Conv-4-BN x0.25 with 3x3 and 5x5 branches on 8x8 images (16-16-32-32 channels per branch). */
  function supernet(seed: number): Model {
    return new Model('conv-4-bn', archLayers('conv-4-bn', 0.25, 10, undefined, [3, 5]), [8, 8, 3], seed);
  }

  /** Dead branch channels: about half of each 5x5 branch, all of conv_2_k5, and a stage channel dead in both branches of conv_3. */
  function deadChannels(model: Model): Map<string, Uint8Array> {
    const rng = new Rng(13);
    const keep = new Map(model.batchNorms.map((bn) => [bn.name, Uint8Array.from({ length: bn.channels }, () => (bn.name.endsWith('_k5') && rng.next() < 0.5 ? 0 : 1))]));
    keep.get('conv_2_k5')!.fill(0);
    keep.get('conv_3_k5')![2] = 0;
    keep.get('conv_3_k3')![2] = 0;
    return keep;
  }

  it('cutting out dead branch channels leaves the logits unchanged; an emptied branch goes, with its masks and optimiser state', async () => {
    const model = supernet(3);
    const optimizer = createOptimizer(SMALL_SGD);
    trainSteps(model, optimizer, 2);
    const channelKeep = deadChannels(model);
    silence(model, channelKeep);
    const masks = MaskSet.dense(model.prunable);
    const shrunk = await shrinkModel({ model, channelKeep, masks, optimizer });
    const { x } = seededBatch(8, 8, 1);
    for (const training of [false, true]) {
      const before = model.forward(x, training);
      const after = shrunk.model.forward(x, training);
      expect(maxDifference(before, after)).toBeLessThan(1e-4);
      tf.dispose([before, after]);
    }
    model.discardBatchStats();
    shrunk.model.discardBatchStats();
    const widths = new Map(shrunk.model.batchNorms.map((bn) => [bn.name, bn.channels]));
    expect(widths.has('conv_2_k5')).toBe(false);
    expect(shrunk.model.params.has('conv_2_k5/kernel')).toBe(false);
    expect(shrunk.masks!.layers.has('conv_2_k5')).toBe(false);
    for (const [name, keep] of channelKeep) if (name !== 'conv_2_k5') expect(widths.get(name), name).toBe(countOnes(keep));
    // conv_3's channel 2 is dead in both branches: conv_4's branches read one input channel less.
    expect(shrunk.model.kernel('conv_4_k3').shape[2]).toBe(31);
    // The optimiser steps the smaller model on: one slot per remaining parameter.
    trainSteps(shrunk.model, optimizer, 1);
    expect((await optimizer.getWeights()).length - 1).toBe(shrunk.model.params.size);
    tf.dispose(x);
    disposeOptimizer(optimizer);
    model.dispose();
    shrunk.model.dispose();
  });

  it('cutting out live branch channels changes the logits', async () => {
    const model = supernet(3);
    randomiseBatchNorms(model, 8);
    const shrunk = await shrinkModel({ model, channelKeep: deadChannels(model) });
    const { x } = seededBatch(8, 8, 1);
    const before = model.forward(x, false);
    const after = shrunk.model.forward(x, false);
    expect(maxDifference(before, after)).toBeGreaterThan(1e-2);
    tf.dispose([before, after, x]);
    model.dispose();
    shrunk.model.dispose();
  });

  it('refuses to remove every branch of a stage', async () => {
    const model = supernet(3);
    const channelKeep = new Map([
      ['conv_2_k3', new Uint8Array(16)],
      ['conv_2_k5', new Uint8Array(16)],
    ]);
    await expect(shrinkModel({ model, channelKeep })).rejects.toThrow('Cannot remove every channel of conv_2');
    model.dispose();
  });
});
