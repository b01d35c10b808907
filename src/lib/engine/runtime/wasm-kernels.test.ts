import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels, wasmTrainingKernelsRegistered } from './wasm-kernels';

/** Deterministic values in [-1, 1) so both backends see identical inputs. */
function values(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = (state / 2 ** 32) * 2 - 1;
  }
  return out;
}

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** max |a−b| / max |b| */
function relativeError(actual: Float32Array, expected: Float32Array): number {
  expect(actual.length).toBe(expected.length);
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]!));
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
  }
  return diff / Math.max(scale, 1e-12);
}

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

interface ConvCase {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad;
}

/** Gradients of Σ conv2d(x, filter) ⊙ upstream w.r.t. x and filter. */
async function convGradients(backend: string, c: ConvCase): Promise<{ dx: Float32Array; dFilter: Float32Array }> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(values(size(c.x), 11), c.x);
    const filter = tf.tensor4d(values(size(c.filter), 23), c.filter);
    const outShape = tf.conv2d(x, filter, c.strides, c.pad).shape;
    const upstream = tf.tensor(values(size(outShape), 37), outShape);
    const loss = (a: tf.Tensor, b: tf.Tensor): tf.Tensor =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad), upstream));
    const [dx, dFilter] = tf.grads(loss)([x, filter]) as [tf.Tensor, tf.Tensor];
    return { dx: dx.dataSync() as Float32Array, dFilter: dFilter.dataSync() as Float32Array };
  });
}

interface MatMulCase {
  a: number[];
  b: number[];
  transposeA: boolean;
  transposeB: boolean;
}

/** Forward product and gradients of Σ matMul(a, b) ⊙ upstream. */
async function matMulResults(backend: string, c: MatMulCase): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const a = tf.tensor(values(size(c.a), 5), c.a);
    const b = tf.tensor(values(size(c.b), 9), c.b);
    const product = tf.matMul(a, b, c.transposeA, c.transposeB);
    const upstream = tf.tensor(values(product.size, 13), product.shape);
    const loss = (p: tf.Tensor, q: tf.Tensor): tf.Tensor =>
      tf.sum(tf.mul(tf.matMul(p, q, c.transposeA, c.transposeB), upstream));
    const [da, db] = tf.grads(loss)([a, b]) as [tf.Tensor, tf.Tensor];
    return [product, da, db].map((t) => t.dataSync() as Float32Array);
  });
}

const TOLERANCE = 1e-4;

const convCases: ConvCase[] = [
  { x: [2, 5, 5, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { x: [2, 7, 9, 3], filter: [3, 3, 3, 8], strides: 1, pad: 'valid' },
  { x: [2, 7, 9, 3], filter: [3, 3, 3, 5], strides: 2, pad: 'same' },
  { x: [3, 9, 7, 2], filter: [3, 3, 2, 4], strides: 2, pad: 'valid' },
  { x: [1, 6, 6, 1], filter: [2, 2, 1, 3], strides: 2, pad: 'same' },
  { x: [2, 8, 8, 16], filter: [2, 2, 16, 6], strides: 1, pad: 'same' },
  { x: [2, 8, 7, 4], filter: [5, 5, 4, 2], strides: 1, pad: 'valid' },
  { x: [2, 3, 5, 2], filter: [1, 1, 2, 3], strides: 2, pad: 'valid' },
  { x: [2, 11, 11, 3], filter: [3, 3, 3, 4], strides: 3, pad: 'same' },
  { x: [2, 10, 11, 3], filter: [3, 2, 3, 4], strides: [2, 1], pad: 'same' },
  { x: [4, 13, 13, 8], filter: [3, 3, 8, 16], strides: 2, pad: 'same' },
  { x: [2, 7, 7, 3], filter: [3, 3, 3, 2], strides: 2, pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
  { x: [2, 7, 7, 3], filter: [3, 3, 3, 2], strides: 1, pad: 1 },
];

const matMulCases: MatMulCase[] = [
  { a: [5, 7], b: [7, 3], transposeA: false, transposeB: false },
  { a: [7, 5], b: [7, 3], transposeA: true, transposeB: false },
  { a: [5, 7], b: [3, 7], transposeA: false, transposeB: true },
  { a: [7, 5], b: [3, 7], transposeA: true, transposeB: true },
  { a: [2, 9, 4], b: [2, 6, 9], transposeA: true, transposeB: true },
  { a: [3, 4, 6], b: [3, 6, 5], transposeA: false, transposeB: false },
  { a: [3, 6, 4], b: [3, 5, 6], transposeA: true, transposeB: true },
  // dy·Wᵀ of a wide dense layer: the kernel computes it as (W·dyᵀ)ᵀ.
  { a: [4, 32], b: [300, 32], transposeA: false, transposeB: true },
];

/** tfjs cannot differentiate a broadcast batch matmul, so these check the product only. */
const broadcastCases: MatMulCase[] = [
  { a: [3, 4, 6], b: [5, 6], transposeA: false, transposeB: true },
  { a: [3, 6, 4], b: [5, 6], transposeA: true, transposeB: true },
  { a: [6, 4], b: [2, 5, 6], transposeA: true, transposeB: true },
  { a: [2, 1, 6, 4], b: [3, 6, 5], transposeA: true, transposeB: false },
];

async function broadcastProduct(backend: string, c: MatMulCase): Promise<Float32Array> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const a = tf.tensor(values(size(c.a), 5), c.a);
    const b = tf.tensor(values(size(c.b), 9), c.b);
    return tf.matMul(a, b, c.transposeA, c.transposeB).dataSync() as Float32Array;
  });
}

describe('wasm training kernels', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    registerWasmTrainingKernels();
  });

  it('registers the three replacement kernels, idempotently', () => {
    expect(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm')).toBeDefined();
    expect(wasmTrainingKernelsRegistered()).toBe(true);
    const before = [tf.Conv2DBackpropFilter, tf.Conv2DBackpropInput, tf.BatchMatMul].map((name) =>
      tf.getKernel(name, 'wasm'),
    );
    registerWasmTrainingKernels();
    const after = [tf.Conv2DBackpropFilter, tf.Conv2DBackpropInput, tf.BatchMatMul].map((name) =>
      tf.getKernel(name, 'wasm'),
    );
    expect(after).toEqual(before);
  });

  it.each(convCases)('conv2d gradients match cpu: x $x, filter $filter, strides $strides, pad $pad', async (c) => {
    const expected = await convGradients('cpu', c);
    const actual = await convGradients('wasm', c);
    expect(relativeError(actual.dx, expected.dx)).toBeLessThan(TOLERANCE);
    expect(relativeError(actual.dFilter, expected.dFilter)).toBeLessThan(TOLERANCE);
  });

  it.each(matMulCases)(
    'matMul and its gradients match cpu: a $a, b $b, transposeA $transposeA, transposeB $transposeB',
    async (c) => {
      const expected = await matMulResults('cpu', c);
      const actual = await matMulResults('wasm', c);
      expected.forEach((e, i) => expect(relativeError(actual[i]!, e)).toBeLessThan(TOLERANCE));
    },
  );

  it.each(broadcastCases)(
    'broadcast matMul matches cpu: a $a, b $b, transposeA $transposeA, transposeB $transposeB',
    async (c) => {
      const expected = await broadcastProduct('cpu', c);
      const actual = await broadcastProduct('wasm', c);
      expect(relativeError(actual, expected)).toBeLessThan(TOLERANCE);
    },
  );

  it('leaks no tensors or wasm buffers through a gradient step', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const x = tf.tensor4d(values(2 * 9 * 9 * 3, 1), [2, 9, 9, 3]);
    const filter = tf.tensor4d(values(3 * 3 * 3 * 4, 2), [3, 3, 3, 4]);
    const dense = tf.tensor2d(values(6 * 4, 3), [6, 4]);
    const wide = tf.tensor2d(values(300 * 4, 4), [300, 4]);
    const step = (): void => {
      tf.tidy(() => {
        const loss = (f: tf.Tensor, w: tf.Tensor, v: tf.Tensor): tf.Tensor => {
          const h = tf.relu(tf.conv2d(x, f as tf.Tensor4D, 2, 'same'));
          const flat = tf.reshape(h, [-1, 4]);
          // The second product takes the swapped (W·dyᵀ)ᵀ path, the first the direct one.
          const few = tf.slice(flat, [0, 0], [2, 4]);
          return tf.add(
            tf.sum(tf.matMul(flat, w as tf.Tensor2D, false, true)),
            tf.sum(tf.matMul(few, v as tf.Tensor2D, false, true)),
          );
        };
        const grads = tf.grads(loss)([filter, dense, wide]);
        grads.forEach((g) => g.dataSync());
      });
    };
    step(); // first call may lazily set things up
    const tensorsBefore = tf.memory().numTensors;
    const buffersBefore = backend.numDataIds();
    step();
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(backend.numDataIds()).toBe(buffersBefore);
    tf.dispose([x, filter, dense, wide]);
  });
});
