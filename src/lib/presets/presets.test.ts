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
import { KERNEL_SIZES } from './kernel-sizes';
import type { Preset } from './preset';
import { activePreset, PRESETS, presetConfig, presetGuidance, presetRuns, presetSeedConfigs } from './presets';
import { PRUNE_LENET } from './prune-lenet';
import { BANDS_OVERLAP, compareBands, formatSpread, spreadOf } from './preset';
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

/** A fabricated finished run of `preset` on `seed` with the given method output (its method's own keys included). */
function fabricated(preset: Preset, output: MethodOutput & Record<string, unknown>, seed = 3, startedAt = '2026-12-01T00:00:00.000Z'): RunResults {
  return <RunResults>{
    ...output,
    config: { ...presetConfig(preset), seed },
    method: preset.config.method,
    backend: 'wasm',
    adapter: null,
    backendInfo: { backend: 'wasm', adapter: null, notice: null, threads: 2, simd: true },
    dataset: { source: 'synthetic', train: 2700, validation: 300, test: 500, classes: 10 },
    imagesPerSecond: 1,
    seconds: 1,
    startedAt,
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
      expect(preset.seeds[0], preset.id).toBe(file.seed);
      expect(preset.seeds.length, preset.id).toBeGreaterThanOrEqual(3);
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
      expect(presetGuidance(preset, []), preset.id).toEqual({ finished: false, text: preset.lookFor });
      expect(preset.lookFor, preset.id).not.toMatch(/\d%/);
    }
  });

  it('reads the latest finished run of each of the preset\'s seeds, in seed order, and nothing else', () => {
    const run = (seed: number, accuracy: number, startedAt?: string) => fabricated(PRUNE_LENET, { rounds: [round(0, 0, accuracy)] }, seed, startedAt);
    const [first, second] = PRUNE_LENET.seeds;
    const older = run(second, 0.3, '2026-12-01T00:00:00.000Z');
    const newer = run(second, 0.4, '2026-12-01T01:00:00.000Z');
    const firstSeed = run(first, 0.5);
    const undeclared = run(99, 0.6);
    const edited = { ...run(first, 0.7), config: { ...presetConfig(PRUNE_LENET), train: { ...presetConfig(PRUNE_LENET).train, lr: 0.5 } } };
    const renamed = { ...firstSeed, config: { ...firstSeed.config, name: 'mine', backend: 'wasm' as const } };
    expect(presetRuns(PRUNE_LENET, [newer, undeclared, older, edited, renamed])).toEqual([renamed, newer]);
    expect(presetRuns(PRUNE_LENET, [undeclared, edited])).toEqual([]);
    const runs = presetRuns(PRUNE_LENET, [firstSeed, newer]);
    expect(presetGuidance(PRUNE_LENET, runs)).toEqual({
      finished: true,
      text: `${PRUNE_LENET.readRuns(runs)} (1 of the preset's ${PRUNE_LENET.seeds.length} seeds still to run.)`,
    });
    // The full run queues every seed of the preset, the file's own first.
    expect(presetSeedConfigs(PRUNE_LENET).map((c) => c.seed)).toEqual([...PRUNE_LENET.seeds]);
    expect(presetSeedConfigs(PRUNE_LENET).map((c) => ({ ...c, seed: 0 }))).toEqual(PRUNE_LENET.seeds.map(() => ({ ...presetConfig(PRUNE_LENET), seed: 0 })));
  });
});

describe('guidance computed from the finished runs, one per seed', () => {
  it('spreads are mean ± half the min-max band, and bands are compared as drawn', () => {
    const spread = spreadOf([0.7, 0.74, 0.72]);
    expect(spread).toEqual({ mean: expect.closeTo(0.72, 10), min: 0.7, max: 0.74, count: 3 });
    expect(formatSpread(spread)).toBe('72.0% ± 2.0');
    expect(formatSpread(spreadOf([0.5]))).toBe('50.0%');
    expect(compareBands(spread, spreadOf([0.6, 0.69]))).toBe('above');
    expect(compareBands(spreadOf([0.6, 0.69]), spread)).toBe('below');
    expect(compareBands(spread, spreadOf([0.6, 0.7]))).toBe('overlap');
  });

  /** Three seeds of ticket-vs-random, ending at 2% of weights remaining with the given accuracies per seed. */
  function ticketRuns(ticket: number[], reinit: number[], prune: number[]): RunResults[] {
    return TICKET_VS_RANDOM.seeds.map((seed, i) =>
      fabricated(
        TICKET_VS_RANDOM,
        {
          rounds: [round(0, 0, 0.75 + i * 0.01), round(1, 0.98, ticket[i])],
          controls: { randomReinit: [round(0, 0, 0.75), round(1, 0.98, reinit[i])], randomPrune: [round(0, 0, 0.75), round(1, 0.98, prune[i])] },
        },
        seed,
      ),
    );
  }

  it('ticket-vs-random quotes the ticket and both controls as mean ± spread at the sparsest round, and says the ticket stands apart', () => {
    const text = TICKET_VS_RANDOM.readRuns(ticketRuns([0.7, 0.72, 0.74], [0.5, 0.55, 0.6], [0.3, 0.35, 0.36]));
    expect(text).toContain(
      'In your run (seeds 1, 2, 3) the ticket kept 72.0% ± 2.0 test accuracy at 2.0% of weights remaining; random reinit 55.0% ± 5.0, random pruning 33.7% ± 3.0 ' +
        '(dense 76.0% ± 1.0, chance 10.0%; mean ± half the range over seeds, as the chart draws its band).',
    );
    expect(text).toContain("At the sparsest round the ticket's band lies above random reinit's and lies above random pruning's. The lottery-ticket claim");
    expect(text).not.toContain('overlap');
  });

  it('ticket-vs-random says so when the bands overlap, and that one seed has no spread', () => {
    const overlap = TICKET_VS_RANDOM.readRuns(ticketRuns([0.6, 0.7, 0.74], [0.5, 0.55, 0.62], [0.3, 0.35, 0.36]));
    expect(overlap).toContain(
      "At the sparsest round the ticket's band overlaps random reinit's and lies above random pruning's: the bands overlap here: more rounds or seeds would tell.",
    );
    const [one] = ticketRuns([0.7, 0, 0], [0.5, 0, 0], [0.3, 0, 0]);
    const quick = TICKET_VS_RANDOM.readRuns([one]);
    expect(quick).toContain('In your run (seed 1) the ticket kept 70.0% test accuracy at 2.0% of weights remaining; random reinit 50.0%, random pruning 30.0% (dense 75.0%, chance 10.0%).');
    expect(quick).toContain('One seed has no spread to judge a gap by: run all 3 seeds');
  });

  it('early-bird quotes the ticket epoch per seed, the accuracies against the dense baseline and the compute, and whether every seed was early', () => {
    const summary = (epoch: number | null, retrained: number, dense: number): Partial<TicketSummary> => ({
      epoch,
      scheduleEpochs: 20,
      accuracyAtTicket: 0.6,
      accuracyAtPruning: epoch === null ? null : 0.3,
      accuracyAfterRetraining: epoch === null ? null : retrained,
      accuracyDense: dense,
      flopsTotal: epoch === null ? 100 : 50 + epoch,
      flopsDense: 100,
    });
    const runs = (epochs: (number | null)[], retrained = [0.6, 0.62, 0.58], dense = [0.61, 0.63, 0.6]) =>
      EARLY_BIRD.seeds.map((seed, i) => fabricated(EARLY_BIRD, { rounds: [round(0, 0, 0.6)], ticket: summary(epochs[i], retrained[i], dense[i]) }, seed));
    const early = EARLY_BIRD.readRuns(runs([4, 5, 6]));
    expect(early).toContain(
      'In your run (seeds 1, 2, 3) the ticket came at epoch 5.0 ± 1.0 of 20 (4, 5, 6 by seed); test accuracy was 60.0% ± 0.0 at the ticket and 60.0% ± 2.0 after retraining, ' +
        'against 61.3% ± 1.5 for the dense network trained the whole schedule; the ticket took 55.0% ± 1.0 of the dense training FLOPs ' +
        '(mean ± half the range over seeds, as the chart draws its band). Every seed drew its ticket in the first half of the schedule, by epoch 6 of 20.',
    );
    expect(early).toContain(
      "Retrained, the tickets' band and the dense band overlap (1.3 points apart in the mean): the tickets matched the dense network within the seed spread, as the claim expects.",
    );
    expect(EARLY_BIRD.readRuns(runs([4, 5, 6], [0.5, 0.52, 0.54]))).toContain(
      "Retrained, the tickets' band lies below the dense band: they fell short of the dense network by 9.3 points in the mean, beyond the seed spread.",
    );
    expect(EARLY_BIRD.readRuns(runs([4, 14, null]))).toContain('the ticket came at epoch 9.0 ± 5.0 of 20 (4, 14 by seed), and 1 seed drew none;');
    expect(EARLY_BIRD.readRuns(runs([4, 14, null]))).toContain(
      'Some seeds drew it in the first half of the schedule and some later or not at all: the bands overlap here: more rounds or seeds would tell.',
    );
    expect(EARLY_BIRD.readRuns(runs([12, 14, 16]))).toContain('Every seed drew its ticket only in the second half of the schedule: not early here.');
    expect(EARLY_BIRD.readRuns(runs([null, null, null]))).toContain('no ticket was drawn in 20 epochs');
    expect(EARLY_BIRD.readRuns(runs([null, null, null]))).toContain('(61.3% ± 1.5 test accuracy)');
    const [one] = runs([5, 5, 5]);
    expect(EARLY_BIRD.readRuns([one])).toContain('In your run (seed 1) the ticket came at epoch 5 of 20 (5 by seed)');
    expect(EARLY_BIRD.readRuns([one])).toContain('One seed has no spread to judge a gap by');
  });

  it('colt-vs-imp quotes both sparsities after the same rounds and the accuracies at matched sparsity, over seeds', () => {
    // IMP's rounds as measured layer counts: the conv layers (900 weights) are the pruned ones.
    const impRound = (index: number, convRemaining: number) =>
      round(index, 0, 0.25, [
        { name: 'conv_1', weights: 300, remaining: convRemaining / 3 },
        { name: 'conv_2', weights: 600, remaining: (2 * convRemaining) / 3 },
        { name: 'dense_1', weights: 10_000, remaining: 10_000 },
      ]);
    const coltRound = (index: number, sparsity: number) => ({ round: index, sparsity, testAccuracy: 0.5, perModel: [], overlap: [] });
    const run = (seed: number, coltSparsity: number, impRemaining: number, coltAccuracy: number, impAccuracy: number) =>
      fabricated(
        COLT_VS_IMP,
        {
          rounds: [round(0, 0, 0.5)],
          colt: {
            segments: [
              [0, 1, 2, 3, 4],
              [5, 6, 7, 8, 9],
            ],
            prunedLayers: ['conv_1', 'conv_2'],
            rounds: [coltRound(0, 0), coltRound(1, 0.2), coltRound(2, coltSparsity)],
            imp: {
              rounds: [impRound(0, 900), impRound(1, 765), impRound(2, impRemaining)],
              matched: [{ coltRound: 2, coltSparsity, coltAccuracy, impRound: 2, impSparsity: 1 - impRemaining / 900, impAccuracy }],
            },
          },
        },
        seed,
      );
    const apart = COLT_VS_IMP.readRuns([run(1, 0.4, 650, 0.5, 0.52), run(2, 0.42, 650, 0.52, 0.5), run(3, 0.44, 650, 0.54, 0.53)]);
    expect(apart).toContain(
      'In your run (seeds 1, 2, 3), after 2 rounds COLT with 2 segments had pruned 42.0% ± 2.0 of the conv weights, IMP at the same rate 27.8%',
    );
    expect(apart).toContain('COLT got sparser in the same rounds in every seed, beyond the seed spread.');
    expect(apart).toContain("Their accuracies near that sparsity: the bands overlap here: more rounds or seeds would tell whether either is more accurate.");
    const close = COLT_VS_IMP.readRuns([run(1, 0.27, 650, 0.5, 0.7), run(2, 0.3, 630, 0.52, 0.72), run(3, 0.28, 660, 0.54, 0.73)]);
    expect(close).toContain("COLT's and IMP's sparsities after the same rounds: the bands overlap here: more rounds or seeds would tell.");
    expect(close).toContain('Their accuracies near that sparsity differ beyond the seed spread.');
  });

  it('hidden-network quotes the searched mask, the random mask of its k, chance and dense over seeds, and whether the searched band lies above the random mask and chance', () => {
    const search = (k: number, testAccuracy: number, untrainedMaskAccuracy: number) => ({ k, testAccuracy, untrainedMaskAccuracy, weightsUnchanged: true, maskChangePerEpoch: [0.1] });
    const run = (seed: number, ticketAccuracy: number, randomMask = 0.1, dense: number | null = 0.45) =>
      fabricated(
        HIDDEN_NETWORK,
        {
          rounds: [round(0, 0.5, ticketAccuracy)],
          edgepopup: { k: 0.5, weightsUnchanged: true, maskChangePerEpoch: [0.1], weightInit: 'signed-constant', searches: [search(0.5, ticketAccuracy, randomMask)], dense },
        },
        seed,
      );
    const apart = HIDDEN_NETWORK.readRuns([run(1, 0.3, 0.1), run(2, 0.34, 0.12), run(3, 0.32, 0.08)]);
    expect(apart).toContain(
      'In your run (seeds 1, 2, 3) the mask searched at k = 0.5 reached 32.0% ± 2.0 test accuracy with every weight bit-identical to its random start; ' +
        'a random mask of that k in the same random network scored 10.0% ± 2.0 (chance 10.0%, dense network trained on the same budget 45.0% ± 0.0; mean ± half the range over seeds, as the chart draws its band).',
    );
    expect(apart).toContain("At k = 0.5 the searched mask's band lies above the random mask's, by 22.0 points in the mean; every seed's searched mask is above chance (the lowest 20.0 points above).");
    expect(apart).not.toContain('overlap');

    const overlap = HIDDEN_NETWORK.readRuns([run(1, 0.1, 0.1), run(2, 0.16, 0.12), run(3, 0.2, 0.08, null)]);
    expect(overlap).toContain('scored 10.0% ± 2.0 (chance 10.0%; mean');
    expect(overlap).toContain(
      "At k = 0.5 the searched mask's band and the random mask's: the bands overlap here: more rounds or seeds would tell; not every seed's searched mask is above chance",
    );

    // A quick run (one seed) weighs the ticket against chance by the noise of the test set, and says one seed has no spread.
    const quick = HIDDEN_NETWORK.readRuns([run(1, 0.3)]);
    expect(quick).toContain('In your run (seed 1) the mask searched at k = 0.5 reached 30.0% test accuracy');
    // 2·sqrt((0.3·0.7 + 0.1·0.9) / 500) = 0.049
    expect(quick).toContain('a gap under about 4.9 points is within the noise: the ticket is above chance by more than that.');
    expect(quick).toContain('One seed has no spread to judge a gap by: run all 3 seeds');
    expect(HIDDEN_NETWORK.readRuns([run(1, 0.12)])).toContain('the ticket is not clearly above chance in this run.');
  });

  it('kernel-sizes quotes the channels each kernel size kept of the supernet\'s, accuracy and regrowth over seeds, and whether the 3x3 and 5x5 bands lie apart', () => {
    // Width 0.125: stages of 8, 8, 16 and 16 channels, so each branch starts with 48.
    const arm = (k3: number, k5: number, testAccuracy: number, regrowth: number[]) => ({
      channels: { conv_1: { k3: 8, k5: k5 }, conv_2: { k3: k3 - 40, k5: 0 }, conv_3: { k3: 16, k5: 0 }, conv_4: { k3: 16, k5: 0 } },
      flops: 1,
      params: 1,
      testAccuracy,
      sparsity: 0.9,
      trainSeconds: 1,
      events: regrowth.map((r) => ({ regrowth: r })),
    });
    const runs = (k3: number[], k5: number[]) =>
      KERNEL_SIZES.seeds.map((seed, i) =>
        fabricated(
          KERNEL_SIZES,
          { rounds: [round(0, 0.9, 0.3)], supertickets: { branches: [3, 5], arms: { twoInOne: arm(k3[i], k5[i], 0.3 + i / 100, [0, 0.01 * (i + 1)]), monotone: arm(k3[i], k5[i], 0.25, [0, 0]) } } },
          seed,
        ),
      );
    const apart = KERNEL_SIZES.readRuns(runs([48, 47, 46], [10, 14, 18]));
    expect(apart).toContain(
      'In your run (seeds 1, 2, 3) the search kept 47.0 ± 1.0 of 48 3x3 and 14.0 ± 4.0 of 48 5x5 branch channels (mean ± half the range over seeds, as the chart draws its band); ' +
        'two-in-one reached 31.0% ± 1.0 test accuracy at 90.0% sparsity, monotone masks 25.0% ± 0.0. The largest regrowth at an event was 2.0% ± 1.0 in regrow mode and 0.0% in monotone mode.',
    );
    expect(apart).toContain('The 3x3 branches kept more channels than the 5x5 in every seed, beyond the seed spread');
    expect(apart).toContain("Two-in-one's accuracy lies above monotone masks' beyond the seed spread.");
    expect(KERNEL_SIZES.readRuns(runs([48, 44, 42], [40, 46, 47]))).toContain(`The channels kept by the 3x3 and the 5x5 branches: ${BANDS_OVERLAP}.`);
    const close = runs([48, 47, 46], [10, 14, 18]).map((run, i) => {
      const out = (run as unknown as { supertickets: { arms: { monotone: { testAccuracy: number } } } }).supertickets;
      out.arms.monotone = { ...out.arms.monotone, testAccuracy: 0.3 + i / 50 };
      return run;
    });
    expect(KERNEL_SIZES.readRuns(close)).toContain(`Two-in-one's and monotone masks' accuracies: ${BANDS_OVERLAP}.`);
    const quick = KERNEL_SIZES.readRuns(runs([48, 47, 46], [10, 14, 18]).slice(0, 1));
    expect(quick).toContain('In your run (seed 1) the search kept 48 of 48 3x3 and 10 of 48 5x5 branch channels;');
    expect(quick).toContain('One seed has no spread to judge a gap by: run all 3 seeds');
  });

  it('prune-lenet finds the first round whose band falls wholly below the dense band, or says the bands overlap', () => {
    const sparsities = [0, 0.5, 0.75, 0.875];
    const runs = (perRound: number[][]) =>
      PRUNE_LENET.seeds.map((seed, s) => fabricated(PRUNE_LENET, { rounds: perRound.map((accuracies, i) => round(i, sparsities[i], accuracies[s])) }, seed));
    const fell = PRUNE_LENET.readRuns(runs([[0.5, 0.52, 0.54], [0.5, 0.53, 0.55], [0.45, 0.5, 0.51], [0.3, 0.35, 0.4]]));
    expect(fell).toContain(
      "In your run (seeds 1, 2, 3) the ticket's test accuracy went from 52.0% ± 2.0 dense to 35.0% ± 5.0 at 12.5% of weights remaining (chance 10.0%; mean ± half the range over seeds, as the chart draws its band).",
    );
    expect(fell).toContain('Its band first fell wholly below the dense band at 12.5% remaining (35.0% ± 5.0); at 25.0% it had not (48.7% ± 3.0).');
    const held = PRUNE_LENET.readRuns(runs([[0.5, 0.52, 0.54], [0.5, 0.53, 0.55], [0.45, 0.5, 0.51], [0.45, 0.5, 0.51]]));
    expect(held).toContain('Its band never fell wholly below the dense band: the bands overlap here: more rounds or seeds would tell.');
    expect(held).not.toContain('wholly above');
    const rose = PRUNE_LENET.readRuns(runs([[0.3, 0.31, 0.27], [0.4, 0.42, 0.44], [0.35, 0.38, 0.3], [0.28, 0.3, 0.31]]));
    expect(rose).toContain(
      'Its band lay wholly above the dense band at 50.0% remaining: there the pruned network beat the dense one beyond the seed spread. Its band never fell wholly below the dense band',
    );
  });

  it('which-filters quotes the significant rows, head-only, full and each rule at the largest K over seeds, and whether KS rows beat random and L2 rows beyond the seed spread', () => {
    const point = (k: number, partialTuning: number) => ({ k, partialTuning, partialTransfer: 0.3, perLayer: [] });
    const run = (seed: number, ks: number, significant = 40) =>
      fabricated(
        WHICH_FILTERS,
        {
          rounds: [round(0, 0, 0.5)],
          kslottery: {
            rowsSignificant: significant,
            rowsTotal: 160,
            alpha: 0.05,
            targetTestImages: 250,
            arms: { headOnly: 0.4, full: 0.6, significant: null, ks: [point(8, 0.41), point(40, ks)], l2: [point(8, 0.45), point(40, 0.5)], random: [point(8, 0.4), point(40, 0.44)] },
          },
        },
        seed,
      );
    const apart = WHICH_FILTERS.readRuns([run(1, 0.55, 38), run(2, 0.57, 40), run(3, 0.59, 45)]);
    expect(apart).toContain(
      'In your run (seeds 1, 2, 3) 41.0 ± 3.5 of 160 rows had p < 0.05. Head only reached 40.0% ± 0.0, full fine-tuning 60.0% ± 0.0; ' +
        'tuning 40 rows chosen by KS reached 57.0% ± 2.0, by L2 change 50.0% ± 0.0, at random 44.0% ± 0.0 (mean ± half the range over seeds, as the chart draws its band).',
    );
    expect(apart).toContain('At 40 rows KS rows beat random rows beyond the seed spread; KS rows beat L2 rows beyond the seed spread. KS-Lottery');
    const overlap = WHICH_FILTERS.readRuns([run(1, 0.42), run(2, 0.46), run(3, 0.52)]);
    expect(overlap).toContain('At 40 rows KS rows and random rows: the bands overlap here: more rounds or seeds would tell; KS rows and L2 rows: the bands overlap here');
    expect(WHICH_FILTERS.readRuns([run(1, 0.3), run(2, 0.32), run(3, 0.33)])).toContain('At 40 rows random rows beat KS rows beyond the seed spread; L2 rows beat KS rows beyond the seed spread.');

    // A quick run (one seed) weighs the gap against the noise of the target test set, and says one seed has no spread.
    const text = WHICH_FILTERS.readRuns([run(3, 0.52)]);
    expect(text).toContain(
      'In your run (seed 3) 40 of 160 rows had p < 0.05. Head only reached 40.0%, full fine-tuning 60.0%; tuning 40 rows chosen by KS reached 52.0%, by L2 change 50.0%, at random 44.0%.',
    );
    // 2·sqrt((0.52·0.48 + 0.5·0.5) / 250) = 0.089.
    expect(text).toContain('On 250 target test images a gap under about 8.9 points is within the noise: KS rows came first, but not by more than that.');
    expect(text).toContain('One seed has no spread to judge a gap by: run all 3 seeds');
    expect(WHICH_FILTERS.readRuns([run(3, 0.7)])).toContain('KS rows won by more than that.');
  });
});
