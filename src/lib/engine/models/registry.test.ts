import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel } from './registry';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('paper networks', () => {
  it('have the LTH paper layer sizes on 32x32x3 input', () => {
    const sizes = (arch: Parameters<typeof createModel>[0]) => {
      const model = createModel(arch, 1, 10, 1);
      const out = Object.fromEntries(model.prunable.map((l) => [l.name, l.size]));
      const total = model.prunableWeightCount;
      model.dispose();
      return { out, total };
    };
    expect(sizes('lenet-300-100').out).toEqual({ dense_1: 3072 * 300, dense_2: 300 * 100, dense_3: 100 * 10 });
    expect(sizes('conv-2').total).toBe(4_300_992); // the paper's "4.3M"
    expect(sizes('conv-4').total).toBe(2_425_024); // "2.4M"
    expect(sizes('conv-6').total).toBe(2_261_184); // "2.26M"
  });

  it('lists only conv and dense kernels as prunable, typed for the per-layer rates', () => {
    const model = createModel('conv-4-bn', 0.25, 10, 1);
    expect(model.prunable.map((l) => `${l.name}:${l.type}`)).toEqual([
      'conv_1:conv',
      'conv_2:conv',
      'conv_3:conv',
      'conv_4:conv',
      'dense_1:dense',
      'dense_2:dense',
      'dense_3:output',
    ]);
    expect(model.batchNorms.map((b) => b.channels)).toEqual([16, 16, 32, 32]);
    expect([...model.params.keys()].some((name) => name.includes('bias') && name.startsWith('conv'))).toBe(false);
    model.dispose();
  });

  it('scales every hidden layer with width and keeps the output at the class count', () => {
    const model = createModel('conv-2', 0.25, 5, 1);
    expect(model.prunable.map((l) => l.shape)).toEqual([
      [3, 3, 3, 16],
      [3, 3, 16, 16],
      [16 * 16 * 16, 64],
      [64, 64],
      [64, 5],
    ]);
    const logits = tf.tidy(() => model.forward(tf.zeros([2, 32, 32, 3]), false).shape);
    expect(logits).toEqual([2, 5]);
    model.dispose();
  });

  it('initialises kernels with untruncated Glorot normal, seeded', async () => {
    const a = createModel('lenet-300-100', 1, 10, 42);
    const b = createModel('lenet-300-100', 1, 10, 42);
    const values = (await a.kernel('dense_1').data()) as Float32Array;
    const std = Math.sqrt(2 / (3072 + 300));
    const mean = values.reduce((s, x) => s + x, 0) / values.length;
    const measuredStd = Math.sqrt(values.reduce((s, x) => s + (x - mean) ** 2, 0) / values.length);
    expect(Math.abs(mean)).toBeLessThan(std / 100);
    expect(measuredStd / std).toBeCloseTo(1, 2);
    // tfjs's truncated initializer cuts at 2 std; ours does not.
    expect(values.some((x) => Math.abs(x) > 3 * std)).toBe(true);
    const again = (await b.kernel('dense_1').data()) as Float32Array;
    expect(Buffer.from(again.buffer).equals(Buffer.from(values.buffer))).toBe(true);
    a.dispose();
    b.dispose();
  });

  it('frees every variable on dispose', () => {
    const before = tf.memory().numTensors;
    createModel('conv-4-bn', 0.25, 10, 1).dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
