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
    const poolInfo = tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], 2, 2, 1, 'same');
    const pooledDy = tf.randomNormal([19, poolInfo.outHeight, poolInfo.outWidth, 5], 0, 1, 'float32', 8);
    const results = (k: SimdKernels): Float32Array[] => [
      read(k.conv2dBackpropFilter(backend, x, dy, info)),
      read(k.conv2d(backend, x, filter, info)),
      read(k.conv2d(backend, x, filter, info, beta)),
      read(k.matMul(backend, a, b, 19, 300, 13, [19, 13])),
      read(k.maxPoolBackprop(backend, x, pooledDy, poolInfo)),
      ...batchNorm(k),
    ];
    const [one, ...more] = kernels.map(results);
    for (const other of more) other.forEach((values, i) => expect(values).toEqual(one![i]));
    tf.dispose([x, filter, dy, a, b, gamma, beta, pooledDy]);
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

if (!clangAvailable()) {
  console.warn('simd-kernels.test: clang/wasm-ld not found, so kernels-wasm.ts is not rebuilt and compared (apt-get install -y clang lld).');
}
