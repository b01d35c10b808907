import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../engine/config';
import type { TicketSummary } from '../engine/methods/earlybird/results';
import { METHOD_REGISTRY } from '../engine/methods/registry';
import type { MethodOutput, RoundResult, RunResults } from '../engine/results';
import { COLT_VS_IMP } from './colt-vs-imp';
import { EARLY_BIRD } from './early-bird';
import { HIDDEN_NETWORK } from './hidden-network';
import type { Preset } from './preset';
import { activePreset, PRESETS, presetConfig, presetGuidance } from './presets';
import { PRUNE_LENET } from './prune-lenet';
import { TICKET_VS_RANDOM } from './ticket-vs-random';
import { WHICH_FILTERS } from './which-filters';

const PRESET_DIR = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../experiments/presets');

/** A finished round with only what the guidance reads filled in meaningfully. */
function round(index: number, sparsity: number, testAccuracy: number, layers: RoundResult['layers'] = []): RoundResult {
  return {
    round: index,
    sparsity,
    layers,
    testAccuracy,
    earlyStopIteration: 0,
    testAccuracyAtEarlyStop: testAccuracy,
    trainSeconds: 1,
    iterations: 1,
    imagesPerSecond: 1,
    curve: [],
  };
}

/** A fabricated finished run of `preset` with seed 3 and the given method output (its method's own keys included). */
function fabricated(preset: Preset, output: MethodOutput & Record<string, unknown>, test = 500): RunResults {
  return <RunResults>{
    ...output,
    config: { ...presetConfig(preset), seed: 3 },
    method: preset.config.method,
    backend: 'wasm',
    adapter: null,
    backendInfo: { backend: 'wasm', adapter: null, notice: null, threads: 2, simd: true },
    dataset: { source: 'synthetic', train: 2700, validation: 300, test, classes: 10 },
    imagesPerSecond: 1,
    seconds: 1,
    startedAt: '2026-12-01T00:00:00.000Z',
  };
}

describe('classroom presets', () => {
  it('each preset is its file in experiments/presets, on the built-in synthetic set, for a registered method', () => {
    const files = readdirSync(PRESET_DIR).filter((f) => f.endsWith('.json'));
    expect(files.sort()).toEqual(PRESETS.map((p) => `${p.id}.json`).sort());
    for (const preset of PRESETS) {
      const file = parseConfig(JSON.parse(readFileSync(path.join(PRESET_DIR, `${preset.id}.json`), 'utf8')));
      expect(presetConfig(preset), preset.id).toEqual(file);
      expect(file.name, preset.id).toBe(`preset-${preset.id}`);
      expect(file.data.source, preset.id).toBe('synthetic');
      expect(METHOD_REGISTRY[file.method], preset.id).toBeDefined();
      expect(preset.title.endsWith('?'), preset.id).toBe(true);
    }
  });

  it('the ticket-vs-random preset trains both random controls beside the ticket', () => {
    expect(TICKET_VS_RANDOM.config.method).toBe('imp');
    expect([...TICKET_VS_RANDOM.config.controls].sort()).toEqual(['randomPrune', 'randomReinit']);
  });

  it('a loaded preset is recognised until one field changes', () => {
    const [first, second] = PRESETS;
    expect(activePreset(presetConfig(first))?.id).toBe(first.id);
    expect(activePreset(presetConfig(second))?.id).toBe(second.id);
    const edited = presetConfig(first);
    edited.seed += 1;
    expect(activePreset(edited)).toBeUndefined();
    expect(activePreset(null)).toBeUndefined();
    // The builder edits its own copy, never the preset.
    expect(first.config.seed).toBe(1);
  });

  it('until a run of the preset has finished, the guidance says what to look for, with no measured figure', () => {
    for (const preset of PRESETS) {
      expect(presetGuidance(preset, null), preset.id).toEqual({ finished: false, text: preset.lookFor });
      expect(preset.lookFor, preset.id).not.toMatch(/\d%/);
    }
    // A finished run of another experiment (here: another seed) is not this preset's run.
    const otherSeed = fabricated(PRUNE_LENET, { rounds: [round(0, 0, 0.2)] });
    expect(presetGuidance(PRUNE_LENET, otherSeed).finished).toBe(false);
    const sameRun = { ...otherSeed, config: presetConfig(PRUNE_LENET) };
    expect(presetGuidance(PRUNE_LENET, sameRun)).toEqual({ finished: true, text: PRUNE_LENET.readRun(sameRun) });
  });
});

describe('guidance computed from the finished run', () => {
  it('ticket-vs-random quotes the ticket, both controls and dense at the sparsest round, and says where the ticket ended against the noise', () => {
    const run = (reinit: number) =>
      fabricated(TICKET_VS_RANDOM, {
        rounds: [round(0, 0, 0.26), round(1, 0.4, 0.29), round(2, 0.64, 0.3), round(3, 0.78, 0.312)],
        controls: {
          randomReinit: [round(0, 0, 0.26), round(3, 0.78, reinit)],
          randomPrune: [round(0, 0, 0.26), round(3, 0.78, 0.224)],
        },
      });
    const text = TICKET_VS_RANDOM.readRun(run(0.231));
    expect(text).toContain(
      'In your run (seed 3) the ticket kept 31.2% test accuracy at 22.0% of weights remaining; random reinit 23.1%, random pruning 22.4% (dense 26.0%, chance 10.0%).',
    );
    // 2·sqrt((0.312·0.688 + 0.231·0.769) / 500) = 0.056.
    expect(text).toContain('On 500 test images a gap under about 5.6 points is within the noise: the ticket finished ahead of both controls by more than that.');
    expect(text).toContain('The lottery-ticket claim is that only the ticket keeps its accuracy');
    expect(TICKET_VS_RANDOM.readRun(run(0.29))).toContain('the ticket finished within that of random reinit, so this run does not separate them.');
    expect(TICKET_VS_RANDOM.readRun(run(0.4))).toContain('the ticket finished behind random reinit by more than that.');
  });

  it('early-bird quotes when the ticket came, what it pruned, the three accuracies and the compute', () => {
    const summary = (epoch: number | null): Partial<TicketSummary> => ({
      epoch,
      scheduleEpochs: 20,
      channelsKept: epoch === null ? null : 34,
      channelsTotal: 48,
      accuracyAtTicket: 0.3,
      accuracyAtPruning: epoch === null ? null : 0.22,
      accuracyAfterRetraining: epoch === null ? null : 0.27,
      flopsTotal: 87,
      flopsDense: 100,
    });
    const run = (epoch: number | null) => fabricated(EARLY_BIRD, { rounds: [round(0, 0, 0.3)], ticket: summary(epoch) });
    expect(EARLY_BIRD.readRun(run(15))).toContain(
      'In your run (seed 3) the ticket came at epoch 15 of 20, only in the second half of the schedule, with 14 of 48 channels pruned; ' +
        'test accuracy was 30.0% at the ticket, 22.0% right after pruning, 27.0% after retraining, for 87% of the dense training FLOPs.',
    );
    expect(EARLY_BIRD.readRun(run(4))).toContain('the ticket came at epoch 4 of 20, in the first half of the schedule,');
    expect(EARLY_BIRD.readRun(run(null))).toContain(
      'In your run (seed 3) no ticket was drawn in 20 epochs: the channel masks never came within ε of the last four, so the network trained dense to the end (30.0% test accuracy).',
    );
    expect(EARLY_BIRD.readRun(run(15))).toContain('The EarlyBird claim is that the channel mask settles early');
  });

  it('colt-vs-imp quotes COLT’s sparsity per round, where IMP got to, and the accuracies at matched sparsity', () => {
    // IMP's rounds as measured layer counts: the conv layers (900 weights) are the pruned ones.
    const impRound = (index: number, convRemaining: number) =>
      round(index, 0, 0.25, [
        { name: 'conv_1', weights: 300, remaining: convRemaining / 3 },
        { name: 'conv_2', weights: 600, remaining: (2 * convRemaining) / 3 },
        { name: 'dense_1', weights: 10_000, remaining: 10_000 },
      ]);
    const coltRound = (index: number, sparsity: number, testAccuracy: number) => ({ round: index, sparsity, testAccuracy, perModel: [], overlap: [] });
    const text = COLT_VS_IMP.readRun(
      fabricated(COLT_VS_IMP, {
        rounds: [round(0, 0, 0.26)],
        colt: {
          segments: [
            [0, 1, 2, 3, 4],
            [5, 6, 7, 8, 9],
          ],
          prunedLayers: ['conv_1', 'conv_2'],
          rounds: [coltRound(0, 0, 0.26), coltRound(1, 0.23, 0.27), coltRound(2, 0.4, 0.25), coltRound(3, 0.54, 0.21)],
          imp: {
            rounds: [impRound(0, 900), impRound(1, 765), impRound(2, 650), impRound(3, 553), impRound(4, 468)],
            matched: [{ coltRound: 3, coltSparsity: 0.54, coltAccuracy: 0.21, impRound: 4, impSparsity: 0.48, impAccuracy: 0.28 }],
          },
        },
      }),
    );
    expect(text).toContain(
      'In your run (seed 3) COLT with 2 segments pruned 23.0%, 40.0%, 54.0% of the conv weights in 3 rounds, while IMP at the same rate reached 48.0% after 4.',
    );
    // 2·sqrt((0.21·0.79 + 0.28·0.72) / 500) = 0.054.
    expect(text).toContain(
      "At COLT's sparsest round (54.0%) its full network reached 21.0% test accuracy, IMP's nearest round (48.0%) 28.0%; on 500 test images a gap under about 5.4 points is within the noise.",
    );
    expect(text).toContain('COLT keeps only the weights every class-segment model keeps');
  });

  it('hidden-network quotes the searched ticket, the random mask, the other k, chance and dense, and says whether the ticket beat chance beyond the noise', () => {
    const search = (k: number, testAccuracy: number, untrainedMaskAccuracy: number) => ({ k, testAccuracy, untrainedMaskAccuracy, weightsUnchanged: true, maskChangePerEpoch: [0.1] });
    const run = (ticketAccuracy: number) =>
      fabricated(HIDDEN_NETWORK, {
        rounds: [round(0, 0.5, ticketAccuracy), round(1, 0.9, 0.2), round(2, 0, 0.1)],
        edgepopup: {
          k: 0.5,
          weightsUnchanged: true,
          maskChangePerEpoch: [0.1],
          weightInit: 'signed-constant',
          searches: [search(0.5, ticketAccuracy, 0.1), search(0.1, 0.2, 0.1), search(1, 0.1, 0.1)],
          dense: 0.45,
        },
      });
    const above = HIDDEN_NETWORK.readRun(run(0.3));
    expect(above).toContain(
      'In your run (seed 3) the mask searched at k = 0.5 reached 30.0% test accuracy with every weight bit-identical to its random start; ' +
        'the same random network under a random mask of that k scored 10.0%, and the other searches k = 0.1 20.0%, k = 1 10.0% (chance 10.0%, dense network trained on the same budget 45.0%).',
    );
    // 2·sqrt((0.3·0.7 + 0.1·0.9) / 500) = 0.049
    expect(above).toContain('a gap under about 4.9 points is within the noise: the ticket is above chance by more than that.');
    expect(HIDDEN_NETWORK.readRun(run(0.12))).toContain('the ticket is not clearly above chance in this run.');
  });

  it('prune-lenet quotes the accuracy from dense to the sparsest round and where it first fell beyond the noise, if it did', () => {
    const remaining = [0, 0.5, 0.75, 0.875, 0.9375, 0.96875, 0.984];
    const run = (last: number) =>
      fabricated(PRUNE_LENET, { rounds: [0.2, 0.21, 0.19, 0.22, 0.18, 0.17, last].map((accuracy, i) => round(i, remaining[i], accuracy)) });
    const held = PRUNE_LENET.readRun(run(0.16));
    expect(held).toContain(
      "In your run (seed 3) the ticket's test accuracy went from 20.0% dense to 16.0% at 1.6% of weights remaining (between 16.0% and 22.0% on the way; chance 10.0%).",
    );
    // 2·sqrt((0.2·0.8 + 0.16·0.84) / 500) = 0.049: 4 points is within it.
    expect(held).toContain('It never fell below the dense network by more than the noise of 500 test images (about 4.9 points at the sparsest round).');
    expect(PRUNE_LENET.readRun(run(0.1))).toContain(
      'It first fell below the dense network by more than the noise of 500 test images (about 4.5 points) at 1.6% remaining, with 10.0%.',
    );
  });

  it('which-filters quotes the significant rows, head-only, full, each rule at the largest K, and whether the winner beat the noise', () => {
    const point = (k: number, partialTuning: number) => ({ k, partialTuning, partialTransfer: 0.3, perLayer: [] });
    const run = (ks: number) =>
      fabricated(WHICH_FILTERS, {
        rounds: [round(0, 0, 0.5)],
        kslottery: {
          rowsSignificant: 40,
          rowsTotal: 160,
          alpha: 0.05,
          targetTestImages: 250,
          arms: { headOnly: 0.4, full: 0.6, significant: null, ks: [point(8, 0.41), point(40, ks)], l2: [point(8, 0.45), point(40, 0.5)], random: [point(8, 0.4), point(40, 0.44)] },
        },
      });
    const text = WHICH_FILTERS.readRun(run(0.52));
    expect(text).toContain(
      'In your run (seed 3) 40 of 160 rows had p < 0.05. Head only reached 40.0%, full fine-tuning 60.0%; tuning 40 rows chosen by KS reached 52.0%, by L2 change 50.0%, at random 44.0%.',
    );
    // 2·sqrt((0.52·0.48 + 0.5·0.5) / 250) = 0.089.
    expect(text).toContain('On 250 target test images a gap under about 8.9 points is within the noise: KS rows came first, but not by more than that.');
    expect(WHICH_FILTERS.readRun(run(0.7))).toContain('KS rows won by more than that.');
  });
});

