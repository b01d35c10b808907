/**
 * How much faster a channel-pruned ticket trains once its channels are cut
 * out, measured so that a loaded machine cannot fake it: epochs of the full
 * network with the ticket's channels zeroed (what `earlybird.shrink: false`
 * trains) and of the cut-out network (`earlybird.shrink: true`) alternate,
 * A B B A ..., and each reports wall time and this process's CPU time
 * (user + system), so drift in the load hits both alike.
 *
 *   npx tsx experiments/shrink-speed.ts <results.json of an earlybird/worm run> [--repeats 2] [--images 2000] [--backend wasm]
 *
 * The kept channel counts per layer come from the run's `ticket.channelsKeptByLayer`
 * (which channels does not change the cost); the batches are one fixed batch
 * of random images of the run's batch size: the step's arithmetic, not data loading.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import type { BackendName, ExperimentConfig } from '../src/lib/engine/config';
import { channelKernelMasks, forwardFlops } from '../src/lib/engine/masks/channel-masks';
import { maskTensors } from '../src/lib/engine/masks/mask';
import type { Model } from '../src/lib/engine/models/model';
import { createModel } from '../src/lib/engine/models/registry';
import { keepOneInEmptied, shrinkModel } from '../src/lib/engine/models/shrink';
import { Rng } from '../src/lib/engine/rng';
import { initBackend } from '../src/lib/engine/runtime/backend';
import { createOptimizer, disposeOptimizer, trainStep } from '../src/lib/engine/train/trainer';

interface Timing {
  wall: number;
  cpu: number;
}

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
}

const resultsPath = process.argv[2];
if (!resultsPath || resultsPath.startsWith('--')) {
  console.error('usage: npx tsx experiments/shrink-speed.ts <results.json> [--repeats 2] [--images 2000] [--backend wasm]');
  process.exit(2);
}
const results = JSON.parse(readFileSync(resultsPath, 'utf8')) as { config: ExperimentConfig; ticket?: { channelsKeptByLayer?: Record<string, number> | null } };
const keptByLayer = results.ticket?.channelsKeptByLayer;
if (!keptByLayer) throw new Error(`${resultsPath} has no ticket.channelsKeptByLayer: it is not a channel-pruned EarlyBird or WORM run`);
const repeats = Number(option('repeats', '2'));
const images = Number(option('images', '2000'));
const { arch, width } = results.config.model;
const batchSize = results.config.train.batchSize;

await initBackend(option('backend', 'wasm') as BackendName);

/** One epoch of `images` images in steps of the run's batch size; returns its wall and CPU seconds. */
function epoch(model: Model, masks: Map<string, tf.Tensor> | null, optimizer: tf.Optimizer, batch: { x: tf.Tensor4D; y: tf.Tensor1D }): Timing {
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  const variables = model.trainableVariables;
  for (let step = 0; step < Math.ceil(images / batchSize); step++) {
    const loss = trainStep({ model, optimizer, batch, numClasses: model.numClasses, weightDecay: 1e-4, masks, variables, iteration: step });
    loss.dataSync(); // wait for the step, as the trainer's read-backs do
    loss.dispose();
  }
  const cpu = process.cpuUsage(cpuStart);
  return { wall: (performance.now() - wallStart) / 1000, cpu: (cpu.user + cpu.system) / 1e6 };
}

const full = createModel(arch, width, 10, 1);
// The first `kept` channels of each layer: which ones survive does not change the cost.
// A layer the ticket emptied keeps one silenced channel, as EarlyBird's retraining does.
const channelKeep = keepOneInEmptied(new Map(full.batchNorms.map((bn) => [bn.name, Uint8Array.from({ length: bn.channels }, (_, i) => (i < (keptByLayer[bn.name] ?? bn.channels) ? 1 : 0))])));
const zeroedMasks = channelKernelMasks(full, channelKeep);
const shrunk = await shrinkModel({ model: createModel(arch, width, 10, 1), channelKeep, masks: zeroedMasks });
const runs = [
  { name: 'zeroed', model: full, masks: maskTensors(zeroedMasks), optimizer: createOptimizer(results.config.train), times: [] as Timing[] },
  { name: 'cut out', model: shrunk.model, masks: maskTensors(shrunk.masks!), optimizer: createOptimizer(results.config.train), times: [] as Timing[] },
];
const rng = new Rng(1);
const batch = {
  x: tf.tensor4d(Float32Array.from({ length: batchSize * 32 * 32 * 3 }, () => rng.normal()), [batchSize, 32, 32, 3]),
  y: tf.tensor1d(Int32Array.from({ length: batchSize }, () => Math.floor(rng.next() * 10)), 'int32'),
};
console.log(`${arch} x${width}, ${tf.getBackend()}, ${images} images per epoch, batch ${batchSize}; kept ${JSON.stringify(keptByLayer)}`);
console.log(`forward FLOPs per image: full ${forwardFlops(full)}, cut out ${forwardFlops(shrunk.model)} (ratio ${(forwardFlops(shrunk.model) / forwardFlops(full)).toFixed(3)})`);
epoch(runs[0].model, runs[0].masks, runs[0].optimizer, batch); // warm-up: kernels compiled, memory allocated
epoch(runs[1].model, runs[1].masks, runs[1].optimizer, batch);
for (let r = 0; r < repeats; r++) {
  for (const run of r % 2 === 0 ? runs : [...runs].reverse()) {
    const timing = epoch(run.model, run.masks, run.optimizer, batch);
    run.times.push(timing);
    console.log(`repeat ${r + 1} ${run.name}: wall ${timing.wall.toFixed(1)} s, cpu ${timing.cpu.toFixed(1)} s`);
  }
}
const mean = (times: Timing[], key: keyof Timing) => times.reduce((s, t) => s + t[key], 0) / times.length;
const [zeroed, cut] = runs;
console.log(
  `mean per epoch: zeroed wall ${mean(zeroed.times, 'wall').toFixed(1)} s cpu ${mean(zeroed.times, 'cpu').toFixed(1)} s; ` +
    `cut out wall ${mean(cut.times, 'wall').toFixed(1)} s cpu ${mean(cut.times, 'cpu').toFixed(1)} s; ` +
    `cut/zeroed wall ${(mean(cut.times, 'wall') / mean(zeroed.times, 'wall')).toFixed(3)}, cpu ${(mean(cut.times, 'cpu') / mean(zeroed.times, 'cpu')).toFixed(3)}`,
);
for (const run of runs) {
  tf.dispose([...run.masks.values()]);
  disposeOptimizer(run.optimizer);
  run.model.dispose();
}
tf.dispose([batch.x, batch.y]);
