import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, totalIterations } from '../../config';
import { runExperiment } from '../../experiment';
import { MaskSet } from '../../masks/mask';
import { createModel } from '../../models/registry';
import { resultsOf, type EngineEvent } from '../../results';
import { initBackend } from '../../runtime/backend';
import { fanIn, keptCount } from '../../train/score-masks';
import { initialiseFrozenWeights, maskChange } from './index';

beforeAll(async () => {
  await initBackend('wasm');
});

const tiny = {
  method: 'edgepopup',
  data: { syntheticTrain: 120, syntheticTest: 60, validation: 20 },
  model: { arch: 'conv-2', width: 0.0625 },
  train: { batchSize: 25, epochs: 3, evalEvery: 4 },
};

describe('edge-popup config', () => {
  it('refuses k outside (0, 1] with a message saying what k is', () => {
    for (const k of [0, -0.2, 1.5]) {
      expect(() => parseConfig({ method: 'edgepopup', edgepopup: { k } })).toThrow(/edgepopup\.k: k is the fraction of weights kept in every layer: it must be above 0 and at most 1/);
    }
    expect(() => parseConfig({ method: 'edgepopup', edgepopup: { sweep: [0.3, 0] } })).toThrow(/edgepopup\.sweep\.1: k is the fraction/);
    expect(parseConfig({ method: 'edgepopup', edgepopup: { k: 1 } }).edgepopup.k).toBe(1);
  });

  it('defaults to the reference: k 0.5, signed constant weights, SGD 0.1 / 0.9 / 1e-4 on the scores', () => {
    const { edgepopup } = parseConfig({ method: 'edgepopup' });
    expect(edgepopup).toMatchObject({ k: 0.5, sweep: [], weightInit: 'signed-constant', lr: 0.1, momentum: 0.9, weightDecay: 1e-4 });
  });
});

describe('frozen random weights', () => {
  it('are ±√(2/fan-in) with both signs (signed constant) or spread with that std (Kaiming normal)', async () => {
    const model = createModel('conv-2', 0.125, 10, 1);
    initialiseFrozenWeights(model, 'signed-constant', 5);
    for (const layer of model.prunable) {
      const std = Math.fround(Math.sqrt(2 / fanIn(layer)));
      const values = await model.kernel(layer.name).data();
      const positive = values.filter((x) => x === std).length;
      expect(positive + values.filter((x) => x === -std).length, layer.name).toBe(layer.size);
      expect(positive / layer.size).toBeGreaterThan(0.4);
      expect(positive / layer.size).toBeLessThan(0.6);
    }
    initialiseFrozenWeights(model, 'kaiming-normal', 5);
    const dense1 = model.prunable.find((l) => l.name === 'dense_1')!;
    const values = await model.kernel('dense_1').data();
    const variance = Array.from(values).reduce((s, x) => s + x * x, 0) / values.length;
    expect(variance / (2 / fanIn(dense1))).toBeCloseTo(1, 1);
    model.dispose();
  });
});

describe('maskChange', () => {
  it('is the share of keep-bits that differ', () => {
    const of = (bits: number[]) => new MaskSet(new Map([['a', { name: 'a', shape: [bits.length], keep: Uint8Array.from(bits) }]]));
    expect(maskChange(of([1, 0, 1, 0]), of([1, 1, 0, 0]))).toBe(0.5);
    expect(maskChange(of([1, 0]), of([1, 0]))).toBe(0);
  });
});

describe('an edge-popup run', () => {
  it('searches every k on frozen weights, keeps exactly k per layer, and reports the contract keys', async () => {
    const events: EngineEvent[] = [];
    const results = resultsOf(
      await runExperiment({ ...tiny, edgepopup: { k: 0.5, sweep: [1] } }, { files: null, emit: (e) => events.push(e) }),
      'edgepopup',
    );
    const { edgepopup, rounds } = results;
    expect(edgepopup.k).toBe(0.5);
    expect(edgepopup.weightsUnchanged).toBe(true);
    expect(edgepopup.searches.map((s) => s.k)).toEqual([0.5, 1]);
    expect(edgepopup.searches.every((s) => s.weightsUnchanged)).toBe(true);
    expect(rounds).toHaveLength(2);
    expect(rounds[0].testAccuracy).toBe(edgepopup.searches[0].testAccuracy);
    // Signed constants are never 0, so the measured zeros are exactly the pruned weights.
    for (const layer of rounds[0].layers) expect(layer.remaining, layer.name).toBe(keptCount(layer.weights, 0.5));
    for (const layer of rounds[1].layers) expect(layer.remaining, layer.name).toBe(layer.weights);
    // 3 epochs: a share of flipped bits per epoch, some flips at k = 0.5 and none possible at k = 1.
    expect(edgepopup.maskChangePerEpoch).toHaveLength(3);
    expect(edgepopup.maskChangePerEpoch[0]).toBeGreaterThan(0);
    expect(edgepopup.searches[1].maskChangePerEpoch).toEqual([0, 0, 0]);
    expect(edgepopup.dense).toBeGreaterThan(0);
    const view = events.filter((e) => e.type === 'view' && e.view === 'accuracy-vs-k').at(-1);
    expect(view && view.type === 'view' && (view.data as { points: unknown[]; dense: number | null })).toMatchObject({ dense: edgepopup.dense });
    expect(events.some((e) => e.type === 'view' && e.view === 'mask-change')).toBe(true);
    const checkpoint = events.filter((e) => e.type === 'checkpoint').at(-1);
    const ticket = checkpoint?.type === 'checkpoint' ? checkpoint.checkpoint.ticket : null;
    expect(ticket?.sparsity).toBeCloseTo(0.5, 1);
    // The ticket carries the scores it was searched with, one per weight.
    expect(Object.keys(ticket?.scores ?? {})).toEqual(rounds[0].layers.map((l) => l.name));
    expect(ticket!.scores!.conv_1.shape).toEqual(ticket!.masks.conv_1.shape);
    expect(tf.memory().numTensors).toBeLessThan(50);
  });
});

describe('the transfer test', () => {
  const transferConfig = (transfer: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    ...tiny,
    ...extra,
    edgepopup: { k: 0.5, denseBaseline: false, transfer },
  });

  it('refuses overlapping tasks, a class the data lacks, and data.classes beside it, before training', async () => {
    await expect(runExperiment(transferConfig({ source: [0, 1, 2], target: [2, 3] }), { files: null })).rejects.toThrow(
      /edgepopup\.transfer\.source and edgepopup\.transfer\.target both hold class 2/,
    );
    await expect(runExperiment(transferConfig({ source: [0, 1], target: [8, 12] }), { files: null })).rejects.toThrow(/edgepopup\.transfer\.target: class 12 is not in synthetic/);
    await expect(runExperiment(transferConfig({ source: [0, 1], target: [2, 3] }, { data: { ...tiny.data, classes: [0, 1, 2, 3] } }), { files: null })).rejects.toThrow(
      /data\.classes: leave it unset with edgepopup\.transfer/,
    );
    expect(() => parseConfig(transferConfig({ source: [0], target: [2, 3] }))).toThrow(/edgepopup\.transfer\.source: a task needs at least 2 classes/);
  });

  it('runs the five arms on the target task with frozen features where they should be, and gives a verdict', async () => {
    const events: EngineEvent[] = [];
    const results = resultsOf(
      await runExperiment(transferConfig({ source: [0, 1, 2, 3, 4], target: [5, 6, 7, 8, 9] }), { files: null, emit: (e) => events.push(e) }),
      'edgepopup',
    );
    const { transfer } = results;
    expect(transfer?.source).toEqual([0, 1, 2, 3, 4]);
    expect(transfer?.target).toEqual([5, 6, 7, 8, 9]);
    expect(Object.keys(transfer!.arms).sort()).toEqual(['denseOnTarget', 'denseRandomHead', 'randomMaskHead', 'searchedOnTarget', 'ticketHead']);
    for (const accuracy of Object.values(transfer!.arms)) expect(accuracy).toBeGreaterThanOrEqual(0);
    const rounds = new Map(events.flatMap((e) => (e.type === 'round' ? [[e.series, e.result] as const] : [])));
    const hidden = (series: string) => rounds.get(series)!.layers.filter((l) => l.name !== 'dense_3');
    // The ticket's and the random mask's features stay masked at k per layer (head-only training left them), the dense ones stay dense.
    for (const series of ['ticketHead', 'randomMaskHead', 'searchedOnTarget']) {
      for (const layer of hidden(series)) expect(layer.remaining, `${series} ${layer.name}`).toBe(keptCount(layer.weights, 0.5));
    }
    for (const layer of hidden('denseRandomHead')) expect(layer.remaining).toBe(layer.weights);
    // The searches ran on the 5 source classes: the ticket's head has 5 outputs.
    expect(rounds.get('ticket')!.layers.find((l) => l.name === 'dense_3')!.weights).toBe(rounds.get('ticketHead')!.layers.find((l) => l.name === 'dense_3')!.weights);
    expect(transfer!.arms.ticketHead).toBe(rounds.get('ticketHead')!.testAccuracy);
    // train.epochs count epochs of the task (about half the images), the same budget for every arm.
    const epochsOfAll = totalIterations(parseConfig(tiny).train, results.dataset.train);
    for (const series of ['ticket', 'ticketHead', 'randomMaskHead', 'denseRandomHead', 'searchedOnTarget', 'denseOnTarget']) {
      expect(rounds.get(series)!.iterations, series).toBeLessThan(epochsOfAll);
    }
    const view = events.filter((e) => e.type === 'view' && e.view === 'transfer').at(-1);
    expect(view?.type === 'view' && (view.data as { verdict: unknown }).verdict).toEqual(transfer);
  });
});
