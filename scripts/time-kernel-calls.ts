/**
 * What the kernels of a Conv-4 ×0.25 step cost at their largest shapes
 * (batch 64) on wasm in Node, one call at a time: the wall ms and the
 * calling thread's CPU ms per call, with our SIMD kernels on `--threads`
 * threads. The calling thread's CPU is what a second thread cannot take
 * (copies into and out of our module, one-thread kernels, the sums added
 * up in order) plus its own share of the shared work; it reads through load
 * from other jobs better than wall time does.
 *
 *   npx tsx scripts/time-kernel-calls.ts [--threads 2] [--calls 200]
 *
 * Prints; asserts nothing.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
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

/** Times `call`, whose outputs (tensors or raw backend data) are freed after each call. */
function time(name: string, call: () => tf.Tensor | Array<tf.Tensor | tf.TensorInfo>): void {
  const once = (): void => {
    const out = call();
    if (out instanceof tf.Tensor) out.dispose();
    else for (const result of out) result instanceof tf.Tensor ? result.dispose() : backend.disposeData(result.dataId);
  };
  for (let i = 0; i < 20; i++) once();
  const cpuStart = mainThreadCpuMs();
  const start = performance.now();
  for (let i = 0; i < calls; i++) once();
  const wall = (performance.now() - start) / calls;
  const cpuEnd = mainThreadCpuMs();
  const cpu = cpuStart == null || cpuEnd == null ? 'n/a' : ((cpuEnd - cpuStart) / calls).toFixed(2);
  console.log(`${name.padEnd(44)} ${wall.toFixed(2).padStart(7)} ms wall ${cpu.padStart(6)} ms calling thread's CPU`);
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
time('dy·Wᵀ, [64,64]·[2048,64]ᵀ', () => tf.matMul(dense, kernel, false, true));
time('max pool 2x2 of [64,32,32,16]', () => tf.maxPool(x, 2, 2, 'valid'));
tf.dispose([x, dy, filter, x32, dy32, kernel, dense]);
