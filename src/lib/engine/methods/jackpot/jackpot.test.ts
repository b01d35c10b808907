import * as tf from '@tensorflow/tfjs';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Ticket } from '../../checkpoint';
import { runExperiment } from '../../experiment';
import { decodeTicket, encodeTicket } from '../../io/ticket-file';
import { countOnes } from '../../masks/mask';
import { resultsOf, type EngineEvent } from '../../results';
import { initBackend } from '../../runtime/backend';
import type { JackpotView } from './index';
import { clearPretrainedCache } from './pretrained';

/** A Conv-4-BN at width 0.125 on 80 synthetic images: pre-trained 4 epochs, searched 3. */
const TINY = {
  method: 'jackpot',
  seed: 2,
  data: { syntheticTrain: 80, syntheticTest: 40, validation: 0 },
  model: { arch: 'conv-4-bn', width: 0.125 },
  train: { optimizer: 'adam', lr: 0.01, batchSize: 20, epochs: 4, evalEvery: 100 },
  jackpot: { sparsity: 0.9, epochs: 3 },
} as const;

beforeAll(async () => {
  await initBackend('wasm');
});

beforeEach(() => clearPretrainedCache());

async function run(config: object, ticket: Ticket | null = null) {
  const events: EngineEvent[] = [];
  let drawn: Ticket | null = null;
  const results = await runExperiment(config, {
    files: null,
    ticket,
    emit: (event) => {
      events.push(event);
      if (event.type === 'checkpoint') drawn = event.checkpoint.ticket;
    },
  });
  return { results: resultsOf(results, 'jackpot'), events, ticket: drawn as Ticket | null };
}

describe('Lottery Jackpots', () => {
  it('searches a mask with every weight frozen, layer counts constant, swaps happening, every arm reported', async () => {
    const before = tf.memory().numTensors;
    const { results, events, ticket } = await run(TINY);
    expect(tf.memory().numTensors).toBe(before);
    const { jackpot } = results;
    expect(Object.keys(jackpot)).toEqual(
      expect.arrayContaining(['sparsity', 'dense', 'magnitude', 'magnitudeBn', 'searched', 'randomScores', 'finetuned', 'maskOverlap', 'weightsUnchanged']),
    );
    expect(jackpot.pretrained).toBe('trained');
    expect(jackpot.weightsUnchanged).toBe(true);
    expect(jackpot.search.weightsUnchanged).toBe(true);
    expect(jackpot.randomSearch!.weightsUnchanged).toBe(true);
    expect(jackpot.search.countsConstant).toBe(true);
    expect(jackpot.search.epochs).toHaveLength(3);
    for (const epoch of jackpot.search.epochs) {
      expect(epoch.kept).toEqual(jackpot.budgets);
      expect(epoch.testAccuracy).toBeGreaterThanOrEqual(0);
    }
    const swaps = jackpot.search.epochs.reduce((n, e) => n + Object.values(e.swaps).reduce((a, b) => a + b, 0), 0);
    expect(swaps).toBeGreaterThan(0);
    expect(jackpot.maskOverlap).toBeGreaterThan(0);
    expect(jackpot.maskOverlap).toBeLessThan(1);
    // The output layer stays dense; the pruned layers together lose 90%.
    const searched = results.rounds[1];
    const output = searched.layers.find((l) => l.name === 'dense_3')!;
    expect(output.remaining).toBe(output.weights);
    const pruned = searched.layers.filter((l) => l.name !== 'dense_3');
    const kept = pruned.reduce((n, l) => n + l.remaining, 0) / pruned.reduce((n, l) => n + l.weights, 0);
    expect(kept).toBeCloseTo(0.1, 3);
    for (const layer of pruned) expect(layer.remaining).toBe(jackpot.budgets[layer.name]);
    // Every arm as its own series at the searched sparsity, and the view per epoch.
    const series = new Set(events.flatMap((e) => (e.type === 'round' ? [`${e.series}:${e.result.round}`] : [])));
    expect([...series].sort()).toEqual(['finetuned:1', 'magnitude:1', 'magnitudeBn:1', 'randomScores:1', 'ticket:0', 'ticket:1']);
    const views = events.flatMap((e) => (e.type === 'view' && e.view === 'jackpot-search' ? [e.data as JackpotView] : []));
    const last = views.at(-1)!;
    expect(last.searched).toHaveLength(3);
    expect(last.randomScores).toHaveLength(3);
    expect(last.finetuned).toHaveLength(3);
    expect(last.overlap).toHaveLength(3);
    // The ticket: the searched mask explicit, the frozen dense weights, the scores optional; it round-trips.
    expect(ticket).not.toBeNull();
    expect(countOnes(ticket!.masks.conv_2.keep)).toBe(jackpot.budgets.conv_2);
    expect(ticket!.scores?.conv_2.data.length).toBe(ticket!.masks.conv_2.keep.length);
    expect(ticket!.weights['conv_2/kernel'].data.every((w) => w !== 0)).toBe(true);
    expect(decodeTicket(encodeTicket(ticket!))).toEqual(ticket);
  });

  it('pre-trains once per config identity: a second search on the same settings reuses the dense network', async () => {
    const first = await run({ ...TINY, jackpot: { ...TINY.jackpot, randomScores: false, finetune: false } });
    const second = await run({ ...TINY, jackpot: { ...TINY.jackpot, sparsity: 0.8, randomScores: false, finetune: false } });
    expect(first.results.jackpot.pretrained).toBe('trained');
    expect(second.results.jackpot.pretrained).toBe('trained');
    expect(second.events).toContainEqual({ type: 'status', message: 'Using the dense network pre-trained earlier in this session on the same settings' });
    expect(second.results.jackpot.dense).toBe(first.results.jackpot.dense);
    expect(second.events.some((e) => e.type === 'progress' && e.round === 0)).toBe(false);
    expect(first.events.some((e) => e.type === 'progress' && e.round === 0)).toBe(true);
    const otherSeed = await run({ ...TINY, seed: 5, jackpot: { ...TINY.jackpot, randomScores: false, finetune: false } });
    expect(otherSeed.events.some((e) => e.type === 'progress' && e.round === 0)).toBe(true);
  });

  it('searches on imported dense weights, and refuses a network of another architecture before training', async () => {
    const quick = { ...TINY, jackpot: { ...TINY.jackpot, randomScores: false, finetune: false } };
    const { ticket, results } = await run(quick);
    clearPretrainedCache();
    const imported = await run(quick, decodeTicket(encodeTicket(ticket!)));
    expect(imported.results.jackpot.pretrained).toBe('imported');
    expect(imported.results.jackpot.weightsUnchanged).toBe(true);
    expect(imported.events.some((e) => e.type === 'progress' && e.round === 0)).toBe(false);
    // The imported network is the searched one's frozen weights: the same magnitude budgets.
    expect(imported.results.jackpot.budgets).toEqual(results.jackpot.budgets);

    const events: EngineEvent[] = [];
    await expect(
      runExperiment({ ...quick, model: { arch: 'conv-2', width: 0.125 } }, { files: null, ticket, emit: (e) => events.push(e) }),
    ).rejects.toThrow('The imported network is conv-4-bn at width 0.125, but the config builds conv-2 at width 0.125');
    expect(events.some((e) => e.type === 'progress')).toBe(false);
  });

  it('refuses a sparsity that would empty a layer before the search starts', async () => {
    const events: EngineEvent[] = [];
    await expect(
      runExperiment({ ...TINY, jackpot: { ...TINY.jackpot, sparsity: 0.999 } }, { files: null, emit: (e) => events.push(e) }),
    ).rejects.toThrow(/jackpot.sparsity 0.999 would prune every weight of layer conv_\d/);
    expect(events.some((e) => e.type === 'progress' && e.round === 1)).toBe(false);
  });
});
