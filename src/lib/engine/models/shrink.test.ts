import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { channelKernelMasks } from '../masks/channel-masks';
import { MaskSet, countOnes } from '../masks/mask';
import type { TrainConfig } from '../config';
import { Rng } from '../rng';
import { createOptimizer, disposeOptimizer } from '../train/trainer';
import { Model, disposeState } from './model';
import { archLayers } from './registry';
import { cutValues, keepOneInEmptied, shrinkModel } from './shrink';
import { SMALL_SGD, maxDifference, seededBatch, silence, trainSteps } from './test-fixtures';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Conv-4-BN at width 0.25 (16-16-32-32 channels) on 8x8 images, small enough for the CPU backend: dense_1 reads 2x2 positions. */
function createModel(seed: number): Model {
  return new Model('conv-4-bn', archLayers('conv-4-bn', 0.25, 10), [8, 8, 3], seed);
}

/** About 40% of every BN layer's channels marked for removal, never all of one. */
function someChannels(model: Model, seed: number): Map<string, Uint8Array> {
  const rng = new Rng(seed);
  return new Map(
    model.batchNorms.map((bn) => {
      const keep = Uint8Array.from({ length: bn.channels }, () => (rng.next() < 0.6 ? 1 : 0));
      keep[0] = 1;
      return [bn.name, keep];
    }),
  );
}

describe('cutValues', () => {
  it('keeps, in order, the entries every axis keeps', () => {
    // A 2x3x2 array 0..11: drop row 0 of axis 0 and column 1 of axis 1.
    const values = Float32Array.from({ length: 12 }, (_, i) => i);
    const cut = cutValues(values, [2, 3, 2], [Uint8Array.from([0, 1]), Uint8Array.from([1, 0, 1]), null]);
    expect([...cut]).toEqual([6, 7, 10, 11]);
  });
});

describe('keepOneInEmptied', () => {
  it('gives a layer with no channel left its first one back, and leaves the others alone', () => {
    const keep = keepOneInEmptied(new Map([['conv_1', Uint8Array.of(0, 1, 0)], ['conv_2', Uint8Array.of(0, 0, 0)]]));
    expect([...keep.get('conv_1')!]).toEqual([0, 1, 0]);
    expect([...keep.get('conv_2')!]).toEqual([1, 0, 0]);
  });
});

describe('shrinkModel', () => {
  it('removing channels whose BN scale and shift are 0 leaves the logits unchanged, in both modes; a smaller model of the same family', async () => {
    const model = createModel(3);
    const optimizer = createOptimizer(SMALL_SGD);
    trainSteps(model, optimizer, 3);
    const channelKeep = someChannels(model, 7);
    silence(model, channelKeep);
    const { x } = seededBatch(8, 8, 1);
    const shrunk = await shrinkModel({ model, channelKeep });
    for (const training of [false, true]) {
      const before = model.forward(x, training);
      const after = shrunk.model.forward(x, training);
      expect(after.shape).toEqual(before.shape);
      expect(maxDifference(before, after)).toBeLessThan(1e-4);
      tf.dispose([before, after]);
    }
    model.discardBatchStats();
    shrunk.model.discardBatchStats();
    expect(shrunk.model.arch).toBe('conv-4-bn');
    expect(shrunk.model.batchNorms.map((bn) => bn.channels)).toEqual(model.batchNorms.map((bn) => countOnes(channelKeep.get(bn.name)!)));
    // dense_1 reads 2x2 positions of conv_4's surviving channels.
    expect(shrunk.model.kernel('dense_1').shape).toEqual([4 * countOnes(channelKeep.get('conv_4')!), 64]);
    expect(shrunk.model.prunableWeightCount).toBeLessThan(model.prunableWeightCount);
    tf.dispose(x);
    disposeOptimizer(optimizer);
    model.dispose();
    shrunk.model.dispose();
  });

  it('removing live channels changes the logits', async () => {
    const model = createModel(3);
    const optimizer = createOptimizer(SMALL_SGD);
    trainSteps(model, optimizer, 3);
    const { x } = seededBatch(8, 8, 1);
    const shrunk = await shrinkModel({ model, channelKeep: someChannels(model, 7) });
    const before = model.forward(x, false);
    const after = shrunk.model.forward(x, false);
    expect(maxDifference(before, after)).toBeGreaterThan(1e-2);
    tf.dispose([before, after, x]);
    disposeOptimizer(optimizer);
    model.dispose();
    shrunk.model.dispose();
  });

  it.each(['sgd', 'adam'] as const)('carries the %s state: the next step of the smaller model is the cut of the full model’s', async (kind) => {
    const config = { ...SMALL_SGD, optimizer: kind, lr: kind === 'adam' ? 1e-3 : 0.05 } as TrainConfig;
    // Two identical runs: one goes on full, the other is shrunk with its optimiser.
    const [full, toShrink] = [createModel(5), createModel(5)];
    const [fullOptimizer, optimizer] = [createOptimizer(config), createOptimizer(config)];
    trainSteps(full, fullOptimizer, 3);
    trainSteps(toShrink, optimizer, 3);
    const channelKeep = someChannels(full, 9);
    silence(full, channelKeep);
    silence(toShrink, channelKeep);
    const shrunk = await shrinkModel({ model: toShrink, channelKeep, optimizer });
    trainSteps(full, fullOptimizer, 1);
    trainSteps(shrunk.model, optimizer, 1);
    const expected = await shrinkModel({ model: full, channelKeep });
    for (const [name, variable] of shrunk.model.params) expect(maxDifference(variable, expected.model.params.get(name)!), name).toBeLessThan(1e-5);
    const slimModelPrefix = `${shrunk.model.params.get('conv_1/kernel')!.name.split('/')[0]}/`;
    expect((await optimizer.getWeights()).slice(1).every((w) => w.name.startsWith(slimModelPrefix))).toBe(true);
    for (const m of [full, toShrink, shrunk.model, expected.model]) m.dispose();
    disposeOptimizer(fullOptimizer);
    disposeOptimizer(optimizer);
  });

  it('cuts masks and rewind snapshots like the weights', async () => {
    const model = createModel(3);
    const rewind = model.snapshot();
    const optimizer = createOptimizer(SMALL_SGD);
    trainSteps(model, optimizer, 2);
    const channelKeep = someChannels(model, 11);
    const masks = channelKernelMasks(model, channelKeep);
    const shrunk = await shrinkModel({ model, channelKeep, masks, states: [rewind] });
    // The channel masks only zeroed what is cut: every surviving weight is kept.
    expect(shrunk.masks!.sparsity()).toBe(0);
    expect(MaskSet.dense(shrunk.model.prunable).counts()).toEqual(shrunk.masks!.counts());
    // Rewound, the smaller network computes what the full one does with those channels silenced.
    model.restore(rewind);
    silence(model, channelKeep);
    shrunk.model.restore(shrunk.states[0]);
    const { x } = seededBatch(4, 8, 2);
    const [before, after] = [model.forward(x, false), shrunk.model.forward(x, false)];
    expect(maxDifference(before, after)).toBeLessThan(1e-4);
    tf.dispose([before, after, x]);
    disposeState(rewind);
    disposeState(shrunk.states[0]);
    disposeOptimizer(optimizer);
    model.dispose();
    shrunk.model.dispose();
  });

  it('refuses to remove every channel of a layer, or channels of a layer the model lacks', async () => {
    const model = createModel(3);
    const channelKeep = someChannels(model, 7);
    channelKeep.set('conv_3', new Uint8Array(32));
    await expect(shrinkModel({ model, channelKeep })).rejects.toThrow('Cannot remove every channel of conv_3: nothing would reach the logits');
    await expect(shrinkModel({ model, channelKeep: new Map([['conv_9', Uint8Array.of(1)]]) })).rejects.toThrow('model conv-4-bn has no such layer');
    await expect(shrinkModel({ model, channelKeep: new Map([['conv_1', Uint8Array.of(1)]]) })).rejects.toThrow('it has 16 channels, the keep-bits 1');
    model.dispose();
  });
});
