/**
 * What the kernels of a Conv-4 ×0.25 step (and Conv-4-BN's conv layer with
 * BatchNorm + ReLU, forward and backward, as separate calls and as one)
 * cost at their largest shapes (batch 64) on wasm in Node, one call at a
 * time: the wall ms and the calling thread's CPU ms per call, with our SIMD
 * kernels on `--threads` threads. The calling thread's CPU is what a second thread cannot take
 * (copies into and out of our module, one-thread kernels, the sums added
 * up in order) plus its own share of the shared work; it reads through load
 * from other jobs better than wall time does.
 *
 *   npx tsx scripts/time-kernel-calls.ts [--threads 2] [--calls 200]
 *
 * The conv + BatchNorm layer's ways are timed in alternating rounds of
 * `calls / 6` calls each, medians of 6 rounds.
 *
 * Prints; asserts nothing.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type TensorInfo = tf.TensorInfo;
import { initBackend } from '../src/lib/engine/runtime/backend';
import { loadSimdKernels, simdKernels } from '../src/lib/engine/runtime/simd/simd-kernels';
import { mainThreadCpuMs } from './thread-cpu';

function count(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = Number(at >= 0 ? process.argv[at + 1] : fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} takes a whole number of 1 or more`);
  return value;
}

const threads = count('threads', 2);
const calls = count('calls', 200);
await loadSimdKernels(threads);
await initBackend('wasm');
const kernels = simdKernels();
if (kernels == null) throw new Error('our SIMD kernels did not load');
const backend = tf.backend() as BackendWasm;
console.log(`wasm: our kernels on ${kernels.threadCount} thread(s); ${calls} calls each, after 20 to warm up`);

type Call = () => tf.Tensor | Array<tf.Tensor | tf.TensorInfo>;

/** Runs `call` once and frees its outputs (tensors or raw backend data). */
function once(call: Call): void {
  const out = call();
  if (out instanceof tf.Tensor) out.dispose();
  else for (const result of out) result instanceof tf.Tensor ? result.dispose() : backend.disposeData(result.dataId);
}

/** Wall ms and the calling thread's CPU ms (null where unknown) per call over `count` calls. */
function measure(call: Call, count: number): { wall: number; cpu: number | null } {
  const cpuStart = mainThreadCpuMs();
  const start = performance.now();
  for (let i = 0; i < count; i++) once(call);
  const wall = (performance.now() - start) / count;
  const cpuEnd = mainThreadCpuMs();
  return { wall, cpu: cpuStart == null || cpuEnd == null ? null : (cpuEnd - cpuStart) / count };
}

function report(name: string, wall: number, cpu: number | null): void {
  console.log(`${name.padEnd(50)} ${wall.toFixed(2).padStart(7)} ms wall ${(cpu?.toFixed(2) ?? 'n/a').padStart(6)} ms calling thread's CPU`);
}

function time(name: string, call: Call): void {
  for (let i = 0; i < 20; i++) once(call);
  const { wall, cpu } = measure(call, calls);
  report(name, wall, cpu);
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * Times ways of doing the same work in alternating rounds (the order
 * turned each round), so that the machine's drift over seconds falls on
 * all of them alike: medians over the rounds.
 */
function compare(variants: Array<[string, Call]>, rounds = 6): void {
  for (const [, call] of variants) for (let i = 0; i < 10; i++) once(call);
  const results = variants.map(() => ({ walls: [] as number[], cpus: [] as number[] }));
  for (let round = 0; round < rounds; round++) {
    const order = variants.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) {
      const { wall, cpu } = measure(variants[i]![1], Math.max(1, Math.round(calls / rounds)));
      results[i]!.walls.push(wall);
      if (cpu != null) results[i]!.cpus.push(cpu);
    }
  }
  variants.forEach(([name], i) => {
    const { walls, cpus } = results[i]!;
    report(name, median(walls), cpus.length > 0 ? median(cpus) : null);
  });
}

const x = tf.randomNormal([64, 32, 32, 16], 0, 1, 'float32', 1) as tf.Tensor4D;
const dy = tf.randomNormal([64, 32, 32, 16], 0, 1, 'float32', 2) as tf.Tensor4D;
const filter = tf.randomNormal([3, 3, 16, 16], 0, 1, 'float32', 3) as tf.Tensor4D;
const x32 = tf.randomNormal([64, 16, 16, 32], 0, 1, 'float32', 4) as tf.Tensor4D;
const dy32 = tf.randomNormal([64, 16, 16, 32], 0, 1, 'float32', 5) as tf.Tensor4D;
const kernel = tf.randomNormal([2048, 64], 0, 1, 'float32', 6);
const dense = tf.randomNormal([64, 64], 0, 1, 'float32', 7);
const filterShape = [3, 3, 16, 16];
time('conv2d [64,32,32,16] * [3,3,16,16]', () => tf.conv2d(x, filter, 1, 'same'));
time('filter gradient, the same layer', () =>
  tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape } as unknown as tf.NamedAttrMap) as tf.Tensor,
);
// A conv + bias + ReLU layer's gradients (dx, filter, bias): tfjs's gate and our separate kernels, then one call.
const reluOutput = tf.relu(tf.randomNormal([64, 32, 32, 16], 0, 1, 'float32', 10)) as tf.Tensor4D;
time('conv+bias+ReLU gradients, separate kernels', () =>
  tf.tidy(() => {
    const gated = tf.mul(dy, tf.step(reluOutput)) as tf.Tensor4D;
    const dw = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy: gated }, { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape } as unknown as tf.NamedAttrMap) as tf.Tensor;
    return [tf.conv2dTranspose(gated, filter, x.shape, 1, 'same'), dw, tf.sum(gated, [0, 1, 2])];
  }),
);
const convInfo = tf.backend_util.computeConv2DInfo(x.shape, filter.shape, 1, 1, 'same', undefined, false, 'channelsLast');
time('the same in one call (conv2dGradients)', () => {
  const { dx, dw, db } = kernels.conv2dGradients(backend, { x, filter, dy, info: convInfo, reluOutput, inputGradient: true });
  return [dx!, dw, db!];
});
reluOutput.dispose();
// The same layers followed by a 2x2 max pool (Conv-4's conv_2 and conv_4): the pool's gradient, then the layer's, or both in one call.
for (const [input, weights] of [[x, filter], [x32, tf.randomNormal([3, 3, 32, 32], 0, 1, 'float32', 14) as tf.Tensor4D]] as const) {
  const info = tf.backend_util.computeConv2DInfo(input.shape, weights.shape, 1, 1, 'same', undefined, false, 'channelsLast');
  const [n, h, w] = input.shape;
  const y = tf.relu(tf.randomNormal([n, h, w, weights.shape[3]], 0, 1, 'float32', 15)) as tf.Tensor4D;
  const pooledDy = tf.randomNormal([n, h / 2, w / 2, weights.shape[3]], 0, 1, 'float32', 16) as tf.Tensor4D;
  const poolInfo = tf.backend_util.computePool2DInfo(y.shape, 2, 2, 1, 'valid');
  console.log(`a conv + bias + ReLU layer [${input.shape}] * [${weights.shape}] then a 2x2 max pool, backward (alternating, medians of 6 rounds):`);
  compare([
    [
      "  the pool's gradient, then the layer's (2 calls)",
      () => {
        const dy = tf.engine().makeTensorFromTensorInfo(kernels.maxPoolBackprop(backend, y, pooledDy, poolInfo));
        const { dx, dw, db } = kernels.conv2dGradients(backend, { x: input, filter: weights, dy, info, reluOutput: y, inputGradient: true });
        dy.dispose();
        return [dx!, dw, db!];
      },
    ],
    [
      '  both in one call',
      () => {
        const { dx, dw, db } = kernels.conv2dPooledGradients(backend, { x: input, filter: weights, info, reluOutput: y, pooledDy, poolInfo, inputGradient: true });
        return [dx!, dw, db!];
      },
    ],
  ]);
  tf.dispose([y, pooledDy, ...(weights === filter ? [] : [weights])]);
}
for (const [input, gradient] of [[x, dy], [x32, dy32]] as const) {
  const channels = input.shape[3];
  const gamma = tf.randomNormal([channels], 1, 0.3, 'float32', 8);
  const beta = tf.randomNormal([channels], 0, 0.3, 'float32', 9);
  const [y, mean, variance] = kernels.batchNormRelu(backend, input, gamma, beta, 1e-5);
  backend.disposeData(y!.dataId);
  time(`BatchNorm + ReLU [${input.shape}]`, () => kernels.batchNormRelu(backend, input, gamma, beta, 1e-5));
  time(`its gradient`, () => kernels.batchNormReluBackprop(backend, input, gradient, mean!, variance!, gamma, beta, 1e-5));
  for (const info of [mean!, variance!]) backend.disposeData(info.dataId);
  tf.dispose([gamma, beta]);
}
const filter32 = tf.randomNormal([3, 3, 32, 32], 0, 1, 'float32', 10) as tf.Tensor4D;
for (const [input, weights] of [[x, filter], [x32, filter32]] as const) {
  const info = tf.backend_util.computeConv2DInfo(input.shape, weights.shape, 1, 1, 'same');
  const channels = weights.shape[3];
  const gamma = tf.randomNormal([channels], 1, 0.3, 'float32', 11);
  const beta = tf.randomNormal([channels], 0, 0.3, 'float32', 12);
  const layer = `[${input.shape}] * [${weights.shape}]`;
  console.log(`a conv + BatchNorm + ReLU layer, ${layer} (alternating, medians of 6 rounds):`);
  compare([
    [
      '  forward, conv2d then BatchNorm + ReLU (2 calls)',
      () => {
        const z = kernels.conv2d(backend, input, weights, info);
        return [z, ...kernels.batchNormRelu(backend, z, gamma, beta, 1e-5)];
      },
    ],
    ['  the same in one call', () => kernels.conv2dBatchNormRelu(backend, input, weights, gamma, beta, info, 1e-5)],
  ]);
  const [z, y, mean, variance] = kernels.conv2dBatchNormRelu(backend, input, weights, gamma, beta, info, 1e-5) as [TensorInfo, TensorInfo, TensorInfo, TensorInfo];
  const dy = tf.randomNormal(z.shape, 0, 1, 'float32', 13);
  const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC' };
  compare([
    [
      "  backward, BatchNorm + ReLU's, dx, dw (3 calls)",
      () => {
        const [dz, dgamma, dbeta] = kernels.batchNormReluBackprop(backend, z, dy, mean, variance, gamma, beta, 1e-5) as [TensorInfo, TensorInfo, TensorInfo];
        const dzTensor = tf.engine().makeTensorFromTensorInfo(dz);
        const dx = tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: dzTensor, filter: weights }, { ...attrs, inputShape: input.shape } as unknown as tf.NamedAttrMap) as tf.Tensor;
        const dw = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: input, dy: dzTensor }, { ...attrs, filterShape: weights.shape } as unknown as tf.NamedAttrMap) as tf.Tensor;
        tf.dispose([dzTensor, dx, dw]);
        return [dgamma, dbeta];
      },
    ],
    [
      "  BatchNorm + ReLU's, then dx and dw (2 calls)",
      () => {
        const [dz, dgamma, dbeta] = kernels.batchNormReluBackprop(backend, z, dy, mean, variance, gamma, beta, 1e-5) as [TensorInfo, TensorInfo, TensorInfo];
        const { dx, dw } = kernels.conv2dGradients(backend, { x: input, filter: weights, dy: dz, info, inputGradient: true });
        return [dz, dgamma, dbeta, dx!, dw];
      },
    ],
    [
      '  all in one call',
      () => kernels.conv2dBatchNormReluBackprop(backend, { x: input, filter: weights, z, dy, mean, variance, gamma, beta, epsilon: 1e-5, info, inputGradient: true }),
    ],
  ]);
  for (const info of [z, y, mean, variance]) backend.disposeData(info.dataId);
  tf.dispose([gamma, beta, dy]);
}
time('dy·Wᵀ, [64,64]·[2048,64]ᵀ', () => tf.matMul(dense, kernel, false, true));
time('max pool 2x2 of [64,32,32,16]', () => tf.maxPool(x, 2, 2, 'valid'));
tf.dispose([x, dy, filter, filter32, x32, dy32, kernel, dense]);
