import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config';
import { loadDataset } from '../data/dataset';
import type { Dataset } from '../data/types';
import { runExperiment } from '../experiment';
import { MaskSet } from '../masks/mask';
import { randomMaskLike } from '../masks/prune';
import { createModel } from '../models/registry';
import { initBackend } from '../runtime/backend';
import { train } from './trainer';

let dataset: Dataset;

beforeAll(async () => {
  await initBackend('wasm');
  const config = parseConfig({ data: { syntheticTrain: 400, syntheticTest: 100, validation: 100 } });
  dataset = await loadDataset(config.data, 1, null);
});

afterAll(() => dataset.dispose());

const optimizers = [
  { name: 'Adam', train: { optimizer: 'adam', lr: 0.01 } },
  { name: 'SGD with momentum', train: { optimizer: 'sgd', lr: 0.05, momentum: 0.9 } },
  { name: 'SGD with momentum and weight decay', train: { optimizer: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 0.01 } },
  { name: 'Adam with weight decay', train: { optimizer: 'adam', lr: 0.01, weightDecay: 0.01 } },
] as const;

describe('masked training', () => {
  for (const { name, train: trainInput } of optimizers) {
    it(`keeps pruned weights exactly 0 in every forward pass under ${name}`, async () => {
      const config = parseConfig({ model: { arch: 'conv-2', width: 0.125 }, train: { ...trainInput, batchSize: 20, iterations: 6, evalEvery: 6 } });
      const model = createModel(config.model.arch, config.model.width, 10, 5);
      const masks = randomMaskLike(
        new MaskSet(new Map([...MaskSet.dense(model.prunable).layers].map(([n, m]) => [n, { ...m, keep: m.keep.map((_, i) => i % 2) }]))),
        9,
      );
      const initial = new Map(model.prunable.map((l) => [l.name, model.kernel(l.name).dataSync().slice()]));
      let stepsChecked = 0;
      await train({
        model,
        dataset,
        train: config.train,
        dataSeed: 1,
        to: 6,
        masks,
        // The hook runs right after the forward/backward pass of each step: the
        // weights it reads are the ones that forward pass used.
        gradientHook: () => {
          for (const layer of model.prunable) {
            const values = model.kernel(layer.name).dataSync();
            const keep = masks.get(layer.name).keep;
            for (let i = 0; i < keep.length; i++) if (!keep[i]) expect(Math.abs(values[i])).toBe(0); // -0 from the mask product is 0
          }
          stepsChecked++;
        },
      });
      expect(stepsChecked).toBe(6);
      for (const layer of model.prunable) {
        const values = model.kernel(layer.name).dataSync();
        const keep = masks.get(layer.name).keep;
        let changed = 0;
        for (let i = 0; i < keep.length; i++) {
          if (!keep[i]) expect(Math.abs(values[i])).toBe(0); // -0 from the mask product is 0
          else if (values[i] !== initial.get(layer.name)![i]) changed++;
        }
        expect(changed).toBeGreaterThan(0); // the kept weights did train
      }
      model.dispose();
    });
  }
});

describe('training loop', () => {
  it('records evaluations and the early-stop iteration at the minimum validation loss', async () => {
    const config = parseConfig({ model: { arch: 'lenet-300-100', width: 0.2 }, train: { lr: 0.002, batchSize: 20, iterations: 40, evalEvery: 10 } });
    const model = createModel(config.model.arch, config.model.width, 10, 5);
    const result = await train({ model, dataset, train: config.train, dataSeed: 1, to: 40 });
    expect(result.evals.map((e) => e.iteration)).toEqual([10, 20, 30, 40]);
    const best = result.evals.reduce((a, b) => (b.validation!.loss < a.validation!.loss ? b : a));
    expect(result.earlyStop!.iteration).toBe(best.iteration);
    expect(result.earlyStop!.testAccuracy).toBe(best.test.accuracy);
    expect(result.imagesPerSecond).toBeGreaterThan(0);
    model.dispose();
  });

  it('takes the rewind snapshot at the requested iteration: the weights after exactly that many steps', async () => {
    const config = parseConfig({ model: { arch: 'lenet-300-100', width: 0.1 }, train: { batchSize: 20, iterations: 10, evalEvery: 10 } });
    const model = createModel(config.model.arch, config.model.width, 10, 5);
    const snapshots: Map<string, tf.Tensor>[] = [];
    await train({ model, dataset, train: config.train, dataSeed: 1, to: 10, snapshotAt: 3, onSnapshot: (state) => snapshots.push(state) });
    expect(snapshots).toHaveLength(1);
    // The same training stopped after 3 steps: the same seed and batches give the same weights.
    const reference = createModel(config.model.arch, config.model.width, 10, 5);
    await train({ model: reference, dataset, train: config.train, dataSeed: 1, to: 3 });
    // Compared as one boolean each: a diff of 9,000 floats would take minutes to print.
    const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((v, i) => v === b[i]);
    for (const name of ['dense_1', 'dense_3']) {
      const atRewind = snapshots[0].get(`${name}/kernel`)!.dataSync();
      expect(same(atRewind, reference.kernel(name).dataSync()), `${name} at the snapshot = after 3 steps`).toBe(true);
      expect(same(atRewind, model.kernel(name).dataSync()), `${name} at the snapshot = after 10 steps`).toBe(false);
    }
    tf.dispose([...snapshots[0].values()]);
    model.dispose();
    reference.dispose();
  });
});

const tinyImp = {
  method: 'imp',
  seed: 11,
  data: { source: 'synthetic', syntheticTrain: 300, syntheticTest: 100, validation: 50 },
  model: { arch: 'conv-2', width: 0.125 },
  train: { batchSize: 25, iterations: 12, evalEvery: 6, lr: 0.002 },
  prune: { rounds: 2 },
  controls: ['randomReinit', 'randomPrune'],
};

describe('experiments', () => {
  it('are repeatable: the same seed gives the same masks and accuracies', async () => {
    const a = await runExperiment(tinyImp, { files: null });
    const b = await runExperiment(tinyImp, { files: null });
    const summary = (r: typeof a) => r.rounds.map((x) => [x.sparsity, x.layers, x.testAccuracy, x.earlyStopIteration]);
    expect(summary(b)).toEqual(summary(a));
    expect(b.controls).toEqual(
      Object.fromEntries(Object.entries(a.controls!).map(([k, rounds]) => [k, rounds.map((r) => ({ ...r, trainSeconds: expect.any(Number), imagesPerSecond: expect.any(Number) }))])),
    );
    const c = await runExperiment({ ...tinyImp, seed: 12 }, { files: null });
    expect(summary(c)).not.toEqual(summary(a));
  });

  it('leave no tensors behind after train/prune cycles', async () => {
    await runExperiment({ ...tinyImp, prune: { rounds: 1 } }, { files: null }); // warm up kernels and backend caches
    const before = tf.memory().numTensors;
    await runExperiment({ ...tinyImp, model: { arch: 'conv-4-bn', width: 0.125 } }, { files: null });
    await runExperiment({ ...tinyImp, prune: { rounds: 2, rewindIteration: 3, strategy: 'global' } }, { files: null });
    await runExperiment({ ...tinyImp, train: { ...tinyImp.train, optimizer: 'sgd', weightDecay: 1e-4 } }, { files: null });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('early stop without a validation split', () => {
  it('is null, never chosen on the test set, in the trainer and in round results', async () => {
    const config = parseConfig({
      data: { syntheticTrain: 300, syntheticTest: 100, validation: 0 },
      model: { arch: 'lenet-300-100', width: 0.1 },
      train: { lr: 0.002, batchSize: 20, iterations: 20, evalEvery: 5 },
    });
    const noValidation = await loadDataset(config.data, 1, null);
    const model = createModel(config.model.arch, config.model.width, 10, 5);
    const result = await train({ model, dataset: noValidation, train: config.train, dataSeed: 1, to: 20 });
    expect(result.evals).toHaveLength(4);
    expect(result.evals.every((e) => e.validation === null)).toBe(true);
    expect(result.earlyStop).toBeNull();
    model.dispose();
    noValidation.dispose();

    const run = await runExperiment({ ...tinyImp, data: { ...tinyImp.data, validation: 0 }, prune: { rounds: 1 } }, { files: null });
    for (const round of [...run.rounds, ...Object.values(run.controls!).flat()]) {
      expect(round.earlyStopIteration).toBeNull();
      expect(round.testAccuracyAtEarlyStop).toBeNull();
    }
  });
});
