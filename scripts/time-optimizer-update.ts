/**
 * What one optimiser update costs on wasm: times `applyGradients` of tfjs's
 * own Adam and of the lab's (fused-optimizers.ts), and of momentum SGD
 * (tfjs's, which the lab uses), in turns, on one network's variables with fixed gradients, and prints the
 * CPU milliseconds (user + system, all threads) per update, which read
 * through load from other jobs better than wall time.
 *
 *   npx tsx scripts/time-optimizer-update.ts [--arch conv-4] [--width 0.25] [--rounds 5] [--updates 50]
 *
 * Prints; asserts nothing.
 */
import * as tf from '@tensorflow/tfjs';
import { ARCHS, type ArchName } from '../src/lib/engine/config';
import { createModel } from '../src/lib/engine/models/registry';
import { initBackend } from '../src/lib/engine/runtime/backend';
import { FusedAdamOptimizer } from '../src/lib/engine/runtime/fused-optimizers';
import { disposeOptimizer } from '../src/lib/engine/train/trainer';

function text(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? (process.argv[at + 1] ?? fallback) : fallback;
}

function count(name: string, fallback: number): number {
  const value = Number(text(name, String(fallback)));
  if (!(value > 0)) throw new Error(`--${name} takes a positive number`);
  return value;
}

const arch = text('arch', 'conv-4');
if (!(ARCHS as readonly string[]).includes(arch)) throw new Error(`--arch takes one of ${ARCHS.join(', ')}`);
const width = count('width', 0.25);
const rounds = count('rounds', 5);
const updates = count('updates', 50);

const info = await initBackend('wasm');
const model = createModel(arch as ArchName, width, 10, 1);
const variables = model.trainableVariables;
console.log(
  `wasm (SIMD ${info.simd}); ${arch} w${width}: ${variables.length} variables, ${variables.reduce((n, v) => n + v.size, 0)} values; ` +
    `CPU ms per update, ${rounds} rounds of ${updates}`,
);
const grads: tf.NamedTensorMap = Object.fromEntries(variables.map((v) => [v.name, tf.randomNormal(v.shape, 0, 0.01, 'float32', 1)]));
const optimizers: Array<[string, tf.Optimizer]> = [
  ['tfjs Adam', tf.train.adam(2e-4)],
  ['lab Adam', new FusedAdamOptimizer(2e-4)],
  ['momentum', tf.train.momentum(0.01, 0.9)],
];
const cpuMs = new Map<string, number[]>();
for (let round = 0; round < rounds; round++) {
  for (const [name, optimizer] of optimizers) {
    optimizer.applyGradients(grads); // the first update creates the slots
    const start = process.cpuUsage();
    for (let i = 0; i < updates; i++) optimizer.applyGradients(grads);
    const used = process.cpuUsage(start);
    cpuMs.set(name, [...(cpuMs.get(name) ?? []), (used.user + used.system) / 1000 / updates]);
  }
}
for (const [name, ms] of cpuMs) {
  const median = [...ms].sort((a, b) => a - b)[ms.length >> 1]!;
  console.log(`${name.padEnd(14)} median ${median.toFixed(2)} ms  (rounds: ${ms.map((m) => m.toFixed(2)).join(' ')})`);
}
for (const [, optimizer] of optimizers) disposeOptimizer(optimizer);
tf.dispose(Object.values(grads));
model.dispose();
