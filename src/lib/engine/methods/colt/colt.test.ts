import { classRange } from '../../data/task';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, totalIterations } from '../../config';
import { loadDataset } from '../../data/dataset';
import { runExperiment } from '../../experiment';
import { MaskSet } from '../../masks/mask';
import { loadMasks } from '../../io/saved';
import { disposeState } from '../../models/model';
import { createModel } from '../../models/registry';
import { Rng, subSeed } from '../../rng';
import { initBackend } from '../../runtime/backend';
import { resultsOf, type EngineEvent, type RoundResult } from '../../results';
import { train } from '../../train/trainer';
import {
  classSegments,
  coltPruneStep,
  coltPrunedLayers,
  coltPruningRounds,
  layerOverlap,
  segmentInitialState,
} from './index';

beforeAll(async () => {
  await initBackend('wasm');
});

function maskOf(bits: number[][]): MaskSet {
  return new MaskSet(new Map(bits.map((keep, i) => [`l${i}`, { name: `l${i}`, shape: [keep.length], keep: Uint8Array.from(keep) }])));
}

function randomWeights(masks: MaskSet, seed: number): Map<string, Float32Array> {
  const rng = new Rng(seed);
  return new Map([...masks.layers.values()].map((m) => [m.name, Float32Array.from(m.keep, () => rng.normal())]));
}

describe('class segments', () => {
  it('splits CIFAR-10 into 0-4 and 5-9, and refuses uneven splits', () => {
    expect(classSegments(10, 2)).toEqual([
      { from: 0, to: 5 },
      { from: 5, to: 10 },
    ]);
    expect(classSegments(100, 4).map((s) => s.to - s.from)).toEqual([25, 25, 25, 25]);
    expect(() => classSegments(10, 3)).toThrow(/divide the 10 classes/);
  });

  it('relabels each segment to 0..C/K-1 with only its own classes', async () => {
    const config = parseConfig({ data: { syntheticTrain: 200, syntheticTest: 50, validation: 0 } });
    const dataset = await loadDataset(config.data, 1, null);
    try {
      const labels = await dataset.train.y.array();
      for (const { from, to } of classSegments(10, 2)) {
        const subset = dataset.classSubset(classRange(from, to));
        try {
          expect(subset.numClasses).toBe(5);
          const subsetLabels = await subset.train.y.array();
          expect(subsetLabels).toEqual(labels.filter((l) => l >= from && l < to).map((l) => l - from));
        } finally {
          subset.dispose();
        }
      }
    } finally {
      dataset.dispose();
    }
  });
});

describe('COLT prune step', () => {
  const survivors = maskOf([
    Array.from({ length: 400 }, (_, i) => (i % 7 === 0 ? 0 : 1)),
    Array.from({ length: 120 }, () => 1),
  ]);
  const weights = [randomWeights(survivors, 1), randomWeights(survivors, 2)];
  const step = coltPruneStep(survivors, weights, 0.15);

  it('keeps exactly the weights every model keeps (AND)', () => {
    for (const m of step.mask.layers.values()) {
      const [a, b] = step.proposals.map((p) => p.get(m.name).keep);
      expect([...m.keep]).toEqual([...a].map((bit, i) => bit & b[i]));
    }
  });

  it('removes at least the rate of the surviving weights, more when the models disagree', () => {
    const before = survivors.counts().reduce((n, l) => n + l.remaining, 0);
    const after = step.mask.counts().reduce((n, l) => n + l.remaining, 0);
    for (const proposal of step.proposals) {
      expect(proposal.counts().reduce((n, l) => n + l.remaining, 0)).toBe(before - Math.round(0.15 * before));
    }
    expect(1 - after / before).toBeGreaterThanOrEqual(0.15);
    expect(1 - after / before).toBeGreaterThan(0.2);
  });

  it('never brings back a pruned weight', () => {
    for (const m of step.mask.layers.values()) {
      const keep = survivors.get(m.name).keep;
      m.keep.forEach((bit, i) => expect(bit <= keep[i]).toBe(true));
    }
  });

  it('counts per-layer overlap on hand-made masks', () => {
    const before = maskOf([[1, 1, 1, 1, 0, 1], [1, 1]]);
    const a = maskOf([[1, 0, 1, 1, 0, 0], [1, 1]]);
    const b = maskOf([[1, 1, 0, 1, 0, 0], [0, 1]]);
    expect(layerOverlap(before, [a, b], MaskSet.intersect([a, b]))).toEqual([
      { name: 'l0', weights: 6, survivors: 5, kept: [3, 3], keptByAll: 2, keptByAny: 4 },
      { name: 'l1', weights: 2, survivors: 2, kept: [2, 1], keptByAll: 1, keptByAny: 2 },
    ]);
  });
});

describe('segment heads', () => {
  it('are the full head column slices, and every shared layer is θ0', async () => {
    const full = createModel('conv-2', 0.0625, 10, 7);
    const state = full.snapshot();
    const output = full.prunable.find((l) => l.type === 'output')!.name;
    try {
      const kernel = (await state.get(`${output}/kernel`)!.array()) as number[][];
      for (const segment of classSegments(10, 2)) {
        const init = segmentInitialState(state, output, segment);
        try {
          const head = (await init.get(`${output}/kernel`)!.array()) as number[][];
          expect(head).toEqual(kernel.map((row) => row.slice(segment.from, segment.to)));
          expect(init.get(`${output}/bias`)!.shape).toEqual([5]);
          for (const [name, value] of state) {
            if (name.startsWith(`${output}/`)) continue;
            expect(await init.get(name)!.data()).toEqual(await value.data());
          }
        } finally {
          disposeState(init);
        }
      }
    } finally {
      disposeState(state);
      full.dispose();
    }
  });

  it('prune conv only unless pruneDense, never the output', () => {
    const model = createModel('conv-2', 0.0625, 10, 1);
    try {
      expect(coltPrunedLayers(model.prunable, false).map((l) => l.name)).toEqual(['conv_1', 'conv_2']);
      expect(coltPrunedLayers(model.prunable, true).map((l) => l.name)).toEqual(['conv_1', 'conv_2', 'dense_1', 'dense_2']);
    } finally {
      model.dispose();
    }
  });
});

it('plans the rounds IMP needs to reach the target, capped by prune.rounds', () => {
  expect(coltPruningRounds(parseConfig({ prune: { rounds: 30 }, colt: { targetSparsity: 0.9 } }))).toBe(15);
  expect(coltPruningRounds(parseConfig({ prune: { rounds: 4 }, colt: { targetSparsity: 0.9 } }))).toBe(4);
  expect(coltPruningRounds(parseConfig({ prune: { rounds: 4 } }))).toBe(4);
});

describe('end to end on the synthetic set', () => {
  it('runs COLT and its IMP comparison, reports the colt key, and frees every tensor', async () => {
    const before = tf.memory().numTensors;
    const events: EngineEvent[] = [];
    const results = await runExperiment(
      {
        method: 'colt',
        data: { syntheticTrain: 300, syntheticTest: 100, validation: 50 },
        model: { arch: 'conv-2', width: 0.0625 },
        train: { lr: 0.003, batchSize: 30, iterations: 6, evalEvery: 3 },
        prune: { rounds: 2 },
        colt: { segments: 2 },
      },
      { files: null, emit: (e) => events.push(e) },
    );
    expect(tf.memory().numTensors).toBe(before);

    const colt = resultsOf(results, 'colt').colt;
    expect(colt.segments).toEqual([
      [0, 1, 2, 3, 4],
      [5, 6, 7, 8, 9],
    ]);
    expect(colt.rounds.map((r) => r.round)).toEqual([0, 1, 2]);
    expect(results.rounds).toHaveLength(3);
    expect(colt.rounds[0].sparsity).toBe(0);
    expect(colt.rounds[1].sparsity).toBeGreaterThanOrEqual(0.15 - 1e-3);
    expect(colt.rounds[2].perModel.map((m) => m.segment[0])).toEqual([0, 5]);
    // The full-network evaluation is the intersected mask on conv: the contract's sparsity counts every kernel.
    const conv = results.rounds[2].layers.filter((l) => l.name.startsWith('conv_'));
    const keptByAll = colt.rounds[1].overlap.map((o) => o.keptByAll);
    expect(conv.map((l) => l.remaining)).toEqual(keptByAll);
    expect(colt.imp!.rounds).toHaveLength(3);
    expect(colt.imp!.matched).toHaveLength(3);

    const roundSeries = new Set(events.flatMap((e) => (e.type === 'round' ? [e.series] : [])));
    expect([...roundSeries].sort()).toEqual(['colt', 'colt-segment-0-4', 'colt-segment-5-9', 'imp']);
    const views = events.flatMap((e) => (e.type === 'view' ? [e.view] : []));
    expect(views).toContain('colt-overlap');
    expect(views).toContain('rounds-to-sparsity');
    const lastSparsityView = events.filter((e) => e.type === 'view' && e.view === 'rounds-to-sparsity').at(-1) as {
      data: { series: { colt: unknown[]; imp: unknown[] } };
    };
    expect(lastSparsityView.data.series.colt).toHaveLength(3);
    expect(lastSparsityView.data.series.imp).toHaveLength(3);
  }, 60_000);
});

describe('COLT rounds', () => {
  const config = parseConfig({
    method: 'colt',
    seed: 4,
    data: { syntheticTrain: 300, syntheticTest: 100, validation: 50 },
    model: { arch: 'conv-2', width: 0.0625 },
    train: { lr: 0.003, batchSize: 30, iterations: 6, evalEvery: 3 },
    prune: { rounds: 2 },
    colt: { compareWithImp: false },
  });

  it('retrain every segment model from θ0 each round, under that round\'s mask', async () => {
    const events: EngineEvent[] = [];
    await runExperiment(config, { files: null, emit: (e) => events.push(e) });
    const checkpoints = events.flatMap((e) => (e.type === 'checkpoint' ? [e.checkpoint] : []));
    const dataset = await loadDataset(config.data, config.seed, null);
    const full = createModel(config.model.arch, config.model.width, 10, subSeed(config.seed, 'init'));
    const theta0 = full.snapshot();
    const output = full.prunable.find((l) => l.type === 'output')!.name;
    try {
      for (const round of [1, 2]) {
        // The checkpoint after round r - 1 holds round r's mask.
        const masks = loadMasks(checkpoints[round - 1].masks);
        for (const segment of classSegments(10, 2)) {
          const series = `colt-segment-${segment.from}-${segment.to - 1}`;
          const data = dataset.classSubset(classRange(segment.from, segment.to));
          const model = createModel(config.model.arch, config.model.width, 5, 1);
          const init = segmentInitialState(theta0, output, segment);
          try {
            model.restore(init);
            const fromTheta0 = await train({
              model,
              dataset: data,
              train: config.train,
              dataSeed: subSeed(config.seed, `${series}-data-${round}`),
              to: totalIterations(config.train, data.train.size),
              masks,
            });
            const ran = events.find((e) => e.type === 'round' && e.series === series && e.result.round === round) as { result: RoundResult };
            expect(ran.result.curve.map((p) => p.testLoss), `${series} round ${round}`).toEqual(fromTheta0.evals.map((p) => p.test.loss));
          } finally {
            model.dispose();
            disposeState(init);
            data.dispose();
          }
        }
      }
    } finally {
      full.dispose();
      disposeState(theta0);
      dataset.dispose();
    }
  }, 120_000);

  it('give one "% remaining" in live progress and in round results: every prunable kernel counts', async () => {
    const events: EngineEvent[] = [];
    await runExperiment(config, { files: null, emit: (e) => events.push(e) });
    const rounds = events.flatMap((e) => (e.type === 'round' ? [e] : []));
    expect(rounds.filter((r) => r.series === 'colt' && r.result.sparsity > 0)).toHaveLength(2);
    for (const { series, result } of rounds) {
      const evals = events.filter((e) => e.type === 'eval' && e.series === series && e.round === result.round) as { sparsity: number }[];
      expect(evals.length).toBeGreaterThan(0);
      for (const e of evals) expect(e.sparsity, `${series} round ${result.round}`).toBeCloseTo(result.sparsity, 12);
    }
  }, 120_000);

  it('a class segment whose validation hold-out drew none of its classes reports no early stop, not NaN', async () => {
    // One held-out image: one segment has it, the other has no validation split at all.
    const oneHeldOut = { ...config, data: { ...config.data, validation: 1 }, prune: { rounds: 1 } };
    const dataset = await loadDataset(oneHeldOut.data, oneHeldOut.seed, null);
    const heldOutClass = (await dataset.validation!.y.data())[0];
    dataset.dispose();
    const events: EngineEvent[] = [];
    await runExperiment(oneHeldOut, { files: null, emit: (e) => events.push(e) });
    const segmentRounds = events.flatMap((e) => (e.type === 'round' && e.series.startsWith('colt-segment-') ? [e] : []));
    expect(segmentRounds).toHaveLength(4);
    for (const { series, result } of segmentRounds) {
      const [from, last] = series.replace('colt-segment-', '').split('-').map(Number);
      const hasValidation = heldOutClass >= from && heldOutClass <= last;
      expect(result.curve.every((p) => (p.validationLoss === null) === !hasValidation)).toBe(true);
      expect(result.earlyStopIteration === null, series).toBe(!hasValidation);
      expect(Number.isNaN(result.testAccuracyAtEarlyStop)).toBe(false);
    }
  }, 120_000);
});
