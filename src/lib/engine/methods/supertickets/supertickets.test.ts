import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Checkpoint } from '../../checkpoint';
import { parseConfig } from '../../config';
import { runExperiment } from '../../experiment';
import { decodeTicket, encodeTicket, ticketModel } from '../../io/ticket-file';
import { forwardFlops } from '../../masks/channel-masks';
import { Model } from '../../models/model';
import { archLayers } from '../../models/registry';
import { resultsOf } from '../../results';
import { MaskSet } from '../../masks/mask';
import { seededBatch } from '../../models/test-fixtures';
import { initBackend } from '../../runtime/backend';
import { trainStep } from '../../train/trainer';
import { branchCosts, downloadPruned, referenceStep, searchHook, twoInOnePlan, twoStagePlan, uploadPruned } from './index';
import type { SuperTicketsView } from './results';
import { branchPenalties } from './schedule';

beforeAll(async () => {
  await initBackend('wasm');
});

/** Conv-4-BN x0.125 supernet with 3x3 and 5x5 branches on 8x8 images. */
function supernet(): Model {
  return new Model('conv-4-bn', archLayers('conv-4-bn', 0.125, 10, undefined, [3, 5]), [8, 8, 3], 1);
}

describe('the FLOP-weighted search', () => {
  it('adds rho(t) x the branch penalty x sign(gamma) to each branch scale gradient: a 5x5 channel is pushed 25/9 as hard as a 3x3 one', () => {
    const model = supernet();
    const costs = branchCosts(model);
    const cost = (name: string) => costs.find((c) => c.name === name)!.flopsPerChannel;
    // conv_1 sees 8x8x3 inputs; conv_2 the 8 channels of conv_1.
    expect(cost('conv_1_k3')).toBe(2 * 64 * 9 * 3);
    expect(cost('conv_1_k5')).toBe(2 * 64 * 25 * 3);
    expect(cost('conv_2_k5')).toBe(2 * 64 * 25 * 8);
    const penalties = branchPenalties(costs);
    for (const bn of model.batchNorms) bn.gamma.assign(tf.tensor1d(Float32Array.from({ length: bn.channels }, (_, i) => (i % 2 ? 0.5 : -0.5))));
    const hook = searchHook(() => ({ model, penalties }), 0.01, 10, 20);
    const zeroGrads = () => Object.fromEntries(model.batchNorms.map((bn) => [`${bn.name}/bn_gamma`, tf.zeros([bn.channels])]));
    // Half way through the warm-up: half the strength.
    const grads = zeroGrads();
    hook(grads, 5);
    const read = (name: string) => [...grads[`${name}/bn_gamma`].dataSync()];
    for (const bn of model.batchNorms) {
      const step = 0.005 * penalties.get(bn.name)!;
      expect(read(bn.name)[0]).toBeCloseTo(-step, 8);
      expect(read(bn.name)[1]).toBeCloseTo(step, 8);
    }
    expect(read('conv_1_k5')[1] / read('conv_1_k3')[1]).toBeCloseTo(25 / 9, 5);
    tf.dispose(Object.values(grads));
    // From `until` on, the search is over: nothing is added.
    const after = zeroGrads();
    hook(after, 20);
    expect(Math.max(...model.batchNorms.map((bn) => Math.abs(after[`${bn.name}/bn_gamma`].dataSync()[0])))).toBe(0);
    tf.dispose(Object.values(after));
    model.dispose();
  });
});

describe('regrow mode steps as the reference’s masked layers do', () => {
  const lr = 0.05;
  const momentum = 0.9;

  /** One dense momentum step from a fresh optimiser, then every other weight of every layer pruned at its value: the stale values and the momentum they carry. */
  function prunedAfterOneStep(model: Model, optimizer: tf.Optimizer) {
    const before = new Map(model.prunable.map((l) => [l.name, model.kernel(l.name).dataSync().slice() as Float32Array]));
    const batch = seededBatch(16, 8, 7);
    tf.dispose([trainStep({ model, optimizer, batch, numClasses: 10, weightDecay: 0, masks: null, variables: model.trainableVariables, iteration: 0 }), batch.x, batch.y]);
    const masks = MaskSet.dense(model.prunable);
    for (const m of masks.layers.values()) m.keep.forEach((_, i) => (m.keep[i] = i % 2));
    const stale = new Map<string, Float32Array>();
    // The first step's update is -lr x its gradient, which is the momentum buffer it leaves.
    const velocity = new Map<string, Float32Array>();
    for (const [name, m] of masks.layers) {
      const kernel = model.kernel(name);
      const after = kernel.dataSync() as Float32Array;
      stale.set(name, Float32Array.from(after, (w, i) => (m.keep[i] ? 0 : w)));
      velocity.set(name, Float32Array.from(after, (w, i) => (before.get(name)![i] - w) / lr));
      tf.tidy(() => kernel.assign(tf.tensor(Float32Array.from(after, (w, i) => (m.keep[i] ? w : 0)), kernel.shape)));
    }
    return { masks, stale, velocity };
  }

  function steps(optimizer: tf.Optimizer, step: ReturnType<typeof referenceStep>, count: number): void {
    for (let i = 1; i <= count; i++) {
      const batch = seededBatch(16, 8, 7 + i);
      tf.dispose([step(optimizer, batch, i), batch.x, batch.y]);
    }
  }

  it('a pruned weight gets no task gradient and reads 0, while its momentum keeps moving its own value, as with the reference’s no-op set_zeros', async () => {
    const model = supernet();
    const optimizer = tf.train.momentum(lr, momentum);
    const { masks, stale, velocity } = prunedAfterOneStep(model, optimizer);
    const pruned = uploadPruned(masks, stale);
    steps(optimizer, referenceStep(model, pruned, 10, 0), 3);
    const values = await downloadPruned(pruned);
    // With its gradient masked a pruned weight's buffer only decays: three steps move it by lr x v0 x (m + m^2 + m^3).
    const drift = lr * (momentum + momentum ** 2 + momentum ** 3);
    let moved = 0;
    for (const [name, m] of masks.layers) {
      const kernel = model.kernel(name).dataSync();
      for (let i = 0; i < m.keep.length; i++) {
        if (m.keep[i]) continue;
        // Every forward and evaluation sees the sparse network.
        expect(Math.abs(kernel[i])).toBe(0);
        expect(values.get(name)![i]).toBeCloseTo(stale.get(name)![i] - drift * velocity.get(name)![i], 5);
        if (Math.abs(values.get(name)![i] - stale.get(name)![i]) > 1e-4) moved++;
      }
    }
    expect(moved).toBeGreaterThan(0);
    optimizer.dispose();
    model.dispose();
  });

  it('without momentum a pruned weight keeps its value exactly, and weight decay shrinks it by lr x wd a step', async () => {
    for (const weightDecay of [0, 0.1]) {
      const model = supernet();
      const optimizer = tf.train.momentum(lr, 0);
      const { masks, stale } = prunedAfterOneStep(model, optimizer);
      const pruned = uploadPruned(masks, stale);
      steps(optimizer, referenceStep(model, pruned, 10, weightDecay), 2);
      const values = await downloadPruned(pruned);
      for (const [name, m] of masks.layers) {
        for (let i = 0; i < m.keep.length; i++) {
          if (!m.keep[i]) expect(values.get(name)![i], `${name}[${i}] wd ${weightDecay}`).toBeCloseTo(stale.get(name)![i] * (1 - lr * weightDecay) ** 2, 6);
        }
      }
      optimizer.dispose();
      model.dispose();
    }
  });
});

describe('the arms’ schedules', () => {
  const config = parseConfig({ method: 'supertickets', model: { arch: 'conv-4-bn', branches: [3, 5] }, supertickets: { events: 5, increment: 0.3, targetSparsity: 0.9 } });

  it('two-in-one cuts and prunes at every event; two-stage only cuts until its search ends, then prunes once to the target', () => {
    expect(twoInOnePlan(config, 120, 'ticket', 'regrow').events).toEqual(
      [0.3, 0.6, 0.9, 0.9, 0.9].map((sparsity, i) => ({ step: 20 * (i + 1), cut: true, sparsity: expect.closeTo(sparsity, 12) })),
    );
    const twoStage = twoStagePlan(config, 120);
    expect(twoStage.searchUntil).toBe(72);
    expect(twoStage.events.map((e) => [e.step, e.sparsity])).toEqual([
      [20, null],
      [40, null],
      [60, null],
      [72, 0.9],
    ]);
  });

  it('refuses bad input with specific messages', () => {
    expect(() => parseConfig({ method: 'supertickets', supertickets: { targetSparsity: 1 } })).toThrow('a target of 1 would prune every weight');
    expect(() => parseConfig({ method: 'supertickets', supertickets: { channelThreshold: 1 } })).toThrow('would lose even its strongest channel');
    expect(() => parseConfig({ method: 'supertickets', model: { arch: 'conv-4-bn', branches: [2, 3] } })).toThrow('kernel size 2 is not odd');
  });
});

describe('a small SuperTickets run', () => {
  const tiny = {
    method: 'supertickets',
    seed: 2,
    data: { syntheticTrain: 80, syntheticTest: 40, validation: 0 },
    model: { arch: 'conv-4-bn', width: 0.125, branches: [3, 5] },
    train: { optimizer: 'adam', lr: 0.03, batchSize: 20, epochs: 5, evalEvery: 100 },
    supertickets: {
      events: 4,
      increment: 0.45,
      targetSparsity: 0.9,
      rho: 0.05,
      channelThreshold: 0.8,
      compareTwoStage: false,
      compareRandomMask: false,
      compareImp: false,
    },
  };

  it('prunes to exactly the scheduled sparsity at each event, regrows in regrow mode and never in monotone mode', async () => {
    const results = resultsOf(await runExperiment(tiny, { files: null }), 'supertickets');
    const { arms } = results.supertickets;
    const scheduled = [0.45, 0.9, 0.9, 0.9];
    // Exactly round(s x weights) pruned: the share is s to within half a weight.
    const exact = (e: { sparsity: number; params: number }, s: number) => Math.abs(e.sparsity - s) <= 0.5 / (e.params / (1 - e.sparsity)) + 1e-12;
    expect(arms.twoInOne.events).toHaveLength(4);
    arms.twoInOne.events.forEach((e, i) => expect(exact(e, scheduled[i]), `event ${i + 1}: ${e.sparsity}`).toBe(true));
    // Monotone masks cannot give back what a channel cut left pruned above the schedule; the event says so.
    expect(arms.monotone!.events).toHaveLength(4);
    arms.monotone!.events.forEach((e, i) => {
      if (!exact(e, scheduled[i])) expect(e.sparsity > scheduled[i] && e.note?.includes('above the scheduled'), `event ${i + 1}: ${e.sparsity}`).toBe(true);
    });
    expect(results.supertickets.events).toBe(arms.twoInOne.events);
    // Re-pruned at 90%, stale values beat kept weights that shrank.
    expect(Math.max(...arms.twoInOne.events.map((e) => e.regrowth))).toBeGreaterThan(0);
    expect(arms.monotone!.events.map((e) => e.regrowth)).toEqual([0, 0, 0, 0]);
    // The search cut channels out: the network the arm ends with is smaller than the supernet.
    expect(arms.twoInOne.events.reduce((n, e) => n + e.channelsRemoved, 0)).toBeGreaterThan(0);
    const supernetFlops = forwardFlops({ layers: archLayers('conv-4-bn', 0.125, 10, undefined, [3, 5]), inputShape: [32, 32, 3] });
    expect(arms.twoInOne.flops).toBeLessThan(supernetFlops);
    // The ticket's MODEL block rebuilds its architecture: the same branches with the same channels.
    const { ticketModel } = results.supertickets;
    const rebuilt = parseConfig({ model: ticketModel }).model;
    const ticketNet = new Model('conv-4-bn', archLayers('conv-4-bn', rebuilt.width, 10, rebuilt.channels, rebuilt.branches), [32, 32, 3], 1);
    expect(forwardFlops(ticketNet)).toBe(arms.twoInOne.flops);
    const widths = Object.fromEntries(ticketNet.batchNorms.map((bn) => [bn.name, bn.channels]));
    for (const [stage, branches] of Object.entries(arms.twoInOne.channels)) {
      for (const [k, alive] of Object.entries(branches)) expect(widths[`${stage}_${k}`] ?? 0, `${stage}_${k}`).toBe(alive);
    }
    ticketNet.dispose();
    expect(results.rounds.map((r) => r.sparsity)).toEqual([arms.twoInOne.sparsity, arms.monotone!.sparsity].map((s) => expect.closeTo(s, 6)));
  });

  it('regrows from stale values alone: with no channel cut, pruned weights come back at the events past the target', async () => {
    const results = resultsOf(
      await runExperiment({ ...tiny, supertickets: { ...tiny.supertickets, channelThreshold: 0, compareMonotone: false } }, { files: null }),
      'supertickets',
    );
    const { events } = results.supertickets.arms.twoInOne;
    expect(events.reduce((n, e) => n + e.channelsRemoved, 0)).toBe(0);
    expect(Math.max(...events.slice(2).map((e) => e.regrowth))).toBeGreaterThan(0);
  });

  it('a resumed run draws the arms it finished before at once, before training on', async () => {
    const short = { ...tiny, train: { ...tiny.train, epochs: 2 } };
    const checkpoints: Checkpoint[] = [];
    await runExperiment(short, { files: null, emit: (e) => void (e.type === 'checkpoint' && checkpoints.push(e.checkpoint)) });
    const afterTwoInOne = checkpoints[0] as Extract<Checkpoint, { method: 'supertickets' }>;
    expect(afterTwoInOne.state.arms.monotone).toBeUndefined();
    const views: SuperTicketsView[] = [];
    await runExperiment(short, { files: null, resume: afterTwoInOne, emit: (e) => void (e.type === 'view' && views.push(structuredClone(e.data) as SuperTicketsView)) });
    expect(views[0].arms.twoInOne!.final).toMatchObject({ testAccuracy: afterTwoInOne.state.arms.twoInOne!.testAccuracy });
    expect(views[0].arms.twoInOne!.events).toHaveLength(4);
    expect(views[0].arms.monotone).toBeUndefined();
    expect(views.at(-1)!.arms.monotone!.final).not.toBeNull();
  });

  it('refuses a run without a supernet before training', async () => {
    await expect(runExperiment({ ...tiny, model: { arch: 'conv-4-bn', width: 0.125 } }, { files: null })).rejects.toThrow('set model.branches');
  });

  describe('the ticket file and the transfer test', () => {
    const transferRun = {
      ...tiny,
      data: { syntheticTrain: 160, syntheticTest: 80, validation: 0 },
      supertickets: { ...tiny.supertickets, compareMonotone: false, transferSource: [0, 1, 2, 3, 4], transferTarget: [5, 6, 7, 8, 9] },
    };

    it('saves the two-in-one ticket, moves its architecture and mask to the target classes beside a ticket drawn there, and retrains it from its file', async () => {
      const checkpoints: Checkpoint[] = [];
      const run = await runExperiment(transferRun, { files: null, emit: (e) => void (e.type === 'checkpoint' && checkpoints.push(e.checkpoint)) });
      const results = resultsOf(run, 'supertickets');
      const { twoInOne } = results.supertickets.arms;
      // The source arms trained on the five source classes only: fewer steps than the whole set gives.
      expect(results.rounds[0].iterations).toBeLessThan(5 * Math.ceil(160 / 20));
      const ticket = checkpoints.at(-1)!.ticket!;
      expect(ticket).toMatchObject({ method: 'supertickets', branches: [3, 5], channels: results.supertickets.ticketModel.channels, iteration: 0, numClasses: 5, classes: [0, 1, 2, 3, 4] });
      expect(ticket.sparsity).toBeCloseTo(twoInOne.sparsity, 12);
      expect(results.supertickets.ticketFile).toEqual({ saved: true });

      const { transfer } = results.supertickets;
      if (!transfer.done) throw new Error(transfer.reason);
      expect(transfer).toMatchObject({ source: [0, 1, 2, 3, 4], target: [5, 6, 7, 8, 9] });
      expect(Object.keys(transfer.arms)).toEqual(['ticketOnTarget', 'drawnOnTarget', 'denseOnTarget']);
      for (const arm of Object.values(transfer.arms)) expect(Object.keys(arm!).sort()).toEqual(['channels', 'flops', 'params', 'sparsity', 'testAccuracy', 'trainSeconds']);
      // The moved ticket is the source ticket's architecture under its mask.
      const { ticketOnTarget, drawnOnTarget, denseOnTarget } = transfer.arms;
      expect(ticketOnTarget.channels).toEqual(twoInOne.channels);
      expect(ticketOnTarget.flops).toBe(twoInOne.flops);
      expect(ticketOnTarget.params).toBe(twoInOne.params);
      expect(ticketOnTarget.sparsity).toBeCloseTo(twoInOne.sparsity, 12);
      // The ticket drawn on the target went through its own search and pruning; the dense supernet through neither.
      expect(drawnOnTarget.sparsity).toBeCloseTo(0.9, 2);
      expect(denseOnTarget!.sparsity).toBe(0);
      expect(denseOnTarget!.channels).toEqual({ conv_1: { k3: 8, k5: 8 }, conv_2: { k3: 8, k5: 8 }, conv_3: { k3: 16, k5: 16 }, conv_4: { k3: 16, k5: 16 } });
      expect(transfer.gap).toBeCloseTo(ticketOnTarget.testAccuracy - drawnOnTarget.testAccuracy, 12);
      expect(transfer.testImages).toBeGreaterThan(0);
      expect(transfer.testImages).toBeLessThan(80);
      expect(run.rounds).toHaveLength(1);

      // Imported, the file rebuilds the searched supernet and retrains its mask on the source classes.
      const imported = decodeTicket(encodeTicket(ticket));
      const retrained = await runExperiment(
        { ...tiny, method: 'retrain', model: ticketModel(imported), data: { ...transferRun.data, classes: imported.classes } },
        { files: null, ticket: imported },
      );
      expect(retrained.config.model.branches).toEqual([3, 5]);
      expect(retrained.rounds[0].iterations).toBeGreaterThan(0);
      expect(retrained.rounds[0].sparsity).toBeCloseTo(ticket.sparsity, 6);
    });

    it('refuses a transfer test the data or the settings cannot serve, before training', async () => {
      const withTransfer = (options: Record<string, unknown>) => ({ ...transferRun, supertickets: { ...transferRun.supertickets, ...options } });
      await expect(runExperiment(withTransfer({ transferTarget: undefined }), { files: null })).rejects.toThrow('supertickets.transferSource needs supertickets.transferTarget');
      await expect(runExperiment(withTransfer({ transferTarget: [4, 5] }), { files: null })).rejects.toThrow('both hold class 4; the tasks must not overlap');
      await expect(runExperiment(withTransfer({ transferTarget: [5, 12] }), { files: null })).rejects.toThrow('supertickets.transferTarget: class 12 is not in synthetic');
      await expect(runExperiment(withTransfer({ compareImp: true }), { files: null })).rejects.toThrow('supertickets.compareImp: set it false with a transfer test');
      await expect(runExperiment({ ...withTransfer({}), data: { ...transferRun.data, classes: [0, 1] } }, { files: null })).rejects.toThrow('data.classes: leave it unset');
      expect(() => parseConfig(withTransfer({ transferSource: [3] }))).toThrow('a task needs at least 2 classes');
    });
  });
});
