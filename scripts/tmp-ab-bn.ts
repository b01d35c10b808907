// Temporary A/B of the fused conv + BatchNorm forward with its BatchNorm passes on one thread (normalise) and shared (normaliseShared), alternating in one process; removed with normaliseShared.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../src/lib/engine/runtime/backend';
import { loadSimdKernels, simdKernels } from '../src/lib/engine/runtime/simd/simd-kernels';
import { mainThreadCpuMs } from './thread-cpu';
await loadSimdKernels(2);
await initBackend('wasm');
const k = simdKernels()! as any;
const backend = tf.backend() as BackendWasm;
for (const [xs, ws] of [[[64, 32, 32, 16], [3, 3, 16, 16]], [[64, 16, 16, 32], [3, 3, 32, 32]]] as const) {
  const x = tf.randomNormal([...xs]); const w = tf.randomNormal([...ws]);
  const gamma = tf.randomNormal([ws[3]], 1, 0.3); const beta = tf.randomNormal([ws[3]], 0, 0.3);
  const info = tf.backend_util.computeConv2DInfo(x.shape as any, w.shape as any, 1, 1, 'same');
  const shape = [64, xs[1], xs[2], ws[3]];
  const call = (shared: boolean) => {
    const layout = k.layout();
    const zAt = k.convolve(layout, backend, x, w, info);
    const outs = shared ? k.normaliseShared(layout, backend, zAt, shape, gamma, beta, 1e-5) : k.normalise(layout, backend, zAt, shape, gamma, beta, 1e-5);
    for (const o of outs) backend.disposeData(o.dataId);
  };
  const res: Record<string, number[][]> = { one: [], shared: [] };
  for (let i = 0; i < 10; i++) call(i % 2 === 0);
  for (let round = 0; round < 6; round++) {
    for (const shared of round % 2 ? [true, false] : [false, true]) {
      const c0 = mainThreadCpuMs()!; const t0 = performance.now();
      for (let i = 0; i < 40; i++) call(shared);
      res[shared ? 'shared' : 'one']!.push([(performance.now() - t0) / 40, (mainThreadCpuMs()! - c0) / 40]);
    }
  }
  const med = (a: number[]) => a.sort((p, q) => p - q)[Math.floor(a.length / 2)]!.toFixed(2);
  for (const key of ['one', 'shared']) console.log(`${xs} ${key}: wall ${res[key]!.map((r) => r[0]!.toFixed(2)).join(' ')} (median ${med(res[key]!.map((r) => r[0]!))}) cpu ${res[key]!.map((r) => r[1]!.toFixed(2)).join(' ')}`);
}
