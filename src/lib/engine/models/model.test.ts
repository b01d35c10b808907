/**
 * Pins what a model computes, as checksums taken from the implementation
 * before the layers became one interface: the seeded init of every variable
 * (names and order included: the optimiser and checkpoints walk them in that
 * order), forward outputs in both modes with the BN statistics they leave,
 * FLOPs and channel-pruning kernel masks. A change to any of them is a change
 * to saved runs and seeded results, so it has to be deliberate.
 */
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ArchName } from '../config';
import { channelKernelMasks, concatMasks, forwardFlops } from '../masks/channel-masks';
import { Rng } from '../rng';
import type { Model } from './model';
import { createModel } from './registry';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function digest(parts: [string, Float32Array | Uint8Array][]): string {
  const hash = createHash('sha256');
  for (const [name, values] of parts) {
    hash.update(name);
    hash.update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }
  return hash.digest('hex').slice(0, 16);
}

/** Every parameter, then every buffer, in the model's own order. */
function variablesDigest(model: Model): string {
  return digest([...model.params, ...model.buffers].map(([name, v]) => [name, v.dataSync() as Float32Array]));
}

function seededImages(count: number, seed: number): tf.Tensor4D {
  const rng = new Rng(seed);
  return tf.tensor4d(Float32Array.from({ length: count * 32 * 32 * 3 }, () => rng.normal()), [count, 32, 32, 3]);
}

const INIT: Record<string, string> = {
  'conv-2 seed 1': '5520b64c00ab2b80',
  'conv-2 seed 7': '575c52ae75cd6946',
  'conv-4-bn seed 1': 'a9ba0e4c6198536c',
  'conv-4-bn seed 7': 'bb5078288ad35ed0',
  'lenet-300-100 seed 1': '086b94e831c91e11',
  'lenet-300-100 seed 7': 'b6950c381e551fb1',
};

describe('model outputs pinned against the pre-refactor implementation', () => {
  it('initialises every variable to the same values for a seed', () => {
    const measured: Record<string, string> = {};
    for (const key of Object.keys(INIT)) {
      const [arch, , seed] = key.split(' ');
      const model = createModel(arch as ArchName, 0.25, 10, Number(seed));
      measured[key] = variablesDigest(model);
      model.dispose();
    }
    expect(measured).toEqual(INIT);
  });

  it('computes the same logits in eval and training mode, and the same BN running statistics', () => {
    const measured: Record<string, string> = {};
    for (const arch of ['conv-2', 'conv-4-bn'] as const) {
      const model = createModel(arch, 0.25, 10, 3);
      const x = seededImages(4, 11);
      const evalLogits = tf.tidy(() => model.forward(x, false));
      const trainLogits = tf.tidy(() => model.forward(x, true));
      model.commitBatchStats(4);
      measured[arch] = digest([
        ['eval', evalLogits.dataSync() as Float32Array],
        ['train', trainLogits.dataSync() as Float32Array],
      ]);
      measured[`${arch} after stats`] = variablesDigest(model);
      tf.dispose([x, evalLogits, trainLogits]);
      model.dispose();
    }
    expect(measured).toEqual({
      'conv-2': '34ba7dbd32f8741a',
      'conv-2 after stats': 'f27a0ff094ba634c',
      'conv-4-bn': '4cff0be188bd48ce',
      'conv-4-bn after stats': 'e6ca2a91b41e773e',
    });
  });

  it('counts the same FLOPs and builds the same channel-pruning kernel masks', () => {
    const model = createModel('conv-4-bn', 0.5, 10, 1);
    const rng = new Rng(5);
    const channelKeep = new Map(model.batchNorms.map((bn) => [bn.name, Uint8Array.from({ length: bn.channels }, () => (rng.next() < 0.6 ? 1 : 0))]));
    const kept = new Map([...channelKeep].map(([name, keep]) => [name, keep.reduce((n, k) => n + k, 0)]));
    const lenet = createModel('lenet-300-100', 1, 10, 1);
    expect({
      dense: forwardFlops(model),
      pruned: forwardFlops(model, kept),
      masks: digest([['masks', concatMasks(channelKernelMasks(model, channelKeep))]]),
      lenet: forwardFlops(lenet),
    }).toEqual({ dense: 50_039_296, pruned: 19_176_960, masks: 'b50d5aac30265d3a', lenet: 1_905_200 });
    model.dispose();
    lenet.dispose();
  });
});
