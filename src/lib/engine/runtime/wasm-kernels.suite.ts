/**
 * The wasm training kernels checked against tfjs's cpu backend. The suite
 * runs with our SIMD module loaded (wasm-kernels.test.ts, and sharing its
 * calls among three threads in wasm-kernels.threads.test.ts) and with it
 * absent (wasm-kernels.no-simd.test.ts), since both paths ship.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BATCH_NORM_RELU, BATCH_NORM_RELU_GRAD, fusedBatchNormRelu, fusedBatchNormReluAvailable, kernelReady } from './fused-batch-norm';
import { CONV2D, CONV2D_BIAS_RELU, CONV2D_BIAS_RELU_GRAD, CONV2D_BIAS_RELU_MAX_POOL_GRAD, CONV2D_GRAD, conv2d, conv2dBiasRelu, conv2dBiasReluMaxPool } from './fused-conv';
import { CONV2D_BATCH_NORM_RELU, CONV2D_BATCH_NORM_RELU_GRAD, CONV2D_BATCH_NORM_RELU_MAX_POOL_GRAD, fusedConv2DBatchNormRelu } from './fused-conv-batch-norm';
import { ADAM_UPDATE, FusedAdamOptimizer } from './fused-optimizers';
import { createSimdKernels, loadSimdKernels, simdKernels, type ConvGradients, type SimdKernels } from './simd/simd-kernels';
import { registerWasmTrainingKernels, wasmTrainingKernelsRegistered } from './wasm-kernels';
import { conv, dense, flatten, maxPool, walkLayers, type BatchStats, type VariableBuilder } from '../models/layers';
import { Model } from '../models/model';

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

/** conv2d(x, filter) and the gradients of Σ conv2d(x, filter) ⊙ upstream w.r.t. x and filter. */
async function convResults(
  backend: string,
  c: ConvCase,
): Promise<{ y: Float32Array; dx: Float32Array; dFilter: Float32Array }> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(values(size(c.x), 11), c.x);
    const filter = tf.tensor4d(values(size(c.filter), 23), c.filter);
    const y = tf.conv2d(x, filter, c.strides, c.pad);
    const upstream = tf.tensor(values(size(y.shape), 37), y.shape);
    const loss = (a: tf.Tensor, b: tf.Tensor): tf.Tensor =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad), upstream));
    const [dx, dFilter] = tf.grads(loss)([x, filter]) as [tf.Tensor, tf.Tensor];
    return {
      y: y.dataSync() as Float32Array,
      dx: dx.dataSync() as Float32Array,
      dFilter: dFilter.dataSync() as Float32Array,
    };
  });
}

interface PoolCase {
  x: [number, number, number, number];
  filter: number | [number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid' | number;
  /**
   * signed: values in [-1, 1), so some windows are all negative;
   * ties: rounded to a coarse grid and clipped at zero, as after a ReLU, so
   * windows hold equal maxima (often all zeros);
   * positive: distinct values above zero.
   */
  inputs: 'signed' | 'ties' | 'positive';
}

/** Gradient of Σ maxPool(x) ⊙ upstream w.r.t. x. */
async function poolGradient(backend: string, c: PoolCase): Promise<Float32Array> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    let x: tf.Tensor4D = tf.tensor4d(values(size(c.x), 3), c.x);
    if (c.inputs === 'ties') x = tf.relu(tf.round(tf.mul(x, 2))) as tf.Tensor4D;
    if (c.inputs === 'positive') x = tf.add(tf.abs(x), 0.01) as tf.Tensor4D;
    const outShape = tf.maxPool(x, c.filter, c.strides, c.pad).shape;
    const upstream = tf.tensor(values(size(outShape), 7), outShape);
    const loss = (a: tf.Tensor): tf.Tensor => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, c.filter, c.strides, c.pad), upstream));
    return tf.grad(loss)(x).dataSync() as Float32Array;
  });
}

interface SumCase {
  shape: number[];
  axis: number | number[];
  keepDims: boolean;
}

async function summed(backend: string, c: SumCase): Promise<{ values: Float32Array; shape: number[] }> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const result = tf.sum(tf.tensor(values(size(c.shape), 17), c.shape), c.axis, c.keepDims);
    return { values: result.dataSync() as Float32Array, shape: result.shape };
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

interface BatchNormCase {
  x: number[];
  /** Shift and spread of x, so that the statistics are not those of [-1, 1) alone. */
  offset: number;
  spread: number;
}

interface ConvBiasReluCase {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid';
}

/**
 * relu(conv2d(x, filter) + bias) and the gradients of Σ it ⊙ upstream
 * w.r.t. x, filter and bias: through fused-conv.ts (our fused kernel where
 * the backend has it), or composed from tfjs ops. The bias is drawn so that
 * the ReLU cuts off about half the outputs.
 */
async function convBiasReluResults(
  backend: string,
  c: ConvBiasReluCase,
  fused: boolean,
  wrt: Array<'x' | 'filter' | 'bias'> = ['x', 'filter', 'bias'],
  pool?: 'after' | 'inside',
): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(values(size(c.x), 61), c.x);
    const filter = tf.tensor4d(values(size(c.filter), 67), c.filter);
    const bias = tf.tensor1d(values(c.filter[3], 71));
    const layer = (a: tf.Tensor, f: tf.Tensor, b: tf.Tensor): tf.Tensor =>
      fused
        ? conv2dBiasRelu(a as tf.Tensor4D, f as tf.Tensor4D, b as tf.Tensor1D, c.strides, c.pad)
        : tf.relu(tf.add(tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad), b));
    // With `pool`, the layer then a 2x2 max pool: tf.maxPool after it, or conv2dBiasReluMaxPool's, inside it.
    const forward = (a: tf.Tensor, f: tf.Tensor, b: tf.Tensor): tf.Tensor =>
      pool === 'inside'
        ? conv2dBiasReluMaxPool(a as tf.Tensor4D, f as tf.Tensor4D, b as tf.Tensor1D, c.strides, c.pad)
        : pool === 'after'
          ? tf.maxPool(layer(a, f, b) as tf.Tensor4D, 2, 2, 'valid')
          : layer(a, f, b);
    const y = forward(x, filter, bias);
    const upstream = tf.tensor(values(y.size, 73), y.shape);
    const inputs = { x, filter, bias };
    // Only the inputs in `wrt` are differentiated (a network's first layer: not x); the others are held fixed.
    const loss = (...args: tf.Tensor[]): tf.Tensor => {
      const given = { ...inputs, ...Object.fromEntries(wrt.map((name, i) => [name, args[i]!])) };
      return tf.sum(tf.mul(forward(given.x, given.filter, given.bias), upstream));
    };
    const grads = tf.grads(loss)(wrt.map((name) => inputs[name]));
    return [y, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

const convBiasReluCases: ConvBiasReluCase[] = [
  // Conv-4 ×0.25's second layer, at a small batch.
  { x: [3, 8, 8, 16], filter: [3, 3, 16, 16], strides: 1, pad: 'same' },
  // 13 output channels: a block of 8, vectors of 4 and a leftover of 1; 3 input channels, as a first layer.
  { x: [2, 7, 9, 3], filter: [3, 3, 3, 13], strides: 1, pad: 'same' },
  { x: [3, 9, 7, 5], filter: [3, 3, 5, 6], strides: 2, pad: 'valid' },
  // Batches that are not whole groups of 8 images (the filter gradient's partial sums), channel counts that are not
  // multiples of 8 on either side (dx and the filter gradient run padded), odd sizes, 'valid'.
  { x: [9, 5, 7, 5], filter: [3, 3, 5, 23], strides: 1, pad: 'same' },
  { x: [10, 6, 5, 23], filter: [3, 3, 23, 13], strides: 1, pad: 'valid' },
  { x: [17, 3, 5, 13], filter: [3, 3, 13, 16], strides: 1, pad: 'same' },
  { x: [5, 7, 7, 16], filter: [3, 3, 16, 3], strides: 1, pad: 'same' },
  // An even, non-square filter: 'same' pads one side more than the other.
  { x: [4, 6, 7, 5], filter: [2, 3, 5, 13], strides: 1, pad: 'same' },
];

/**
 * Conv layers followed by a 2x2 max pool ('valid': odd sizes drop a row or
 * a column), with channel counts and batches as above.
 */
const convBiasReluPoolCases: ConvBiasReluCase[] = [
  { x: [3, 8, 8, 16], filter: [3, 3, 16, 16], strides: 1, pad: 'same' },
  { x: [2, 7, 9, 3], filter: [3, 3, 3, 23], strides: 1, pad: 'same' },
  { x: [9, 7, 9, 5], filter: [3, 3, 5, 13], strides: 1, pad: 'same' },
  { x: [10, 6, 5, 23], filter: [3, 3, 23, 13], strides: 1, pad: 'valid' },
  { x: [17, 5, 7, 13], filter: [3, 3, 13, 16], strides: 1, pad: 'same' },
  { x: [5, 9, 6, 16], filter: [3, 3, 16, 5], strides: 1, pad: 'same' },
  // Stride 2: the one-call gradient does not take it, so the pool's and the layer's run as before.
  { x: [3, 9, 7, 5], filter: [3, 3, 5, 6], strides: 2, pad: 'valid' },
];

/**
 * fused-conv.ts's conv2d (one gradient kernel where the backend has it) or
 * tf.conv2d, and the gradients of Σ it ⊙ upstream w.r.t. the inputs in `wrt`.
 */
async function plainConvResults(backend: string, c: ConvBiasReluCase, ours: boolean, wrt: Array<'x' | 'filter'>): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const inputs = { x: tf.tensor4d(values(size(c.x), 91), c.x), filter: tf.tensor4d(values(size(c.filter), 93), c.filter) };
    const forward = (x: tf.Tensor, f: tf.Tensor): tf.Tensor =>
      ours ? conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad) : tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad);
    const y = forward(inputs.x, inputs.filter);
    const upstream = tf.tensor(values(y.size, 97), y.shape);
    const loss = (...args: tf.Tensor[]): tf.Tensor => {
      const given = { ...inputs, ...Object.fromEntries(wrt.map((name, i) => [name, args[i]!])) };
      return tf.sum(tf.mul(forward(given.x, given.filter), upstream));
    };
    const grads = tf.grads(loss)(wrt.map((name) => inputs[name]));
    return [y, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

/**
 * One call of `kernels.conv2dGradients` on tensors of `c`'s shapes (with a
 * ReLU output that is positive, zero, −0, NaN or tiny, and a dy holding
 * ±∞, NaN and −0 when `special`), dy copied in or already in our memory.
 */
function directGradients(
  kernels: SimdKernels,
  c: ConvBiasReluCase,
  options: { relu: boolean; inputGradient: boolean; resident?: boolean; special?: boolean },
): Float32Array[] {
  const backend = tf.backend() as BackendWasm;
  const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad, undefined, false, 'channelsLast');
  const outShape: [number, number, number, number] = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
  const dyValues = values(size(outShape), 101);
  const yValues = values(size(outShape), 103).map((v) => Math.max(0, v));
  if (options.special) {
    [Infinity, -Infinity, NaN, -0, 0].forEach((v, i) => (dyValues[7 * i + 1] = v));
    [NaN, -0, 0, 1e-45, -1].forEach((v, i) => (yValues[5 * i + 2] = v));
  }
  const x = tf.tensor4d(values(size(c.x), 105), c.x);
  const filter = tf.tensor4d(values(size(c.filter), 107), c.filter);
  const y = tf.tensor(yValues, outShape);
  const dy = tf.tensor(dyValues, outShape);
  let dyIn: Parameters<SimdKernels['conv2dGradients']>[1]['dy'] = dy;
  if (options.resident) {
    const layout = kernels.layout();
    const at = layout.block(dyValues.length);
    layout.commit();
    layout.view(at, dyValues.length).set(dyValues);
    dyIn = { layout, at };
  }
  const result: ConvGradients = kernels.conv2dGradients(backend, {
    x, filter, dy: dyIn, info, reluOutput: options.relu ? y : undefined, inputGradient: options.inputGradient,
  });
  const outputs = [result.dx, result.dw, result.db].filter((info): info is tf.TensorInfo => info != null);
  const read = outputs.map((info) => (backend.typedArrayFromHeap(info) as Float32Array).slice());
  outputs.forEach((info) => backend.disposeData(info.dataId));
  tf.dispose([x, filter, y, dy]);
  return read;
}

/** The same gradients from tfjs's kernels as fused-conv.ts composes them (Step, Multiply, then one kernel each). */
function composedGradients(c: ConvBiasReluCase, options: { relu: boolean; inputGradient: boolean; special?: boolean }): Float32Array[] {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad, undefined, false, 'channelsLast');
    const outShape: [number, number, number, number] = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
    const dyValues = values(size(outShape), 101);
    const yValues = values(size(outShape), 103).map((v) => Math.max(0, v));
    if (options.special) {
      [Infinity, -Infinity, NaN, -0, 0].forEach((v, i) => (dyValues[7 * i + 1] = v));
      [NaN, -0, 0, 1e-45, -1].forEach((v, i) => (yValues[5 * i + 2] = v));
    }
    const x = tf.tensor4d(values(size(c.x), 105), c.x);
    const filter = tf.tensor4d(values(size(c.filter), 107), c.filter);
    let dy = tf.tensor(dyValues, outShape) as tf.Tensor4D;
    if (options.relu) dy = tf.mul(dy, tf.step(tf.tensor(yValues, outShape)));
    const dx = tf.conv2dTranspose(dy, filter, c.x, c.strides, c.pad as 'same' | 'valid');
    const dw = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, {
      strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: c.filter,
    } as unknown as tf.NamedAttrMap) as tf.Tensor;
    const outputs = [...(options.inputGradient ? [dx] : []), dw, ...(options.relu ? [tf.sum(dy, [0, 1, 2])] : [])];
    return outputs.map((t) => t.dataSync() as Float32Array);
  });
}

const BN_EPSILON = 1e-5;

/**
 * relu(batchNorm(x)) with x's batch statistics over all axes but the last,
 * and the gradients of Σ it ⊙ upstream w.r.t. x, gamma and beta: through
 * our fused kernels, or composed from tfjs ops as the model does elsewhere
 * (moments, batchNorm, relu, differentiated by tfjs). Gamma and beta are
 * drawn so that some channels are mostly cut off by the ReLU.
 */
async function batchNormResults(backend: string, c: BatchNormCase, fused: boolean): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const channels = c.x[c.x.length - 1]!;
  const axes = c.x.slice(0, -1).map((_, i) => i);
  const stats: tf.Tensor[] = [];
  const results = tf.tidy(() => {
    const x = tf.add(tf.mul(tf.tensor(values(size(c.x), 41), c.x), c.spread), c.offset);
    const gamma = tf.tensor1d(values(channels, 43)).mul(1.5);
    const beta = tf.tensor1d(values(channels, 47));
    const forward = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor => {
      if (fused) {
        const result = fusedBatchNormRelu(a, g, b, BN_EPSILON);
        if (result == null) throw new Error('the fused BatchNorm kernels are not available');
        stats.push(result.mean, result.variance);
        return result.y;
      }
      const { mean, variance } = tf.moments(a, axes);
      stats.push(tf.keep(mean), tf.keep(variance));
      return tf.relu(tf.batchNorm(a, mean, variance, b, g, BN_EPSILON));
    };
    const y = forward(x, gamma, beta);
    const upstream = tf.tensor(values(size(c.x), 53), c.x);
    const loss = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor => tf.sum(tf.mul(forward(a, g, b), upstream));
    const grads = tf.grads(loss)([x, gamma, beta]);
    return [y, ...grads].map((t) => t.dataSync() as Float32Array);
  });
  const [mean, variance] = stats.slice(0, 2).map((t) => t.dataSync() as Float32Array);
  tf.dispose(stats);
  return [...results, mean!, variance!];
}

const batchNormCases: BatchNormCase[] = [
  // Conv-4-BN ×0.25's first layer, at a small batch.
  { x: [4, 8, 8, 16], offset: 0.3, spread: 2 },
  // 13 channels: vectors of 4 and a leftover of 1; 3 channels: the leftover alone.
  { x: [3, 7, 9, 13], offset: -0.5, spread: 1 },
  { x: [2, 5, 5, 3], offset: 2, spread: 0.5 },
  // Over 64 rows in one channel: the statistics' blocks of 64 and their leftover.
  { x: [150, 1, 1, 1], offset: 1, spread: 3 },
  { x: [70, 6], offset: 0, spread: 1 },
];

interface ConvBatchNormCase {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number;
  pad: 'same' | 'valid';
}

/**
 * A conv layer with BatchNorm in training, relu(batchNorm(conv2d(x,
 * filter))) with the batch's statistics, and the gradients of Σ it ⊙
 * upstream w.r.t. x, filter, gamma and beta, then the statistics (for the
 * running averages): through our fused conv + BatchNorm kernel (`fused`),
 * or as the model composes it where that is missing: tf.conv2d, then the
 * fused BatchNorm + ReLU where the backend has it, else tfjs ops.
 */
async function convBatchNormResults(
  backend: string,
  c: ConvBatchNormCase,
  fused: boolean,
  wrt: Array<'x' | 'filter' | 'gamma' | 'beta'> = ['x', 'filter', 'gamma', 'beta'],
  pool?: 'after' | 'inside',
): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const stats: tf.Tensor[] = [];
  const results = tf.tidy(() => {
    const x = tf.tensor4d(values(size(c.x), 89), c.x);
    const filter = tf.tensor4d(values(size(c.filter), 97), c.filter);
    const gamma = tf.tensor1d(values(c.filter[3], 101)).mul(1.5);
    const beta = tf.tensor1d(values(c.filter[3], 103));
    // With `pool`, the layer then a 2x2 max pool: tf.maxPool after it, or fusedConv2DBatchNormRelu's, inside it.
    const forward = (a: tf.Tensor, f: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor =>
      pool === 'after' ? tf.maxPool(layer(a, f, g, b) as tf.Tensor4D, 2, 2, 'valid') : layer(a, f, g, b);
    const layer = (a: tf.Tensor, f: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor => {
      if (fused) {
        const result = fusedConv2DBatchNormRelu(a as tf.Tensor4D, f as tf.Tensor4D, g, b, c.strides, c.pad, BN_EPSILON, pool === 'inside');
        if (result == null) throw new Error('the fused conv + BatchNorm kernel is not available');
        stats.push(result.mean, result.variance);
        return result.y;
      }
      const convolved = tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad);
      const result = fusedBatchNormRelu(convolved, g, b, BN_EPSILON);
      if (result != null) {
        stats.push(result.mean, result.variance);
        return result.y;
      }
      const { mean, variance } = tf.moments(convolved, [0, 1, 2]);
      stats.push(tf.keep(mean), tf.keep(variance));
      return tf.relu(tf.batchNorm(convolved, mean, variance, b, g, BN_EPSILON));
    };
    const y = forward(x, filter, gamma, beta);
    const upstream = tf.tensor(values(y.size, 107), y.shape);
    const inputs = { x, filter, gamma, beta };
    // Only the inputs in `wrt` are differentiated (a network's first layer: not x); the others are held fixed.
    const loss = (...args: tf.Tensor[]): tf.Tensor => {
      const given = { ...inputs, ...Object.fromEntries(wrt.map((name, i) => [name, args[i]!])) };
      return tf.sum(tf.mul(forward(given.x, given.filter, given.gamma, given.beta), upstream));
    };
    const grads = tf.grads(loss)(wrt.map((name) => inputs[name]));
    return [y, ...grads].map((t) => t.dataSync() as Float32Array);
  });
  const [mean, variance] = stats.slice(0, 2).map((t) => t.dataSync() as Float32Array);
  tf.dispose(stats);
  return [...results, mean!, variance!];
}

const convBatchNormCases: ConvBatchNormCase[] = [
  // Conv-4-BN ×0.25's second layer, at a small batch: 192 rows, the statistics' blocks of 64.
  { x: [3, 8, 8, 16], filter: [3, 3, 16, 16], strides: 1, pad: 'same' },
  // A first layer (3 channels in), 13 out: a block of 8 padded from 5, vectors of 4 and a leftover of 1.
  { x: [5, 7, 9, 3], filter: [3, 3, 3, 13], strides: 1, pad: 'same' },
  // 23 channels out (5 in), and 5 out (13 in) over 9 images: image slices uneven among threads.
  { x: [2, 9, 7, 5], filter: [3, 3, 5, 23], strides: 1, pad: 'same' },
  { x: [9, 5, 5, 13], filter: [3, 3, 13, 5], strides: 1, pad: 'same' },
  // 17 images: the filter gradient's groups of 8, 8 and 1; a 'valid' convolution.
  { x: [17, 4, 5, 5], filter: [3, 3, 5, 13], strides: 1, pad: 'same' },
  { x: [10, 6, 5, 13], filter: [3, 3, 13, 16], strides: 1, pad: 'valid' },
  // A supernet stage's 5×5 branch, and a strided convolution (whose gradient is not one call).
  { x: [3, 6, 7, 23], filter: [5, 5, 23, 16], strides: 1, pad: 'same' },
  { x: [3, 9, 8, 5], filter: [3, 3, 5, 13], strides: 2, pad: 'valid' },
];

const TOLERANCE = 1e-4;

/**
 * Variables for the Adam checks: lengths with and without leftovers
 * after blocks of four, and gradient scales from tiny (where Adam's ε
 * matters) to large.
 */
const optimiserVariables: Array<{ shape: number[]; scale: number }> = [
  { shape: [3, 3, 5, 13], scale: 1 },
  { shape: [7], scale: 1e-6 },
  { shape: [1], scale: 30 },
  { shape: [12, 4], scale: 0.01 },
];

const OPTIMISER_STEPS = 40;
let optimiserRuns = 0;

/** tfjs's own Adam, or the lab's (fused where the backend has the kernel). */
function makeAdam(fused: boolean): tf.Optimizer {
  return fused ? new FusedAdamOptimizer(0.01) : tf.train.adam(0.01);
}

/**
 * The variables and Adam's state (getWeights: iterations, then the moments
 * in tfjs's order) after OPTIMISER_STEPS updates with seeded gradients, the
 * learning rate lowered halfway as a schedule does.
 */
async function adamRun(backend: string, fused: boolean): Promise<{ names: string[]; values: Float32Array[] }> {
  await tf.setBackend(backend);
  const run = optimiserRuns++;
  const variables = optimiserVariables.map(({ shape }, i) =>
    tf.variable(tf.tensor(values(size(shape), 100 + i), shape), true, `optimiser-check-${run}-${i}`),
  );
  const optimizer = makeAdam(fused);
  for (let step = 0; step < OPTIMISER_STEPS; step++) {
    if (step === OPTIMISER_STEPS / 2) (optimizer as unknown as { learningRate: number }).learningRate = 0.003;
    const grads: tf.NamedTensorMap = {};
    optimiserVariables.forEach(({ shape, scale }, i) => {
      grads[variables[i]!.name] = tf.tensor(values(size(shape), 1000 * step + i).map((v) => v * scale), shape);
    });
    optimizer.applyGradients(grads);
    tf.dispose(Object.values(grads));
  }
  const slots = await optimizer.getWeights();
  const names = slots.map(({ name }) => name.replace(`-${run}-`, '-'));
  const out = [...variables, ...slots.map(({ tensor }) => tensor)].map((t) => t.dataSync() as Float32Array);
  tf.dispose(slots.map(({ tensor }) => tensor));
  tf.dispose(variables);
  optimizer.dispose();
  return { names, values: out };
}

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
  // Wide enough for the SIMD kernels' 4×8 blocks and their leftovers (13 = 8 + 5 channels).
  { x: [3, 9, 10, 5], filter: [3, 3, 5, 13], strides: 1, pad: 'same' },
  { x: [2, 12, 11, 16], filter: [3, 3, 16, 24], strides: 2, pad: 'same' },
  { x: [2, 10, 10, 9], filter: [5, 3, 9, 8], strides: [1, 2], pad: 'valid' },
  // A slim network's channel counts, not multiples of the SIMD blocks' 8 (run padded to the next multiple):
  // the output channels of the forward pass and filter gradient, and (as the input gradient's output) the input channels.
  { x: [2, 6, 7, 5], filter: [3, 3, 5, 1], strides: 1, pad: 'same' },
  { x: [3, 8, 9, 13], filter: [3, 3, 13, 5], strides: 2, pad: 'same' },
  { x: [2, 9, 8, 7], filter: [3, 3, 7, 13], strides: 1, pad: 'valid' },
  { x: [2, 8, 8, 23], filter: [3, 3, 23, 47], strides: 1, pad: 'same' },
  { x: [9, 6, 6, 47], filter: [3, 3, 47, 23], strides: 1, pad: 'same' },
];

const poolCases: PoolCase[] = [
  { x: [2, 8, 8, 8], filter: 2, strides: 2, pad: 'valid', inputs: 'signed' },
  { x: [2, 8, 8, 8], filter: 2, strides: 2, pad: 'valid', inputs: 'ties' },
  { x: [2, 7, 9, 6], filter: 3, strides: 2, pad: 'same', inputs: 'ties' },
  { x: [1, 9, 7, 5], filter: [3, 2], strides: 1, pad: 'valid', inputs: 'ties' },
  { x: [2, 5, 5, 3], filter: 2, strides: 1, pad: 'same', inputs: 'signed' },
];

/**
 * tfjs 4.22's own wasm MaxPoolGrad, which runs where our module is absent,
 * disagrees with the cpu backend when a window holds no positive value
 * (all negative, or all-zero ties), so without the module only distinct
 * positive inputs are compared. In the lab's models every pool follows a
 * ReLU, whose own gradient is zero wherever such windows occur.
 */
const stockPoolCases: PoolCase[] = poolCases.map((c) => ({ ...c, inputs: 'positive' }));

const sumCases: SumCase[] = [
  { shape: [4, 5, 6, 7], axis: [0, 1, 2], keepDims: false },
  { shape: [300, 9], axis: 0, keepDims: false },
  { shape: [3, 4, 10], axis: [1, 0], keepDims: true },
  { shape: [3, 4, 10], axis: [0, 2], keepDims: false },
  { shape: [3, 4, 10], axis: -1, keepDims: false },
  { shape: [6, 5], axis: [0, 1], keepDims: false },
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
  // Over 256 deep (the SIMD product's k slices), with row and column leftovers.
  { a: [6, 300], b: [300, 21], transposeA: false, transposeB: false },
  { a: [1, 5, 7], b: [1, 7, 9], transposeA: false, transposeB: false },
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

const REPLACED = [
  CONV2D_BIAS_RELU_GRAD,
  CONV2D_BIAS_RELU_MAX_POOL_GRAD,
  CONV2D_BATCH_NORM_RELU_MAX_POOL_GRAD,
  CONV2D,
  CONV2D_GRAD,
  tf.Conv2D,
  tf.Conv2DBackpropFilter,
  tf.Conv2DBackpropInput,
  tf.BatchMatMul,
  tf.MaxPoolGrad,
  tf.Sum,
  tf.Identity,
  BATCH_NORM_RELU,
  BATCH_NORM_RELU_GRAD,
  CONV2D_BATCH_NORM_RELU,
  CONV2D_BATCH_NORM_RELU_GRAD,
  CONV2D_BIAS_RELU,
  ADAM_UPDATE,
];

/**
 * Defines the suite; `simd` says whether our SIMD module must be loaded for
 * it, `threads` how many threads it shares its calls among (all of them,
 * however small: the cases here are far below the threshold for sharing).
 */
export function describeWasmKernels(simd: boolean, threads = 1): void {
const label = simd ? `SIMD module loaded, ${threads} thread(s)` : 'no SIMD module';
describe(`wasm training kernels (${label})`, () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    registerWasmTrainingKernels();
    expect(await loadSimdKernels(threads, 0)).toBe(simd);
    expect(simdKernels() != null).toBe(simd);
    if (simd) expect(simdKernels()!.threadCount).toBe(threads);
  });

  it('registers the replacement kernels, idempotently', () => {
    expect(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm')).toBeDefined();
    expect(wasmTrainingKernelsRegistered()).toBe(true);
    const before = REPLACED.map((name) => tf.getKernel(name, 'wasm'));
    registerWasmTrainingKernels();
    const after = REPLACED.map((name) => tf.getKernel(name, 'wasm'));
    expect(after).toEqual(before);
  });

  it.each(convCases)('conv2d and its gradients match cpu: x $x, filter $filter, strides $strides, pad $pad', async (c) => {
    const expected = await convResults('cpu', c);
    const actual = await convResults('wasm', c);
    expect(relativeError(actual.y, expected.y)).toBeLessThan(TOLERANCE);
    expect(relativeError(actual.dx, expected.dx)).toBeLessThan(TOLERANCE);
    expect(relativeError(actual.dFilter, expected.dFilter)).toBeLessThan(TOLERANCE);
  });

  it.each(simd ? poolCases : stockPoolCases)(
    'maxPool gradient matches cpu: x $x, filter $filter, strides $strides, pad $pad, inputs $inputs',
    async (c) => {
      const expected = await poolGradient('cpu', c);
      const actual = await poolGradient('wasm', c);
      expect(relativeError(actual, expected)).toBeLessThan(TOLERANCE);
    },
  );

  it.each(sumCases)('sum matches cpu: shape $shape, axis $axis, keepDims $keepDims', async (c) => {
    const expected = await summed('cpu', c);
    const actual = await summed('wasm', c);
    expect(actual.shape).toEqual(expected.shape);
    expect(relativeError(actual.values, expected.values)).toBeLessThan(TOLERANCE);
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

  it.each(simd ? batchNormCases : [])(
    'fused BatchNorm + ReLU and its gradients match cpu composed from tfjs ops: x $x',
    async (c) => {
      const expected = await batchNormResults('cpu', c, false);
      const actual = await batchNormResults('wasm', c, true);
      const names = ['y', 'dx', 'dgamma', 'dbeta', 'mean', 'variance'];
      expected.forEach((e, i) => expect(relativeError(actual[i]!, e), names[i]).toBeLessThan(TOLERANCE));
    },
  );

  it.each(convBiasReluCases)(
    'fused conv2d + bias + ReLU and its gradients match cpu composed from tfjs ops: x $x, filter $filter, strides $strides, pad $pad',
    async (c) => {
      const expected = await convBiasReluResults('cpu', c, false);
      const actual = await convBiasReluResults('wasm', c, true);
      const names = ['y', 'dx', 'dfilter', 'dbias'];
      expected.forEach((e, i) => expect(relativeError(actual[i]!, e), names[i]).toBeLessThan(TOLERANCE));
      if (simd) {
        // The same convolution kernels as the composed path on wasm, and the same roundings of the bias and the gate.
        // (Without the module tfjs's fused conv2d runs instead: XNNPACK's, which rounds otherwise.)
        const composed = await convBiasReluResults('wasm', c, false);
        composed.forEach((e, i) => expect(relativeError(actual[i]!, e), `${names[i]} against wasm's composition`).toBe(0));
      }
    },
  );

  it.each(convBiasReluCases)(
    "a first layer's fused conv2d + bias + ReLU gradients (no dx) match cpu, and wasm's composition bit for bit: x $x, filter $filter",
    async (c) => {
      const expected = await convBiasReluResults('cpu', c, false, ['filter', 'bias']);
      const actual = await convBiasReluResults('wasm', c, true, ['filter', 'bias']);
      const names = ['y', 'dfilter', 'dbias'];
      expected.forEach((e, i) => expect(relativeError(actual[i]!, e), names[i]).toBeLessThan(TOLERANCE));
      if (simd) {
        const composed = await convBiasReluResults('wasm', c, false, ['filter', 'bias']);
        composed.forEach((e, i) => expect(actual[i]!, `${names[i]} against wasm's composition`).toEqual(e));
      }
    },
  );

  it.each(convBiasReluPoolCases.flatMap((c) => [{ ...c, firstLayer: false }, { ...c, firstLayer: true }]))(
    "a conv + bias + ReLU layer's max pool in its one gradient call matches cpu, and wasm's composition bit for bit: x $x, filter $filter, strides $strides, pad $pad, first layer (no dx) $firstLayer",
    async (c) => {
      const wrt: Array<'x' | 'filter' | 'bias'> = c.firstLayer ? ['filter', 'bias'] : ['x', 'filter', 'bias'];
      const expected = await convBiasReluResults('cpu', c, false, wrt, 'after');
      const actual = await convBiasReluResults('wasm', c, true, wrt, 'inside');
      const names = ['y', ...wrt.map((name) => `d${name}`)];
      expected.forEach((e, i) => expect(relativeError(actual[i]!, e), names[i]).toBeLessThan(TOLERANCE));
      // tf.maxPool after the layer (its one-call gradient after MaxPoolGrad's), as before: the same functions on the same values.
      const separate = await convBiasReluResults('wasm', c, true, wrt, 'after');
      separate.forEach((e, i) => expect(actual[i]!, `${names[i]} against the pool after the layer`).toEqual(e));
      if (simd) {
        const composed = await convBiasReluResults('wasm', c, false, wrt, 'after');
        composed.forEach((e, i) => expect(actual[i]!, `${names[i]} against wasm's composition`).toEqual(e));
      }
    },
  );

  it(`runs a conv + bias + ReLU layer's gradient and its max pool's as one kernel ${simd ? 'with' : 'only with'} the SIMD module, leaking nothing`, async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const x = tf.tensor4d(values(3 * 7 * 9 * 5, 121), [3, 7, 9, 5]);
    const filter = tf.tensor4d(values(3 * 3 * 5 * 13, 123), [3, 3, 5, 13]);
    const bias = tf.tensor1d(values(13, 127));
    const inputs = { x, filter, bias };
    const subsets: Array<Array<'x' | 'filter' | 'bias'>> = [['x', 'filter', 'bias'], ['filter', 'bias'], ['x'], ['bias']];
    const step = (): void => {
      for (const wrt of subsets) {
        const loss = (...args: tf.Tensor[]): tf.Tensor => {
          const given = { ...inputs, ...Object.fromEntries(wrt.map((name, i) => [name, args[i]!])) };
          const pooled = conv2dBiasReluMaxPool(given.x as tf.Tensor4D, given.filter as tf.Tensor4D, given.bias as tf.Tensor1D, 1, 'same');
          return tf.sum(tf.mul(pooled, pooled));
        };
        tf.tidy(() => tf.grads(loss)(wrt.map((name) => inputs[name])).forEach((g) => g.dataSync()));
      }
    };
    step();
    const tensorsBefore = tf.memory().numTensors;
    const buffersBefore = backend.numDataIds();
    step();
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(backend.numDataIds()).toBe(buffersBefore);
    for (const wrt of [[x, filter, bias], [filter, bias]]) {
      const loss = (...args: tf.Tensor[]): tf.Tensor => {
        const given = wrt.length === 3 ? args : [x, ...args];
        return tf.sum(conv2dBiasReluMaxPool(given[0] as tf.Tensor4D, given[1] as tf.Tensor4D, given[2] as tf.Tensor1D, 1, 'same'));
      };
      const training = await tf.profile(() => tf.grads(loss)(wrt));
      const kernelNames = training.kernels.map((k) => k.name);
      expect(kernelNames.filter((name) => name === CONV2D_BIAS_RELU_MAX_POOL_GRAD).length).toBe(simd ? 1 : 0);
      expect(kernelNames.includes(tf.MaxPoolGrad)).toBe(!simd);
      expect(kernelNames.includes(CONV2D_BIAS_RELU_GRAD)).toBe(false);
      expect(kernelNames.includes(tf.MaxPool)).toBe(true);
      if (simd) {
        const gradientCall = training.kernels.find((k) => k.name === CONV2D_BIAS_RELU_MAX_POOL_GRAD)!;
        expect(gradientCall.outputShapes.length, `outputs with dx ${wrt.length === 3}`).toBe(wrt.length === 3 ? 3 : 2);
      }
      tf.dispose(training.result as tf.Tensor[]);
    }
    tf.dispose([x, filter, bias]);
  });

  it.each(convBiasReluCases.flatMap((c) => [{ ...c, wrt: ['x', 'filter'] as Array<'x' | 'filter'> }, { ...c, wrt: ['filter'] as Array<'x' | 'filter'> }]))(
    "fused-conv.ts's conv2d and its gradients match cpu, and wasm's tf.conv2d bit for bit: x $x, filter $filter, strides $strides, w.r.t. $wrt",
    async (c) => {
      const expected = await plainConvResults('cpu', c, false, c.wrt);
      const actual = await plainConvResults('wasm', c, true, c.wrt);
      const composed = await plainConvResults('wasm', c, false, c.wrt);
      expected.forEach((e, i) => {
        expect(relativeError(actual[i]!, e), `output ${i}`).toBeLessThan(TOLERANCE);
        expect(actual[i]!, `output ${i} against wasm's tf.conv2d`).toEqual(composed[i]);
      });
    },
  );

  it.skipIf(!simd)('computes the gradients in one call with the bits of the separate kernels, on 1 and 3 threads, dy copied in or already in our memory', async () => {
    await tf.setBackend('wasm');
    const kernelsByThreads = [await createSimdKernels(1), await createSimdKernels(3, 0)];
    for (const c of convBiasReluCases.filter((k) => k.strides === 1)) {
      for (const options of [
        { relu: true, inputGradient: true, special: true },
        { relu: true, inputGradient: false },
        { relu: false, inputGradient: true },
      ]) {
        const expected = composedGradients(c, options);
        for (const kernels of kernelsByThreads) {
          // dy already in our memory: once per case is enough (it only skips the copy).
          for (const resident of options.special ? [false, true] : [false]) {
            const what = `x ${c.x}, filter ${c.filter}, ${JSON.stringify(options)}, ${kernels.threadCount} thread(s), resident dy ${resident}`;
            expect(directGradients(kernels, c, { ...options, resident }), what).toEqual(expected);
          }
        }
      }
    }
  });

  it('leaks no tensors or wasm buffers through the one-call conv gradients, whichever inputs are differentiated', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const x = tf.tensor4d(values(9 * 6 * 5 * 5, 111), [9, 6, 5, 5]);
    const filter = tf.tensor4d(values(3 * 3 * 5 * 13, 113), [3, 3, 5, 13]);
    const bias = tf.tensor1d(values(13, 117));
    const inputs = { x, filter, bias };
    const subsets: Array<Array<'x' | 'filter' | 'bias'>> = [['x', 'filter', 'bias'], ['filter', 'bias'], ['x'], ['filter'], ['bias'], ['x', 'bias']];
    const step = (): void => {
      for (const wrt of subsets) {
        tf.tidy(() => {
          const loss = (...args: tf.Tensor[]): tf.Tensor => {
            const given = { ...inputs, ...Object.fromEntries(wrt.map((name, i) => [name, args[i]!])) };
            const y = conv2dBiasRelu(given.x as tf.Tensor4D, given.filter as tf.Tensor4D, given.bias as tf.Tensor1D, 1, 'same');
            return tf.sum(conv2d(y, tf.ones([3, 3, 13, 4]), 1, 'valid'));
          };
          tf.grads(loss)(wrt.map((name) => inputs[name])).forEach((g) => g.dataSync());
        });
      }
    };
    step();
    const tensorsBefore = tf.memory().numTensors;
    const buffersBefore = backend.numDataIds();
    step();
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(backend.numDataIds()).toBe(buffersBefore);
    tf.dispose([x, filter, bias]);
  });

  it.each(simd ? convBatchNormCases.flatMap((c) => [{ ...c, firstLayer: false }, { ...c, firstLayer: true }]) : [])(
    'fused conv2d + BatchNorm + ReLU and its gradients match cpu composed from tfjs ops, and wasm\'s composition bit for bit: x $x, filter $filter, strides $strides, pad $pad, first layer (no dx) $firstLayer',
    async (c) => {
      const wrt: Array<'x' | 'filter' | 'gamma' | 'beta'> = c.firstLayer ? ['filter', 'gamma', 'beta'] : ['x', 'filter', 'gamma', 'beta'];
      const expected = await convBatchNormResults('cpu', c, false, wrt);
      const actual = await convBatchNormResults('wasm', c, true, wrt);
      const names = ['y', ...wrt.map((name) => `d${name}`), 'mean', 'variance'];
      expected.forEach((e, i) => expect(relativeError(actual[i]!, e), names[i]).toBeLessThan(TOLERANCE));
      // tf.conv2d then the fused BatchNorm + ReLU, as before these kernels: the same functions on the same values.
      const composed = await convBatchNormResults('wasm', c, false, wrt);
      composed.forEach((e, i) => expect(actual[i]!, `${names[i]} against wasm's composition`).toEqual(e));
    },
  );

  it.each(simd ? convBatchNormCases.filter((c) => c.filter[0] === 3).flatMap((c) => [{ ...c, firstLayer: false }, { ...c, firstLayer: true }]) : [])(
    "a conv + BatchNorm + ReLU layer's max pool in its one gradient call matches cpu, and the pool after the layer bit for bit: x $x, filter $filter, strides $strides, pad $pad, first layer (no dx) $firstLayer",
    async (c) => {
      const wrt: Array<'x' | 'filter' | 'gamma' | 'beta'> = c.firstLayer ? ['filter', 'gamma', 'beta'] : ['x', 'filter', 'gamma', 'beta'];
      const expected = await convBatchNormResults('cpu', c, false, wrt, 'after');
      const actual = await convBatchNormResults('wasm', c, true, wrt, 'inside');
      const names = ['y', ...wrt.map((name) => `d${name}`), 'mean', 'variance'];
      expected.forEach((e, i) => expect(relativeError(actual[i]!, e), names[i]).toBeLessThan(TOLERANCE));
      // tf.maxPool after the fused layer (MaxPoolGrad, then the layer's one-call gradient), as before, and after wasm's composition.
      for (const separate of [await convBatchNormResults('wasm', c, true, wrt, 'after'), await convBatchNormResults('wasm', c, false, wrt, 'after')]) {
        separate.forEach((e, i) => expect(actual[i]!, `${names[i]} against the pool after the layer`).toEqual(e));
      }
      const profile = await tf.profile(() => convBatchNormResults('wasm', c, true, wrt, 'inside'));
      const kernelNames = profile.kernels.map((k) => k.name);
      // Stride 2 has no one-call gradient: the pool's runs on its own, as before.
      expect(kernelNames.includes(tf.MaxPoolGrad)).toBe(c.strides !== 1);
      expect(kernelNames.filter((name) => name === CONV2D_BATCH_NORM_RELU_MAX_POOL_GRAD).length).toBe(c.strides === 1 ? 1 : 0);
    },
  );

  it.each([false, true])(
    `a model runs a conv layer and the max pool after it with one gradient call ${simd ? 'with' : 'only with'} the SIMD module, and the same values: BatchNorm %s`,
    async (batchNorm) => {
      await tf.setBackend('wasm');
      const layers = [conv('conv_1', 5, { batchNorm }), maxPool(), conv('conv_2', 13, { batchNorm }), maxPool(), flatten(), dense('dense_1', 3, { output: true })];
      const model = new Model('pooled', layers, [7, 9, 3], 1);
      const x = tf.tensor4d(values(3 * 7 * 9 * 3, 131), [3, 7, 9, 3]);
      const loss = (): tf.Scalar => tf.sum(model.forward(x, true));
      const training = await tf.profile(() => tf.variableGrads(loss, model.trainableVariables));
      model.discardBatchStats();
      const kernelNames = training.kernels.map((k) => k.name);
      const pooledGradient = batchNorm ? CONV2D_BATCH_NORM_RELU_MAX_POOL_GRAD : CONV2D_BIAS_RELU_MAX_POOL_GRAD;
      expect(kernelNames.filter((name) => name === pooledGradient).length).toBe(simd ? 2 : 0);
      expect(kernelNames.filter((name) => name === tf.MaxPoolGrad).length).toBe(simd ? 0 : 2);
      // The same values as the layers one after another (tf.maxPool after each conv layer).
      const { value, grads } = training.result as { value: tf.Scalar; grads: tf.NamedTensorMap };
      const stats: tf.Tensor[] = [];
      const apart = tf.variableGrads(() => {
        // The model's own variables, bound to each layer's plain forward (the layers' initial values are dropped).
        const vars: VariableBuilder = {
          param: (name) => model.params.get(name)!,
          buffer: (name) => model.buffers.get(name)!,
          kernel: (name) => model.params.get(`${name}/kernel`)!,
          batchNorm: () => {},
        };
        const pass = { training: true, queueBatchStats: ({ mean, variance }: BatchStats) => stats.push(mean, variance) };
        const forwards = [...walkLayers(layers, [7, 9, 3])].map(({ layer, input }) => layer.build(input, vars));
        return tf.sum(forwards.reduce<tf.Tensor>((h, forward) => forward(h, pass), x)) as tf.Scalar;
      }, model.trainableVariables);
      expect(await apart.value.data()).toEqual(await value.data());
      for (const name of Object.keys(grads)) expect(await apart.grads[name]!.data(), name).toEqual(await grads[name]!.data());
      tf.dispose([x, value, apart.value, ...Object.values(grads), ...Object.values(apart.grads), ...stats]);
      model.dispose();
    },
  );

  it(`runs a conv layer's convolution and BatchNorm + ReLU as one kernel each way ${simd ? 'with' : 'only with'} the SIMD module, dx only where asked`, async () => {
    await tf.setBackend('wasm');
    expect(kernelReady(CONV2D_BATCH_NORM_RELU, 'wasm')).toBe(simd);
    if (!simd) {
      expect(fusedConv2DBatchNormRelu(tf.zeros([1, 3, 3, 1]), tf.zeros([3, 3, 1, 2]), tf.ones([2]), tf.zeros([2]), 1, 'same', BN_EPSILON)).toBeNull();
      return;
    }
    const x = tf.tensor4d(values(2 * 6 * 6 * 4, 111), [2, 6, 6, 4]);
    const filter = tf.tensor4d(values(3 * 3 * 4 * 8, 113), [3, 3, 4, 8]);
    const gamma = tf.ones([8]);
    const beta = tf.zeros([8]);
    const layer = (f: tf.Tensor): tf.Tensor => {
      const result = fusedConv2DBatchNormRelu(x, f as tf.Tensor4D, gamma, beta, 1, 'same', BN_EPSILON)!;
      tf.dispose([result.mean, result.variance]);
      return tf.sum(result.y);
    };
    // A network's first layer: the filter's gradient only, so no dx; then with it.
    for (const wrt of [[filter], [x, filter]]) {
      const inputGradient = wrt.length === 2;
      const training = await tf.profile(() => tf.grads((...args: tf.Tensor[]) => layer(args.at(-1)!))(wrt));
      const names = training.kernels.map((k) => k.name);
      expect(names).toEqual(expect.arrayContaining([CONV2D_BATCH_NORM_RELU, CONV2D_BATCH_NORM_RELU_GRAD]));
      for (const separate of [tf.Conv2D, BATCH_NORM_RELU, BATCH_NORM_RELU_GRAD, tf.Conv2DBackpropFilter, tf.Conv2DBackpropInput]) {
        expect(names).not.toContain(separate);
      }
      const gradientCall = training.kernels.find((k) => k.name === CONV2D_BATCH_NORM_RELU_GRAD)!;
      expect(gradientCall.outputShapes.length, `outputs with inputGradient ${inputGradient}`).toBe(inputGradient ? 4 : 3);
      tf.dispose(training.result as tf.Tensor[]);
    }
    tf.dispose([x, filter, gamma, beta]);
  });

  it(`runs a conv layer's convolution, bias and ReLU as one kernel ${simd ? 'with' : 'only with'} the SIMD module`, async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d(values(2 * 6 * 6 * 4, 81), [2, 6, 6, 4]);
    const filter = tf.tensor4d(values(3 * 3 * 4 * 8, 83), [3, 3, 4, 8]);
    const bias = tf.tensor1d(values(8, 87));
    const training = await tf.profile(() => tf.grads((f: tf.Tensor) => tf.sum(conv2dBiasRelu(x, f as tf.Tensor4D, bias, 1, 'same')))([filter]));
    const names = training.kernels.map((k) => k.name);
    expect(names.includes(CONV2D_BIAS_RELU)).toBe(simd);
    expect(names.includes(tf.Relu)).toBe(!simd);
    // Its gradient: one kernel call with the module, tfjs's gate and filter gradient without.
    expect(names.filter((name) => name === CONV2D_BIAS_RELU_GRAD).length).toBe(simd ? 1 : 0);
    expect(names.includes(tf.Conv2DBackpropFilter)).toBe(!simd);
    expect(names.includes(tf.Step)).toBe(!simd);
    const plain = await tf.profile(() => tf.grads((a: tf.Tensor, f: tf.Tensor) => tf.sum(conv2d(a as tf.Tensor4D, f as tf.Tensor4D, 1, 'same')))([x, filter]));
    const plainNames = plain.kernels.map((k) => k.name);
    expect(plainNames.filter((name) => name === CONV2D_GRAD).length).toBe(simd ? 1 : 0);
    expect(plainNames.includes(CONV2D)).toBe(simd);
    expect(plainNames.includes(tf.Conv2DBackpropInput)).toBe(!simd);
    tf.dispose([x, filter, bias, ...(training.result as tf.Tensor[]), ...(plain.result as tf.Tensor[])]);
  });

  it(`offers the fused BatchNorm, conv and Adam kernels ${simd ? 'with' : 'only with'} the SIMD module`, async () => {
    await tf.setBackend('wasm');
    expect(fusedBatchNormReluAvailable()).toBe(simd);
    expect(kernelReady(ADAM_UPDATE, 'wasm')).toBe(simd);
    expect(kernelReady(CONV2D_BIAS_RELU, 'wasm')).toBe(simd);
    for (const kernel of [CONV2D_BIAS_RELU_GRAD, CONV2D_BIAS_RELU_MAX_POOL_GRAD, CONV2D, CONV2D_GRAD]) expect(kernelReady(kernel, 'wasm'), kernel).toBe(simd);
    await tf.setBackend('cpu');
    expect(kernelReady(CONV2D_GRAD, 'cpu')).toBe(false);
    expect(fusedBatchNormReluAvailable()).toBe(false);
    expect(kernelReady(CONV2D_BIAS_RELU, 'cpu')).toBe(false);
    await tf.setBackend('wasm');
  });

  // Bit for bit, not within a tolerance: the fused update rounds exactly as tfjs's chain of kernels.
  it(`the lab's Adam (${simd ? 'fused' : 'tfjs chain'}) matches tfjs's own on cpu and wasm bit for bit over many steps`, async () => {
    const expected = await adamRun('cpu', false);
    const actual = await adamRun('wasm', true);
    const stockWasm = await adamRun('wasm', false);
    expect(actual.names).toEqual(expected.names);
    expect(actual.values.length).toBe(1 + optimiserVariables.length * 3);
    actual.values.forEach((values, i) => {
      const what = i < optimiserVariables.length ? `variable ${i}` : actual.names[i - optimiserVariables.length];
      expect(values, what).toEqual(expected.values[i]);
      expect(values, what).toEqual(stockWasm.values[i]);
    });
  });

  it('clones by sharing data, and a clone outlives its original', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const buffers = backend.numDataIds();
    const copy = tf.clone(x);
    expect(backend.numDataIds()).toBe(buffers);
    x.dispose();
    expect(copy.shape).toEqual([2, 3]);
    expect(Array.from(await copy.data())).toEqual([1, 2, 3, 4, 5, 6]);
    copy.dispose();
    expect(backend.numDataIds()).toBe(buffers - 1);
  });

  it('leaks no tensors or wasm buffers through Adam updates', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const w = tf.variable(tf.tensor(values(10, 1)), true, 'optimiser-leak');
    const optimizer = makeAdam(true);
    const step = (): void => {
      const grad = tf.tensor(values(10, 2));
      optimizer.applyGradients({ [w.name]: grad });
      grad.dispose();
    };
    step(); // the first update creates the slots
    const tensorsBefore = tf.memory().numTensors;
    const buffersBefore = backend.numDataIds();
    step();
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(backend.numDataIds()).toBe(buffersBefore);
    optimizer.dispose();
    w.dispose();
  });

  it.runIf(simd)('leaks no tensors or wasm buffers through a fused conv + BatchNorm gradient step', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const x = tf.tensor4d(values(3 * 7 * 7 * 5, 121), [3, 7, 7, 5]);
    const filter = tf.tensor4d(values(3 * 3 * 5 * 13, 123), [3, 3, 5, 13]);
    const gamma = tf.ones([13]);
    const beta = tf.zeros([13]);
    const step = (): void => {
      const stats: tf.Tensor[] = [];
      tf.tidy(() => {
        const loss = (a: tf.Tensor, f: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor => {
          const result = fusedConv2DBatchNormRelu(a as tf.Tensor4D, f as tf.Tensor4D, g, b, 1, 'same', BN_EPSILON)!;
          stats.push(result.mean, result.variance);
          return tf.sum(result.y);
        };
        tf.grads(loss)([x, filter, gamma, beta]).forEach((g) => g.dataSync());
      });
      tf.dispose(stats);
    };
    step();
    const tensorsBefore = tf.memory().numTensors;
    const buffersBefore = backend.numDataIds();
    step();
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(backend.numDataIds()).toBe(buffersBefore);
    tf.dispose([x, filter, gamma, beta]);
  });

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
          const h = tf.maxPool(tf.relu(tf.conv2d(x, f as tf.Tensor4D, 2, 'same')), 2, 1, 'same');
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
}
