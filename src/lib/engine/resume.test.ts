import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Checkpoint } from './checkpoint';
import { runExperiment } from './experiment';
import { decodeTicket, encodeTicket } from './io/ticket-file';
import type { TicketSummary } from './methods/earlybird/results';
import { TINY_EARLYBIRD_CONFIG } from './methods/earlybird/tiny-config';
import { resultsOf, withoutTimings, type RunResults } from './results';
import { initBackend } from './runtime/backend';
import { RunControl, StopRequested } from './train/control';

beforeAll(async () => {
  await initBackend('wasm');
});

async function runCapturing(config: object, resume: Checkpoint | null = null): Promise<{ results: RunResults; checkpoints: Checkpoint[] }> {
  const checkpoints: Checkpoint[] = [];
  const results = await runExperiment(config, {
    files: null,
    resume,
    emit: (e) => e.type === 'checkpoint' && checkpoints.push(e.checkpoint),
  });
  return { results, checkpoints };
}

/** Runs until its first checkpoint, then stops as the page's Stop button does; returns that checkpoint. */
async function runUntilFirstCheckpoint(config: object): Promise<Checkpoint> {
  const control = new RunControl();
  let first: Checkpoint | null = null;
  try {
    await runExperiment(config, {
      files: null,
      control,
      emit: (e) => {
        if (e.type !== 'checkpoint' || first) return;
        first = e.checkpoint;
        control.stop();
      },
    });
  } catch (error) {
    // Single-round methods finish before the stop is seen.
    if (!(error instanceof StopRequested)) throw error;
  }
  expect(first).not.toBeNull();
  return first!;
}

const data = { syntheticTrain: 120, syntheticTest: 40, validation: 20 };
const train = { lr: 0.01, batchSize: 20, iterations: 6, evalEvery: 3 };
const tinyEarlyBird = TINY_EARLYBIRD_CONFIG;

/** Checkpoints of an EarlyBird search: one after the search, one after retraining when it drew a ticket. */
const searchCheckpoints = (ticket: TicketSummary) => (ticket.epoch === null ? 1 : 2);
/** WORM's own search's checkpoints after its EarlyBird comparison's. */
function wormCheckpoints(results: RunResults): number {
  const { comparison } = resultsOf(results, 'worm');
  return searchCheckpoints(comparison!.earlybird) + searchCheckpoints(comparison!.worm);
}

/**
 * `rounds`: the checkpoints the whole run writes, from its results where
 * they depend on the run (whether a search drew a ticket). `later`: the
 * index of a later checkpoint to resume from as well.
 */
const CASES: { name: string; config: object; rounds: (results: RunResults) => number; later?: (results: RunResults) => number }[] = [
  { name: 'dense', config: { method: 'dense', data, model: { arch: 'conv-2', width: 0.0625 }, train }, rounds: () => 1 },
  {
    name: 'imp with both controls and late rewinding',
    config: {
      method: 'imp',
      data,
      model: { arch: 'conv-2', width: 0.0625 },
      train,
      prune: { rounds: 2, rewindIteration: 2 },
      controls: ['randomReinit', 'randomPrune'],
    },
    rounds: () => 3,
  },
  { name: 'earlybird', config: { ...tinyEarlyBird, method: 'earlybird' }, rounds: (r) => searchCheckpoints(resultsOf(r, 'earlybird').ticket) },
  // The last checkpoint but one: WORM's own search pruned and about to retrain when it drew a ticket.
  {
    name: 'worm beside EarlyBird',
    config: { ...tinyEarlyBird, method: 'worm', worm: { chiMode: 'fixed' } },
    rounds: (r) => wormCheckpoints(r),
    later: (r) => wormCheckpoints(r) - 2,
  },
  // Checkpoint 4: COLT is finished and the IMP comparison is one round in.
  {
    name: 'colt with its IMP comparison',
    config: { method: 'colt', data: { ...data, syntheticTrain: 200 }, model: { arch: 'conv-2', width: 0.0625 }, train, prune: { rounds: 2 } },
    rounds: () => 6,
    later: () => 3,
  },
  // Checkpoints: pre-training, probe, then one per arm; checkpoint 3 has θ0, θ1 and the head-only arm.
  {
    name: 'kslottery',
    config: { method: 'kslottery', data, model: { arch: 'conv-2', width: 0.0625 }, train, kslottery: { source: [0, 1, 2], target: [3, 4, 5], probeIterations: 3, k: [2] } },
    rounds: (r) => 3 + (resultsOf(r, 'kslottery').kslottery.arms.significant ? 1 : 0) + 3,
    later: () => 3,
  },
  // Checkpoints: the pre-training, then each arm; checkpoint 4 is after the search, before its random-score arm.
  {
    name: 'jackpot with every arm',
    config: { method: 'jackpot', data, model: { arch: 'conv-4-bn', width: 0.125 }, train, jackpot: { epochs: 1 } },
    rounds: () => 6,
    later: () => 3,
  },
];

describe('resuming an interrupted run gives the uninterrupted results', () => {
  for (const { name, config, rounds, later } of CASES) {
    it(name, async () => {
      const before = tf.memory().numTensors;
      const whole = await runCapturing(config);
      expect(whole.checkpoints.map((c) => c.round)).toEqual(Array.from({ length: rounds(whole.results) }, (_, i) => i + 1));

      const first = await runUntilFirstCheckpoint(config);
      expect(first.round).toBe(1);
      const resumed = await runCapturing(config, first);
      expect(withoutTimings(resumed.results)).toEqual(withoutTimings(whole.results));
      // The resumed run checkpoints only the rounds it trained, counting on from the first.
      expect(resumed.checkpoints.map((c) => c.round)).toEqual(whole.checkpoints.slice(1).map((c) => c.round));
      expect(resumed.checkpoints.at(-1)?.ticket ?? null).toEqual(whole.checkpoints.at(-1)!.ticket);

      if (later !== undefined) {
        const laterIndex = later(whole.results);
        const fromLater = await runCapturing(config, whole.checkpoints[laterIndex]);
        expect(withoutTimings(fromLater.results)).toEqual(withoutTimings(whole.results));
        // Only the rounds after it are trained again: a comparison run beside the
        // method (ctx.runBeside) goes on from its own last round, not from scratch.
        expect(fromLater.checkpoints.map((c) => c.round)).toEqual(whole.checkpoints.slice(laterIndex + 1).map((c) => c.round));
      }
      expect(tf.memory().numTensors).toBe(before);
    }, 240_000);
  }
});

describe('checkpoint tickets', () => {
  it('IMP: the last trained mask with the rewind weights; retraining it from its file repeats that round', async () => {
    const config = {
      method: 'imp',
      data,
      model: { arch: 'conv-2', width: 0.0625 },
      train,
      prune: { rounds: 2, rewindIteration: 2 },
    };
    const { results, checkpoints } = await runCapturing(config);
    expect(checkpoints[0].ticket).toBeNull(); // round 0 is dense: no ticket yet
    const ticket = checkpoints.at(-1)!.ticket!;
    expect(ticket).toMatchObject({ arch: 'conv-2', width: 0.0625, numClasses: 10, method: 'imp', round: 2, iteration: 2 });
    const last = results.rounds.at(-1)!;
    expect(ticket.sparsity).toBeCloseTo(last.sparsity, 6);
    for (const layer of last.layers) {
      expect(ticket.masks[layer.name].keep.reduce((n, k) => n + k, 0)).toBe(layer.remaining);
    }

    const before = tf.memory().numTensors;
    const imported = decodeTicket(encodeTicket(ticket));
    const retrained = await runExperiment({ ...config, method: 'retrain' }, { files: null, ticket: imported });
    expect(tf.memory().numTensors).toBe(before);
    expect(retrained.rounds).toHaveLength(1);
    expect(withoutTimings({ ...retrained.rounds[0], round: last.round })).toEqual(withoutTimings(last));

    const evaluated = await runExperiment({ ...config, method: 'retrain', retrain: { evaluateOnly: true } }, { files: null, ticket: imported });
    expect(evaluated.rounds[0].iterations).toBe(0);
    expect(evaluated.rounds[0].sparsity).toBeCloseTo(ticket.sparsity, 6);
  }, 240_000);

  it('retrain refuses a missing ticket or one for another network', async () => {
    const config = { method: 'retrain', data, model: { arch: 'conv-2', width: 0.0625 }, train };
    await expect(runExperiment(config, { files: null })).rejects.toThrow(/import a \.safetensors ticket first/);
    const { checkpoints } = await runCapturing({ ...config, method: 'imp', prune: { rounds: 1 } });
    const ticket = checkpoints.at(-1)!.ticket!;
    await expect(runExperiment({ ...config, model: { arch: 'conv-2', width: 0.125 } }, { files: null, ticket })).rejects.toThrow(
      /ticket is for conv-2 at width 0.0625, the config builds conv-2 at width 0.125/,
    );
    const reshaped = { ...ticket, weights: { ...ticket.weights, 'dense_1/bias': { shape: [3], data: new Float32Array(3) } } };
    await expect(runExperiment(config, { files: null, ticket: reshaped })).rejects.toThrow(
      /weight "dense_1\/bias" has shape \[3\], the model needs \[16\]/,
    );
  }, 120_000);
});

describe('resume validation', () => {
  const config = { method: 'imp', data, model: { arch: 'conv-2', width: 0.0625 }, train, prune: { rounds: 1 } };

  it('names the method or setting that changed, and the tensor that does not fit', async () => {
    const checkpoint = await runUntilFirstCheckpoint(config);
    await expect(runExperiment({ ...config, method: 'colt' }, { files: null, resume: checkpoint })).rejects.toThrow(
      /checkpoint is from method "imp", the config runs "colt"/,
    );
    await expect(runExperiment({ ...config, train: { ...train, lr: 0.02 } }, { files: null, resume: checkpoint })).rejects.toThrow(
      /train\.lr was 0\.01 in the checkpoint, 0\.02 now/,
    );
    // A renamed run resumes: the name does not change what it computes.
    await expect(runExperiment({ ...config, name: 'renamed' }, { files: null, resume: checkpoint })).resolves.toBeDefined();
    // Without its config (an older checkpoint), the tensors themselves are checked.
    const bare = { ...checkpoint, config: undefined };
    await expect(runExperiment({ ...config, model: { arch: 'conv-2', width: 0.125 } }, { files: null, resume: bare })).rejects.toThrow(
      /does not fit model conv-2: weight "conv_1\/kernel" has shape \[3, 3, 3, 4\], the model needs \[3, 3, 3, 8\]/,
    );
  }, 120_000);
});

describe('resuming retrain', () => {
  it('returns its one finished round from the checkpoint, without the ticket or another round of training', async () => {
    const impConfig = { method: 'imp', data, model: { arch: 'conv-2', width: 0.0625 }, train, prune: { rounds: 1, rewindIteration: 2 } };
    const ticket = (await runCapturing(impConfig)).checkpoints.at(-1)!.ticket!;
    const config = { ...impConfig, method: 'retrain' };
    const before = tf.memory().numTensors;
    const checkpoints: Checkpoint[] = [];
    const whole = await runExperiment(config, { files: null, ticket, emit: (e) => e.type === 'checkpoint' && checkpoints.push(e.checkpoint) });
    expect(checkpoints.map((c) => c.round)).toEqual([1]);
    expect(checkpoints[0].ticket).toEqual(ticket);
    // A reloaded page resumes from the stored checkpoint; the imported file is not needed again.
    const resumed = await runCapturing(config, checkpoints[0]);
    expect(withoutTimings(resumed.results)).toEqual(withoutTimings(whole));
    expect(resumed.results.rounds[0].trainSeconds).toBe(whole.rounds[0].trainSeconds);
    expect(resumed.checkpoints).toEqual([]);
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);
});
