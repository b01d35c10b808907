/**
 * Where a training step's time goes on wasm: times the engine's own Adam
 * step (`trainStep`) of the full Conv-2 in Node, then lists tfjs kernels by
 * total time in one profiled step.
 *
 *   npx tsx scripts/profile-wasm-step.ts [--batch 64] [--steps 10] [--threads N]
 *
 * `--threads` sets how many threads our SIMD kernels share large calls
 * among (default: every core, as the engine does in Node). Profiling adds
 * overhead, so the profiled total exceeds the timed step. Prints; asserts
 * nothing.
 */
import * as tf from '@tensorflow/tfjs';
import { createModel } from '../src/lib/engine/models/registry';
import { initBackend } from '../src/lib/engine/runtime/backend';
import { loadSimdKernels } from '../src/lib/engine/runtime/simd/simd-kernels';
import { disposeOptimizer, trainStep } from '../src/lib/engine/train/trainer';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

const batch = option('batch', 64);
const steps = option('steps', 10);
const threads = option('threads', 0);
const TOP_KERNELS = 20;

async function main(): Promise<void> {
  if (threads > 0) await loadSimdKernels(threads);
  const info = await initBackend('wasm');
  console.log(`wasm: ${info.threads} thread(s), SIMD ${info.simd}; Conv-2 at batch ${batch}`);
  const model = createModel('conv-2', 1, 10, 1);
  const optimizer = tf.train.adam(2e-4);
  const x = tf.randomNormal([batch, 32, 32, 3]) as tf.Tensor4D;
  const y = tf.tensor1d(
    Array.from({ length: batch }, (_, i) => i % 10),
    'int32',
  );
  const variables = model.trainableVariables;
  const step = (): void =>
    trainStep({ model, optimizer, batch: { x, y }, numClasses: 10, weightDecay: 0, masks: null, variables, iteration: 0 }).dispose();

  step(); // warm-up: kernels compile, Adam creates its moments
  const start = performance.now();
  for (let i = 0; i < steps; i++) step();
  const ms = (performance.now() - start) / steps;
  console.log(`step ${ms.toFixed(0)} ms = ${((batch * 1000) / ms).toFixed(1)} img/s (mean of ${steps})`);

  const profile = await tf.profile(step);
  const byKernel = new Map<string, { ms: number; calls: number }>();
  let total = 0;
  for (const kernel of profile.kernels) {
    const time = Number(kernel.kernelTimeMs);
    total += time;
    const key = `${kernel.name} ${JSON.stringify(kernel.inputShapes)}`;
    const entry = byKernel.get(key) ?? { ms: 0, calls: 0 };
    entry.ms += time;
    entry.calls += 1;
    byKernel.set(key, entry);
  }
  console.log(`profiled step: ${total.toFixed(0)} ms in kernels`);
  for (const [key, { ms: kernelMs, calls }] of [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, TOP_KERNELS)) {
    console.log(`${kernelMs.toFixed(1).padStart(8)} ms ${((100 * kernelMs) / total).toFixed(1).padStart(5)}%  ${key} x${calls}`);
  }
  model.dispose();
  disposeOptimizer(optimizer);
  tf.dispose([x, y]);
}

await main();
