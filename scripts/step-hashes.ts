/**
 * Seeded training on wasm in Node that writes a hash of every parameter and
 * BatchNorm running statistic before each step (the weights that step's
 * forward pass reads) and after the last, one line per step. Two runs that
 * should repeat each other give the same file; where they do not, `diff`
 * names the first step at which they part.
 *
 *   npx tsx scripts/step-hashes.ts --out a.txt [--threads N] [--shared-min N]
 *       [--arch conv-4] [--width 0.25] [--optimizer adam|sgd] [--batch 60]
 *       [--iterations 300] [--data-dir ../shared/data/cifar10] [--images 3000]
 *
 * `--threads` sets how many threads our SIMD kernels share large calls
 * among (default: every core, as the engine does in Node); `--shared-min`
 * lowers the multiply-adds from which a call is shared (0 shares every
 * call). Without `--data-dir` it trains on the built-in synthetic set.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { ARCHS, parseConfig, type ArchName } from '../src/lib/engine/config';
import { loadDataset } from '../src/lib/engine/data/dataset';
import { nodeFileSource } from '../src/lib/engine/data/node-files';
import type { Model } from '../src/lib/engine/models/model';
import { createModel } from '../src/lib/engine/models/registry';
import { initBackend } from '../src/lib/engine/runtime/backend';
import { loadSimdKernels, simdKernels, THREADED_MIN_MULTIPLY_ADDS } from '../src/lib/engine/runtime/simd/simd-kernels';
import { train } from '../src/lib/engine/train/trainer';

function text(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? (process.argv[at + 1] ?? fallback) : fallback;
}

function count(name: string, fallback: number): number {
  const value = Number(text(name, String(fallback)));
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} takes a whole number of 0 or more`);
  return value;
}

const arch = text('arch', 'conv-4') as ArchName;
if (!(ARCHS as readonly string[]).includes(arch)) throw new Error(`--arch takes one of ${ARCHS.join(', ')}`);
const optimizer = text('optimizer', 'adam');
if (optimizer !== 'adam' && optimizer !== 'sgd') throw new Error('--optimizer takes adam or sgd');
const out = text('out', '');
if (out === '') throw new Error('--out <file> is needed');
const dataDir = text('data-dir', '');
const images = count('images', 3000);

/** Hex digest of every parameter's and BatchNorm running statistic's bytes, in the model's order. */
function weightsHash(model: Model): string {
  const hash = createHash('sha256');
  for (const [name, variable] of [...model.params, ...model.buffers]) {
    const values = variable.dataSync() as Float32Array;
    hash.update(name).update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }
  return hash.digest('hex').slice(0, 16);
}

async function main(): Promise<void> {
  const threads = count('threads', 0);
  if (threads > 0) await loadSimdKernels(threads, count('shared-min', THREADED_MIN_MULTIPLY_ADDS));
  await initBackend('wasm');
  const data = dataDir
    ? { source: 'cifar10', dir: dataDir, train: ['data_batch_1.bin'], test: 'test_batch.bin', trainLimit: images, testLimit: 500, validation: 0 }
    : { syntheticTrain: images, syntheticTest: 500, validation: 0 };
  const iterations = count('iterations', 300);
  const config = parseConfig({
    data,
    model: { arch, width: Number(text('width', '0.25')) },
    train: { optimizer, lr: optimizer === 'adam' ? 0.001 : 0.05, momentum: 0.9, batchSize: count('batch', 60), iterations, evalEvery: 100 },
  });
  const dataset = await loadDataset(config.data, 1, dataDir ? nodeFileSource(dataDir) : null);
  const model = createModel(arch, config.model.width, dataset.numClasses, 7);
  console.log(`wasm, our SIMD kernels on ${simdKernels()?.threadCount ?? 0} thread(s); ${arch} x${config.model.width}, ${optimizer}, ${iterations} steps`);
  const lines: string[] = [];
  await train({
    model,
    dataset,
    train: config.train,
    dataSeed: 3,
    to: iterations,
    gradientHook: (_grads, iteration) => void lines.push(`${iteration} ${weightsHash(model)}`),
    onEval: (point) => console.log(`it ${point.iteration}: train loss ${point.trainLoss}, test ${point.test.accuracy}`),
  });
  lines.push(`end ${weightsHash(model)}`);
  writeFileSync(out, lines.join('\n') + '\n');
  console.log(`wrote ${out}: ${lines.at(-1)}`);
  model.dispose();
  dataset.dispose();
}

await main();
