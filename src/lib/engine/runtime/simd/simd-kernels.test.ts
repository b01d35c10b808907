import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { clangAvailable, generatedModuleText, SIMD_GENERATED } from '../../../../../scripts/build-simd-kernels';
import { KernelThreads } from './kernel-threads';
import { createSimdKernels, loadSimdKernels, simdKernels, THREADED_MIN_MULTIPLY_ADDS, type SimdKernels } from './simd-kernels';

// The kernels' agreement with tfjs's cpu backend is checked in wasm-kernels.test.ts.
describe('SIMD kernel module', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });

  it('compiles and loads in Node', async () => {
    expect(await loadSimdKernels()).toBe(true);
    expect(simdKernels()).not.toBeNull();
  });

  it('gives bit-identical results on 1, 2 and 3 threads, so seeded runs repeat on any machine', async () => {
    const backend = tf.backend() as BackendWasm;
    // Every call shared (threshold 0), and 3 threads with the real threshold, where these small calls stay on one.
    const kernels = await Promise.all([
      ...[1, 2, 3].map((threads) => createSimdKernels(threads, 0)),
      createSimdKernels(3, THREADED_MIN_MULTIPLY_ADDS),
    ]);
    expect(kernels.map((k) => k.threadCount)).toEqual([1, 2, 3, 3]);
    // 19 images: filter-gradient groups of 8, 8 and 3, shared unevenly among threads.
    const x = tf.randomNormal([19, 9, 10, 5], 0, 1, 'float32', 1);
    const filter = tf.randomNormal([3, 3, 5, 12], 0, 1, 'float32', 2);
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      1,
      1,
      'same',
    );
    const dy = tf.randomNormal([19, 9, 10, 12], 0, 1, 'float32', 3);
    const a = tf.randomNormal([19, 300], 0, 1, 'float32', 4);
    const b = tf.randomNormal([300, 13], 0, 1, 'float32', 5);
    const gamma = tf.randomNormal([12], 1, 0.5, 'float32', 6);
    const beta = tf.randomNormal([12], 0, 0.5, 'float32', 7);
    const read = (out: tf.TensorInfo): Float32Array => {
      const values = backend.readSync(out.dataId) as Float32Array;
      backend.disposeData(out.dataId);
      return values;
    };
    const batchNorm = (k: SimdKernels): Float32Array[] => {
      const forward = k.batchNormRelu(backend, dy, gamma, beta, 1e-5);
      const [, mean, variance] = forward;
      const backward = k.batchNormReluBackprop(backend, dy, dy, mean!, variance!, gamma, beta, 1e-5);
      return [...forward, ...backward].map(read);
    };
    // A conv layer with BatchNorm + ReLU in one call each way, its gradients with and without dx.
    const convBatchNorm = (k: SimdKernels): Float32Array[] => {
      const forward = k.conv2dBatchNormRelu(backend, x, filter, gamma, beta, info, 1e-5);
      const [z, , mean, variance] = forward as [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
      const backward = [true, false].flatMap((inputGradient) =>
        k.conv2dBatchNormReluBackprop(backend, { x, filter, z, dy, mean, variance, gamma, beta, epsilon: 1e-5, info, inputGradient }),
      );
      return [...forward, ...backward].map(read);
    };
    const poolInfo = tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], 2, 2, 1, 'same');
    const pooledDy = tf.randomNormal([19, poolInfo.outHeight, poolInfo.outWidth, 5], 0, 1, 'float32', 8);
    const results = (k: SimdKernels): Float32Array[] => [
      read(k.conv2dBackpropFilter(backend, x, dy, info)),
      read(k.conv2d(backend, x, filter, info)),
      read(k.conv2d(backend, x, filter, info, beta)),
      read(k.matMul(backend, a, b, 19, 300, 13, [19, 13])),
      read(k.maxPoolBackprop(backend, x, pooledDy, poolInfo)),
      ...batchNorm(k),
      ...convBatchNorm(k),
    ];
    const [one, ...more] = kernels.map(results);
    for (const other of more) other.forEach((values, i) => expect(values).toEqual(one![i]));
    tf.dispose([x, filter, dy, a, b, gamma, beta, pooledDy]);
  });

  // Bit for bit: each output is summed in the order the kernels' register blocks sum it, so a channel count
  // that is a multiple of 8 (the blocks' width) keeps its bits, and other counts, run padded to one, are
  // summed as such a channel is.
  it.each([
    { x: [3, 7, 9, 5], filter: [3, 3, 5, 16], strides: 1, pad: 'same' },
    { x: [2, 8, 8, 3], filter: [3, 3, 3, 8], strides: 2, pad: 'valid' },
    { x: [3, 7, 9, 5], filter: [3, 3, 5, 13], strides: 1, pad: 'same' },
    { x: [2, 6, 6, 9], filter: [3, 3, 9, 23], strides: 2, pad: 'same' },
    { x: [17, 4, 5, 3], filter: [2, 3, 3, 1], strides: 1, pad: 'valid' },
  ] as const)('sums conv2d and its filter gradient in its blocks\' order on 1 and 3 threads: x $x, filter $filter', async (c) => {
    const backend = tf.backend() as BackendWasm;
    const info = tf.backend_util.computeConv2DInfo([...c.x], [...c.filter], c.strides, 1, c.pad);
    const x = tf.randomNormal([...c.x], 0, 1, 'float32', 11);
    const filter = tf.randomNormal([...c.filter], 0, 1, 'float32', 12);
    const bias = tf.randomNormal([c.filter[3]], 0, 1, 'float32', 13);
    const dy = tf.randomNormal([info.batchSize, info.outHeight, info.outWidth, info.outChannels], 0, 1, 'float32', 14);
    const expected = blockOrderConvolution(info, x.dataSync() as Float32Array, filter.dataSync() as Float32Array, bias.dataSync() as Float32Array, dy.dataSync() as Float32Array);
    const read = (out: tf.TensorInfo): Float32Array => {
      const values = backend.readSync(out.dataId) as Float32Array;
      backend.disposeData(out.dataId);
      return values;
    };
    for (const kernels of await Promise.all([createSimdKernels(1, 0), createSimdKernels(3, 0)])) {
      const what = `${kernels.threadCount} thread(s)`;
      expect(read(kernels.conv2d(backend, x, filter, info)), `y, ${what}`).toEqual(expected.y);
      expect(read(kernels.conv2d(backend, x, filter, info, bias)), `relu(y + bias), ${what}`).toEqual(expected.yBiasRelu);
      expect(read(kernels.conv2dBackpropFilter(backend, x, dy, info)), `dw, ${what}`).toEqual(expected.dw);
    }
    tf.dispose([x, filter, bias, dy]);
  });

  it('wakes its helper threads only for calls large enough to pay for it', async () => {
    const backend = tf.backend() as BackendWasm;
    const shared = vi.spyOn(KernelThreads.prototype, 'run');
    const kernels = await createSimdKernels(2);
    // 64·64·64 multiply-adds, a narrow dense layer's product: below the threshold.
    const small = tf.randomNormal([64, 64], 0, 1, 'float32', 8);
    // 128·256·128: above it.
    const a = tf.randomNormal([128, 256], 0, 1, 'float32', 9);
    const b = tf.randomNormal([256, 128], 0, 1, 'float32', 10);
    backend.disposeData(kernels.matMul(backend, small, small, 64, 64, 64, [64, 64]).dataId);
    expect(shared).not.toHaveBeenCalled();
    backend.disposeData(kernels.matMul(backend, a, b, 128, 256, 128, [128, 128]).dataId);
    expect(shared).toHaveBeenCalledTimes(1);
    shared.mockRestore();
    tf.dispose([small, a, b]);
  });

  it.skipIf(!clangAvailable())('is built from the committed kernels.c (needs clang and wasm-ld)', () => {
    expect(readFileSync(SIMD_GENERATED, 'utf8')).toBe(generatedModuleText());
  });
});

/** Images per partial sum of the filter gradient, as in simd-kernels.ts. */
const FILTER_GRADIENT_GROUP = 8;

/**
 * conv2d (plain, and relu(y + bias)) and its filter gradient in float32,
 * each sum taken in the order kernels.c takes it: y over the filter's rows,
 * then columns, then input channels; dw over groups of 8 images (image, row,
 * column within each), the groups' sums then added as sum_rows adds them.
 */
function blockOrderConvolution(
  info: tf.backend_util.Conv2DInfo,
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array,
  dy: Float32Array,
): { y: Float32Array; yBiasRelu: Float32Array; dw: Float32Array } {
  const { batchSize: n, inHeight: h, inWidth: wd, inChannels: ci, outHeight: oh, outWidth: ow, outChannels: co } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const f = Math.fround;
  const input = (b: number, r: number, q: number, t: number, u: number, c: number): number => {
    const row = r * sh + t - info.padInfo.top;
    const col = q * sw + u - info.padInfo.left;
    return row < 0 || row >= h || col < 0 || col >= wd ? 0 : x[((b * h + row) * wd + col) * ci + c]!;
  };
  const y = new Float32Array(n * oh * ow * co);
  const yBiasRelu = new Float32Array(y.length);
  for (let b = 0; b < n; b++)
    for (let r = 0; r < oh; r++)
      for (let q = 0; q < ow; q++)
        for (let o = 0; o < co; o++) {
          let sum = 0;
          for (let t = 0; t < kh; t++)
            for (let u = 0; u < kw; u++)
              for (let c = 0; c < ci; c++) sum = f(sum + f(input(b, r, q, t, u, c) * w[((t * kw + u) * ci + c) * co + o]!));
          const at = ((b * oh + r) * ow + q) * co + o;
          y[at] = sum;
          const biased = f(sum + bias[o]!);
          yBiasRelu[at] = biased > 0 ? biased : 0;
        }
  const dw = new Float32Array(kh * kw * ci * co);
  const groups = Math.ceil(n / FILTER_GRADIENT_GROUP);
  for (let t = 0; t < kh; t++)
    for (let u = 0; u < kw; u++)
      for (let c = 0; c < ci; c++)
        for (let o = 0; o < co; o++) {
          let total = 0;
          for (let start = 0; start < groups; start += 64) {
            let partial = 0;
            for (let g = start; g < Math.min(groups, start + 64); g++) {
              let sum = 0;
              for (let b = g * FILTER_GRADIENT_GROUP; b < Math.min(n, (g + 1) * FILTER_GRADIENT_GROUP); b++)
                for (let r = 0; r < oh; r++)
                  for (let q = 0; q < ow; q++) sum = f(sum + f(input(b, r, q, t, u, c) * dy[((b * oh + r) * ow + q) * co + o]!));
              partial = f(partial + sum);
            }
            total = f(total + partial);
          }
          dw[((t * kw + u) * ci + c) * co + o] = total;
        }
  return { y, yBiasRelu, dw };
}

if (!clangAvailable()) {
  console.warn('simd-kernels.test: clang/wasm-ld not found, so kernels-wasm.ts is not rebuilt and compared (apt-get install -y clang lld).');
}
