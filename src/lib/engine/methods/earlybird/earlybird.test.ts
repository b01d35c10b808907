import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../config';
import { runExperiment } from '../../experiment';
import { resultsOf, type EngineEvent } from '../../results';
import type { BatchNormLayer } from '../../models/model';
import { initBackend } from '../../runtime/backend';
import { bnGradientHook } from './bn-hooks';
import type { TicketSummary } from './results';
import type { ChannelMaskViewData } from './views';
import { TINY_EARLYBIRD_CONFIG } from './tiny-config';
import { chiSchedule } from '../worm/index';

beforeAll(async () => {
  await initBackend('wasm');
});

function handMadeBatchNorm(gamma: number[], beta: number[]): BatchNormLayer {
  return { name: 'conv_1', channels: gamma.length, gamma: tf.variable(tf.tensor1d(gamma)), beta: tf.variable(tf.tensor1d(beta)) };
}

function gradsFor(gamma: number[], beta: number[]): tf.NamedTensorMap {
  return { 'conv_1/bn_gamma': tf.tensor1d(gamma), 'conv_1/bn_beta': tf.tensor1d(beta), 'conv_1/kernel': tf.ones([2]) };
}

describe('BN gradient hook', () => {
  it('adds the sign-L1 term s * sign(gamma) to the gamma gradient only', () => {
    const bn = handMadeBatchNorm([0.5, -2, 0, 3], [1, 1, 1, 1]);
    const grads = gradsFor([0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4]);
    const beta = grads['conv_1/bn_beta'];
    bnGradientHook([bn], 1e-2, () => null)(grads, 0);
    const gamma = grads['conv_1/bn_gamma'].arraySync() as number[];
    [0.11, 0.19, 0.3, 0.41].forEach((expected, i) => expect(gamma[i]).toBeCloseTo(expected, 6));
    expect(grads['conv_1/bn_beta']).toBe(beta); // untouched without damping
    tf.dispose([...Object.values(grads), bn.gamma, bn.beta]);
  });

  it("WORM damping multiplies only the pruned channels' gamma and beta gradients by chi", () => {
    const bn = handMadeBatchNorm([1, 1, 1, 1], [0, 0, 0, 0]);
    const grads = gradsFor([0.1, 0.2, 0.3, 0.4], [-1, -2, -3, -4]);
    const kernel = grads['conv_1/kernel'];
    const before = tf.memory().numTensors;
    // Mask 1 0 1 0: channels 1 and 3 are the ones to be pruned; chi = 0.003.
    const scales = new Map([['conv_1', tf.tensor1d([1, 0.003, 1, 0.003])]]);
    bnGradientHook([bn], 0, () => scales)(grads, 0);
    const gamma = grads['conv_1/bn_gamma'].arraySync() as number[];
    const beta = grads['conv_1/bn_beta'].arraySync() as number[];
    expect(gamma[0]).toBeCloseTo(0.1, 6);
    expect(gamma[2]).toBeCloseTo(0.3, 6);
    expect(gamma[1]).toBeCloseTo(0.2 * 0.003, 8);
    expect(gamma[3]).toBeCloseTo(0.4 * 0.003, 8);
    expect(beta).toEqual([-1, expect.closeTo(-2 * 0.003, 8), -3, expect.closeTo(-4 * 0.003, 8)]);
    expect(grads['conv_1/kernel']).toBe(kernel);
    tf.dispose([...scales.values()]);
    expect(tf.memory().numTensors).toBe(before); // replaced gradients were disposed
    tf.dispose([...Object.values(grads), bn.gamma, bn.beta]);
  });
});

describe('WORM chi schedule', () => {
  const worm = parseConfig({}).worm;

  it('paper: 1 until the mean distance falls below 0.15, then 0.003 for good', () => {
    const chi = chiSchedule(worm);
    expect([null, null, 0.3, 0.15, 0.149, 0.4, null].map((d) => chi.next(d))).toEqual([1, 1, 1, 1, 0.003, 0.003, 0.003]);
  });

  it('fixed: 0.1 throughout', () => {
    const chi = chiSchedule({ ...worm, chiMode: 'fixed' });
    expect([null, 0.5, 0.01].map((d) => chi.next(d))).toEqual([0.1, 0.1, 0.1]);
  });

  it('greedy: the mean distance each epoch (1 before the queue is full)', () => {
    const chi = chiSchedule({ ...worm, chiMode: 'greedy' });
    expect([null, 0.4, 0.1, 0.3].map((d) => chi.next(d))).toEqual([1, 0.4, 0.1, 0.3]);
  });
});

describe('end to end on the synthetic set', () => {
  const tiny = TINY_EARLYBIRD_CONFIG;

  function expectTicketShape(ticket: TicketSummary, epochs: number): void {
    // The ticket is the first epoch whose largest queue distance is within epsilon; none if no search epoch got there.
    const firstWithin = ticket.maskDistances.findIndex((d) => d !== null && d <= tiny.earlybird.epsilon);
    expect(ticket.epoch).toBe(firstWithin === -1 ? null : firstWithin + 1);
    expect(ticket.epochsToTicket).toBe(ticket.epoch);
    expect(ticket.maskDistances).toHaveLength(epochs);
    expect(ticket.maskDistances[0]).toBeNull(); // the queue is not full after one epoch
    expect(ticket.meanDistances).toHaveLength(epochs);
    for (const key of ['accuracyAtPruning', 'accuracyAfterRetraining', 'epochsToTicket', 'flopsToTicket', 'flopsDense'] as const) {
      expect(ticket).toHaveProperty(key);
    }
  }

  it('earlybird: ticket, pruned round with zeroed kernels, views, no tensor leak', async () => {
    const before = tf.memory().numTensors;
    const views = new Set<string>();
    const results = resultsOf(
      await runExperiment({ ...tiny, method: 'earlybird' }, { files: null, emit: (e) => e.type === 'view' && views.add(e.view) }),
      'earlybird',
    );
    expect(tf.memory().numTensors).toBe(before);
    const ticket = results.ticket;
    expectTicketShape(ticket, 5);
    expect(views).toEqual(new Set(['mask-distance', 'channel-masks', 'eb-comparison']));
    // What follows depends on whether this run drew a ticket (ticket-search.test.ts forces one).
    if (ticket.epoch === null) {
      expect(results.rounds).toHaveLength(1);
      expect(ticket.accuracyAtPruning).toBeNull();
      expect(ticket.flopsTotal).toBe(ticket.flopsDense);
    } else {
      expect(results.rounds).toHaveLength(2);
      expect(results.rounds[1].sparsity).toBeGreaterThan(0);
      expect(ticket.accuracyAtPruning).toBeTypeOf('number');
      expect(ticket.flopsTotal).toBeLessThan(ticket.flopsDense);
    }
  });

  it('worm with the EarlyBird comparison from the same seed, no tensor leak', async () => {
    const before = tf.memory().numTensors;
    const events: EngineEvent[] = [];
    const results = resultsOf(
      await runExperiment({ ...tiny, method: 'worm', worm: { chiMode: 'fixed' } }, { files: null, emit: (e) => events.push(e) }),
      'worm',
    );
    expect(tf.memory().numTensors).toBe(before);
    const comparison = results.comparison!;
    expect(comparison.worm).toBe(results.ticket);
    expectTicketShape(comparison.earlybird, 5);
    expectTicketShape(comparison.worm, 5);
    // One chi per search epoch without a ticket (the queue of 2 needs 2 epochs, so at least one), all the fixed 0.1.
    const searchEpochsWithoutTicket = comparison.worm.epoch === null ? 5 : comparison.worm.epoch - 1;
    expect(comparison.worm.chi).toEqual(new Array(searchEpochsWithoutTicket).fill(0.1));
    expect(comparison.earlybird.chi).toBeUndefined();
    // Same seed and data: identical until the first damped epoch, so epoch 1's channel masks agree.
    const masks = events.filter((e) => e.type === 'view' && e.view === 'channel-masks').at(-1) as { data: ChannelMaskViewData };
    const epochOne = (name: string) => masks.data.series.find((s) => s.name === name)!.epochs[0];
    expect(epochOne('WORM').epoch).toBe(1);
    expect(epochOne('WORM').bits).toEqual(epochOne('EarlyBird').bits);
  });

  it('unstructured extension runs on a net without BatchNorm; channel methods reject it', async () => {
    const results = await runExperiment(
      { ...tiny, method: 'earlybird', model: { arch: 'conv-2', width: 0.125 }, earlybird: { ...tiny.earlybird, unstructured: true } },
      { files: null },
    );
    const ticket = resultsOf(results, 'earlybird').ticket;
    expect(ticket.unstructured).toBe(true);
    expectTicketShape(ticket, 5);
    await expect(runExperiment({ ...tiny, method: 'earlybird', model: { arch: 'conv-2', width: 0.125 } }, { files: null })).rejects.toThrow(
      /no BatchNorm/,
    );
  });
});
