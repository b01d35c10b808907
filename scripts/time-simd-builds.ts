/**
 * Times our SIMD kernels' matrix-product work in both builds of kernels.c,
 * plain SIMD and relaxed SIMD (f32x4.relaxed_madd), on one thread, in CPU
 * time (best of `--rounds`, which reads through load from other jobs): the
 * forward convolution and its filter gradient at Conv-4 ×0.25's layer shapes
 * (batch 64; the operand copies into and out of the module included), and
 * a product small enough to stay in L1, which shows the 4×8 block's own
 * rate. Whether relaxed_madd fuses, and whether fusing is faster, depends
 * on the CPU; this says which on the machine it runs on.
 *
 *   npx tsx scripts/time-simd-builds.ts [--rounds 7]
 *
 * Prints; asserts nothing.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { createSimdKernels, relaxedSimdAvailable, type SimdKernels } from '../src/lib/engine/runtime/simd/simd-kernels';

const at = process.argv.indexOf('--rounds');
const rounds = at >= 0 ? Number(process.argv[at + 1]) : 7;
if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds takes a whole number of 1 or more');

/** Best CPU ms (user + sys) of `rounds` runs of `body` for each build, the builds taking turns. */
function bestCpuMs(builds: SimdKernels[], body: (kernels: SimdKernels) => tf.TensorInfo, backend: BackendWasm, repeats = 1): number[] {
  const best = builds.map(() => Infinity);
  for (let round = 0; round < rounds; round++) {
    builds.forEach((kernels, i) => {
      const start = process.cpuUsage();
      for (let r = 0; r < repeats; r++) backend.disposeData(body(kernels).dataId);
      const used = process.cpuUsage(start);
      best[i] = Math.min(best[i]!, (used.user + used.system) / 1000 / repeats);
    });
  }
  return best;
}

async function main(): Promise<void> {
  await tf.setBackend('wasm');
  const backend = tf.backend() as BackendWasm;
  const relaxed = await relaxedSimdAvailable();
  const names = relaxed ? ['plain', 'relaxed'] : ['plain'];
  if (!relaxed) console.log('this engine has no relaxed SIMD: the plain build only');
  // A threshold no call reaches: everything on the calling thread.
  const builds = await Promise.all(names.map((build) => createSimdKernels(1, Infinity, build as 'plain' | 'relaxed')));
  const report = (what: string, flop: number, ms: number[]): void => {
    const columns = ms.map((m, i) => `${names[i]} ${m.toFixed(2)} ms (${(flop / m / 1e6).toFixed(1)} GFLOP/s)`);
    console.log(`${what.padEnd(44)} ${columns.join('   ')}`);
  };

  const [m, k, n] = [64, 256, 64];
  const a = tf.randomNormal([m, k], 0, 1, 'float32', 1);
  const b = tf.randomNormal([k, n], 0, 1, 'float32', 2);
  report(`product ${m}x${k} . ${k}x${n} (in L1), x20`, 2 * m * k * n, bestCpuMs(builds, (kernels) => kernels.matMul(backend, a, b, m, k, n, [m, n]), backend, 20));
  tf.dispose([a, b]);

  const layers: Array<[number, number, number]> = [[32, 3, 16], [32, 16, 16], [16, 16, 32], [16, 32, 32]];
  for (const [size, inputs, outputs] of layers) {
    const x = tf.randomNormal([64, size, size, inputs], 0, 1, 'float32', 3);
    const filter = tf.randomNormal([3, 3, inputs, outputs], 0, 1, 'float32', 4);
    const dy = tf.randomNormal([64, size, size, outputs], 0, 1, 'float32', 5);
    const info = tf.backend_util.computeConv2DInfo([64, size, size, inputs], [3, 3, inputs, outputs], 1, 1, 'same');
    const flop = 2 * 64 * size * size * 9 * inputs * outputs;
    const shape = `${size}x${size}x${inputs} -> ${outputs}`;
    report(`conv ${shape}`, flop, bestCpuMs(builds, (kernels) => kernels.conv2d(backend, x, filter, info), backend));
    report(`filter gradient ${shape}`, flop, bestCpuMs(builds, (kernels) => kernels.conv2dBackpropFilter(backend, x, dy, info), backend));
    tf.dispose([x, filter, dy]);
  }
}

await main();
