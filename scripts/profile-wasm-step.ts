/**
 * Where a training step's time goes on wasm: times the engine's own step
 * (`trainStep`) of one network in Node, then lists tfjs kernels by total
 * time over `--profiled` profiled steps (per step), first by kernel, then by
 * kernel and input shapes. The profiled wall time beside the kernels' sum
 * shows what the step spends outside kernels (tape, dispatch, JS).
 *
 *   npx tsx scripts/profile-wasm-step.ts [--arch conv-2] [--width 1] [--optimizer adam|sgd]
 *                                        [--batch 64] [--steps 10] [--profiled 3] [--threads N]
 *                                        [--channels 26,23,47,4]
 *
 * `--channels` gives the conv layers' output channels in order (conv_1,
 * conv_2, ...), as a slim (cut-out) network has them, instead of the
 * width-scaled counts; checked as `model.channels` in a config is.
 * `--threads` sets how many threads our SIMD kernels share large calls
 * among (default: every core, as the engine does in Node). Profiling adds
 * overhead, so the profiled total exceeds the timed step. Prints; asserts
 * nothing.
 */
import * as tf from '@tensorflow/tfjs';
import { ARCHS, parseConfig, type ArchName } from '../src/lib/engine/config';
import { createModel, type ChannelCounts } from '../src/lib/engine/models/registry';
import { initBackend } from '../src/lib/engine/runtime/backend';
import { loadSimdKernels } from '../src/lib/engine/runtime/simd/simd-kernels';
import { createOptimizer, disposeOptimizer, trainStep } from '../src/lib/engine/train/trainer';
import { mainThreadCpuMs } from './thread-cpu';

function text(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? (process.argv[at + 1] ?? fallback) : fallback;
}

function option(name: string, fallback: number): number {
  const value = Number(text(name, String(fallback)));
  if (!(value > 0) && !(name === 'threads' && value === 0)) throw new Error(`--${name} takes a positive number`);
  return value;
}

function archOption(): ArchName {
  const arch = text('arch', 'conv-2');
  if (!(ARCHS as readonly string[]).includes(arch)) throw new Error(`--arch takes one of ${ARCHS.join(', ')}`);
  return arch as ArchName;
}

function optimizerOption(): 'adam' | 'sgd' {
  const name = text('optimizer', 'adam');
  if (name !== 'adam' && name !== 'sgd') throw new Error('--optimizer takes adam or sgd');
  return name;
}

/** `--channels a,b,...` as `model.channels` ({conv_1: a, conv_2: b, ...}), checked against the arch; undefined without it. */
function channelsOption(arch: ArchName, width: number): ChannelCounts | undefined {
  const list = text('channels', '');
  if (list === '') return undefined;
  const counts = Object.fromEntries(list.split(',').map((count, i) => [`conv_${i + 1}`, Number(count)]));
  return parseConfig({ model: { arch, width, channels: counts } }).model.channels;
}

const arch = archOption();
const width = option('width', 1);
const channels = channelsOption(arch, width);
const optimizerName = optimizerOption();

const batch = option('batch', 64);
const steps = option('steps', 10);
const profiled = option('profiled', 3);
const threads = option('threads', 0);
const TOP_KERNELS = 20;

async function main(): Promise<void> {
  if (threads > 0) await loadSimdKernels(threads);
  const info = await initBackend('wasm');
  const shape = channels ? `channels ${Object.values(channels).join('-')}` : `w${width}`;
  console.log(`wasm: ${info.threads} thread(s), SIMD ${info.simd}; ${arch} ${shape}, ${optimizerName}, batch ${batch}`);
  const model = createModel(arch, width, 10, 1, channels);
  const optimizer = createOptimizer(parseConfig({ train: { optimizer: optimizerName } }).train);
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
  const cpuStart = process.cpuUsage();
  const mainStart = mainThreadCpuMs();
  for (let i = 0; i < steps; i++) step();
  const ms = (performance.now() - start) / steps;
  const cpu = process.cpuUsage(cpuStart);
  const mainEnd = mainThreadCpuMs();
  const cpuMs = (cpu.user + cpu.system) / 1000 / steps;
  // CPU time (all threads of this process) reads through load from other jobs, which stretches only the wall time.
  console.log(
    `step ${ms.toFixed(0)} ms = ${((batch * 1000) / ms).toFixed(1)} img/s; ${cpuMs.toFixed(0)} ms CPU (user+sys) = ` +
      `${((batch * 1000) / cpuMs).toFixed(1)} img per CPU-second (mean of ${steps})`,
  );
  if (mainStart != null && mainEnd != null) {
    console.log(`main thread ${((mainEnd - mainStart) / steps).toFixed(0)} ms CPU per step (the rest: helper threads, GC, compilers)`);
  }

  // Several profiled steps, summed: one step on a loaded machine is noisy.
  const byKernel = new Map<string, { ms: number; calls: number }>();
  const byName = new Map<string, { ms: number; calls: number }>();
  const add = (table: Map<string, { ms: number; calls: number }>, key: string, ms: number): void => {
    const entry = table.get(key) ?? { ms: 0, calls: 0 };
    entry.ms += ms;
    entry.calls += 1;
    table.set(key, entry);
  };
  let total = 0;
  let wall = 0;
  for (let i = 0; i < profiled; i++) {
    const started = performance.now();
    const profile = await tf.profile(step);
    wall += performance.now() - started;
    for (const kernel of profile.kernels) {
      const time = Number(kernel.kernelTimeMs);
      total += time;
      add(byKernel, `${kernel.name} ${JSON.stringify(kernel.inputShapes)}`, time);
      add(byName, kernel.name, time);
    }
  }
  const calls = [...byName.values()].reduce((sum, entry) => sum + entry.calls, 0) / profiled;
  console.log(
    `profiled step (mean of ${profiled}): ${(wall / profiled).toFixed(1)} ms wall, ${(total / profiled).toFixed(1)} ms in ${calls} kernel calls`,
  );
  const print = (table: Map<string, { ms: number; calls: number }>, rows: number): void => {
    for (const [key, entry] of [...table].sort((a, b) => b[1].ms - a[1].ms).slice(0, rows)) {
      const ms = entry.ms / profiled;
      console.log(`${ms.toFixed(2).padStart(8)} ms ${((100 * entry.ms) / total).toFixed(1).padStart(5)}%  ${key} x${entry.calls / profiled}`);
    }
  };
  console.log('by kernel:');
  print(byName, byName.size);
  console.log(`by kernel and input shapes (top ${TOP_KERNELS}):`);
  print(byKernel, TOP_KERNELS);
  model.dispose();
  disposeOptimizer(optimizer);
  tf.dispose([x, y]);
}

await main();
