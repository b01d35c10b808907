/**
 * What EarlyBird and WORM do to the BN channels, checked on real runs: which
 * channels WORM damps, and that pruned channels stay pruned while retraining.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runExperiment } from '../../experiment';
import { Model } from '../../models/model';
import { resultsOf, type EngineEvent } from '../../results';
import { initBackend } from '../../runtime/backend';
import type { ChannelMaskViewData } from './views';
import { TINY_EARLYBIRD_CONFIG } from './tiny-config';

/** Every call of dampingFactors: the per-layer channel mask it turned into gradient factors, and chi. */
const dampingCalls = vi.hoisted(() => [] as { keep: string; chi: number }[]);

vi.mock('../../masks/channel-masks', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../masks/channel-masks')>();
  return {
    ...original,
    dampingFactors: (keep: Uint8Array, chi: number) => {
      dampingCalls.push({ keep: keep.join(''), chi });
      return original.dampingFactors(keep, chi);
    },
  };
});

beforeAll(async () => {
  await initBackend('wasm');
});

afterEach(() => {
  vi.restoreAllMocks();
  dampingCalls.length = 0;
});

const tiny = TINY_EARLYBIRD_CONFIG;

/** The last 'channel-masks' view: per series and epoch, each BN layer's mask as a '0'/'1' string (1 = kept). */
function lastChannelMasks(events: EngineEvent[]): ChannelMaskViewData {
  const views = events.filter((e) => e.type === 'view' && e.view === 'channel-masks');
  return (views.at(-1) as { data: ChannelMaskViewData }).data;
}

describe('WORM damping', () => {
  it('damps exactly the channels the newest mask prunes, by chi, after each epoch without a ticket', async () => {
    const events: EngineEvent[] = [];
    const results = await runExperiment(
      { ...tiny, method: 'worm', worm: { chiMode: 'fixed', compareWithEarlyBird: false } },
      { files: null, emit: (e) => events.push(e) },
    );
    const { ticket } = resultsOf(results, 'worm');
    const epochs = lastChannelMasks(events).series.find((s) => s.name === 'WORM')!.epochs;
    const bitsAt = (epoch: number) => epochs.find((e) => e.epoch === epoch)!.bits;
    const searched = ticket.epoch ?? ticket.scheduleEpochs;
    const expected: { keep: string; chi: number }[] = [];
    // Each search epoch without a ticket: the factors come from that epoch's mask (1 kept, chi pruned).
    for (let epoch = 1; epoch <= searched; epoch++) {
      if (epoch !== ticket.epoch) expected.push(...bitsAt(epoch).map((keep) => ({ keep, chi: 0.1 })));
    }
    // Retraining: the ticket's pruned channels are cut out (earlybird.shrink), so nothing is damped.
    expect(expected.some((c) => c.chi === 0.1)).toBe(true);
    expect(dampingCalls).toEqual(expected);
  });
});

describe('EarlyBird retraining', () => {
  it('zeroing instead of cutting out: keeps the pruned channels\' gamma and beta exactly 0 through retraining, with SGD momentum and weight decay', async () => {
    // The search model's BN parameters as they are when it is disposed, after retraining.
    const disposed: { gamma: Float32Array; beta: Float32Array }[][] = [];
    const dispose = Model.prototype.dispose;
    vi.spyOn(Model.prototype, 'dispose').mockImplementation(function (this: Model) {
      disposed.push(this.batchNorms.map((bn) => ({ gamma: bn.gamma.dataSync() as Float32Array, beta: bn.beta.dataSync() as Float32Array })));
      dispose.call(this);
    });
    const events: EngineEvent[] = [];
    // epsilon 1 accepts any mask: the ticket comes at epoch 2 (queue 2), leaving 3 epochs to retrain.
    const results = await runExperiment(
      {
        ...tiny,
        method: 'earlybird',
        train: { ...tiny.train, optimizer: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 1e-3 },
        earlybird: { queueLength: 2, epsilon: 1, shrink: false },
      },
      { files: null, emit: (e) => events.push(e) },
    );
    const { ticket } = resultsOf(results, 'earlybird');
    expect(ticket.epoch).toBe(2);
    expect(ticket.epochsRetrained).toBeGreaterThan(0);
    const ticketBits = lastChannelMasks(events).series[0].epochs.find((e) => e.epoch === ticket.epoch)!.bits;
    const afterRetraining = disposed.at(-1)!;
    let pruned = 0;
    let keptMoved = 0;
    ticketBits.forEach((bits, layer) => {
      const { gamma, beta } = afterRetraining[layer];
      for (let c = 0; c < bits.length; c++) {
        if (bits[c] === '0') {
          pruned++;
          expect(Math.abs(gamma[c]), `layer ${layer} channel ${c} gamma`).toBe(0);
          expect(Math.abs(beta[c]), `layer ${layer} channel ${c} beta`).toBe(0);
        } else if (gamma[c] !== 0) keptMoved++;
      }
    });
    expect(pruned).toBeGreaterThan(0);
    expect(keptMoved).toBeGreaterThan(0);
  });

  it('cutting the pruned channels out retrains a smaller network to the same result as zeroing them, and counts sparsity against the uncut one', async () => {
    const run = async (shrink: boolean) => {
      const config = { ...tiny, method: 'earlybird' as const, earlybird: { queueLength: 2, epsilon: 1, shrink } };
      return resultsOf(await runExperiment(config, { files: null }), 'earlybird');
    };
    const [cut, zeroed] = [await run(true), await run(false)];
    expect(cut.ticket.shrunk).toBe(true);
    expect(zeroed.ticket.shrunk).toBe(false);
    expect(cut.ticket.epoch).toBe(2);
    // The same ticket: only how it retrains differs.
    expect(cut.ticket.channelsKeptByLayer).toEqual(zeroed.ticket.channelsKeptByLayer);
    expect(cut.rounds[1].sparsity).toBeCloseTo(zeroed.rounds[1].sparsity, 12);
    expect(cut.rounds[1].layers.map((l) => l.weights)).toEqual(zeroed.rounds[1].layers.map((l) => l.weights));
    // Same function, other summation order: the curves agree to float noise.
    cut.rounds[1].curve.forEach((point, i) => expect(point.testLoss).toBeCloseTo(zeroed.rounds[1].curve[i].testLoss, 3));
    expect(cut.ticket.epochFlopRatio).toBeLessThan(1);
    expect(cut.ticket.secondsPerEpochAfter).toBeTypeOf('number');
  });

  it('earlybird.minChannels keeps every layer its strongest channels, where the global ranking must empty one', async () => {
    // p 0.9 keeps 5 of the 48 channels: spread over 4 layers, some layer keeps at most 1 without the guard.
    const config = { ...tiny, method: 'earlybird' as const, earlybird: { ratios: [0.9], queueLength: 2, epsilon: 1, minChannels: 2 } };
    const { ticket } = resultsOf(await runExperiment(config, { files: null }), 'earlybird');
    expect(ticket.epoch).toBe(2);
    expect(Object.values(ticket.channelsKeptByLayer!).every((kept) => kept >= 2)).toBe(true);
    expect(ticket.channelsKept).toBeGreaterThan(5);
    expect(ticket.accuracyAfterRetraining).toBeTypeOf('number');
  });
});

describe('EarlyBird dense baseline', () => {
  it('trains the search network on unpruned from the ticket, on the retraining batches: with nothing pruned it ends exactly where the ticket does', async () => {
    const events: EngineEvent[] = [];
    // Ratio 0 prunes no channel, so the ticket's retraining and the dense baseline train the same network from the same weights.
    const config = { ...tiny, method: 'earlybird' as const, earlybird: { ratios: [0], queueLength: 2, epsilon: 1, denseBaseline: true } };
    const results = resultsOf(await runExperiment(config, { files: null, emit: (e) => events.push(e) }), 'earlybird');
    const { ticket } = results;
    expect(ticket.epoch).toBe(2);
    const dense = events.flatMap((e) => (e.type === 'round' && e.series === 'dense' ? [e.result] : []));
    expect(dense).toHaveLength(1);
    expect(dense[0].sparsity).toBe(0);
    expect(dense[0].iterations).toBe(results.rounds[1].iterations);
    expect(ticket.accuracyDense).toBe(dense[0].testAccuracy);
    dense[0].curve.forEach((point, i) => expect(point.testLoss).toBeCloseTo(results.rounds[1].curve[i].testLoss, 5));
    expect(ticket.accuracyDense).toBe(ticket.accuracyAfterRetraining);
  });

  it('is the search itself where no ticket was drawn, and absent when not asked for', async () => {
    // A queue longer than the schedule never fills: no ticket, the search trained dense to the end.
    const config = { ...tiny, method: 'earlybird' as const, earlybird: { queueLength: 6, denseBaseline: true } };
    const events: EngineEvent[] = [];
    const { ticket, rounds } = resultsOf(await runExperiment(config, { files: null, emit: (e) => events.push(e) }), 'earlybird');
    expect(ticket.epoch).toBeNull();
    expect(ticket.accuracyDense).toBe(rounds[0].testAccuracy);
    expect(events.some((e) => e.type === 'round' && e.series === 'dense')).toBe(false);
    const plain = resultsOf(await runExperiment({ ...config, earlybird: { queueLength: 2, epsilon: 1 } }, { files: null }), 'earlybird');
    expect(plain.ticket.accuracyDense).toBeUndefined();
  });
});
