/**
 * Classroom presets: one question each, a config sized to finish in minutes
 * on the built-in synthetic set (no download), and what to look for once it
 * has run. Choosing one replaces the builder's draft; the guidance shows
 * while the draft is still that preset's config.
 *
 * Measured in Node on this project's 2-core machine (wasm on two threads, no
 * GPU, nothing else running), after our SIMD kernels changed the order of
 * some sums: ticket-vs-random 129 s, early-bird 192 s, colt-vs-imp 134 s,
 * prune-lenet 50 s (54 s in Chromium in the e2e suite). The numbers quoted
 * in the guidance come from those runs (seed 1). Our kernels give the same
 * results on any number of threads.
 */
import { parseConfig, type ExperimentConfig, type ExperimentConfigInput } from '../engine/config';

export interface Preset {
  id: string;
  /** The question the run answers. */
  title: string;
  /** Two sentences: what to look at, and what this small run can and cannot show. */
  guidance: string;
  config: ExperimentConfigInput;
}

/** A few thousand generated images: quick to train on with wasm, and the same for every preset so their numbers compare. */
const SYNTHETIC_DATA = { source: 'synthetic', syntheticTrain: 3000, syntheticTest: 500, validation: 300 } as const;

export const PRESETS: readonly Preset[] = [
  {
    id: 'ticket-vs-random',
    title: 'Does a ticket beat a random mask?',
    guidance:
      'Follow the ticket (blue) against random reinit (orange) and random pruning (green) on the accuracy chart as the weights remaining fall to 22%: the lottery-ticket claim is that only the ticket keeps its accuracy, and that its early-stop point (dashed) comes sooner. ' +
      'In our run (seed 1) the ticket ended at 31% test accuracy against 23% and 22% for the controls (26% dense, chance 10%), but on 500 test images a gap of a few points can shrink or flip with another seed, so change the seed and run again before drawing a conclusion.',
    config: {
      name: 'preset-ticket-vs-random',
      method: 'imp',
      model: { arch: 'conv-2', width: 0.25 },
      data: SYNTHETIC_DATA,
      train: { optimizer: 'adam', lr: 2e-3, batchSize: 60, iterations: 150, evalEvery: 25 },
      // Twice the paper's layer-wise rates, so three rounds reach ~22% remaining instead of ~51%.
      prune: { strategy: 'layerwise', rounds: 3, rate: { conv: 0.2, dense: 0.4, output: 0.2 } },
      controls: ['randomReinit', 'randomPrune'],
    },
  },
  {
    id: 'early-bird',
    title: 'How early is the early bird?',
    guidance:
      'Watch the mask-distance chart fall to ε: the ticket is drawn at the first epoch whose channel mask is within ε of each of the last four, and from there the channel-mask picture stops changing; the summary table gives the accuracy right after pruning, after retraining, and the share of dense training compute used. ' +
      'In our run (seed 1) the ticket came only at epoch 15 of 20 with 14 of 48 channels pruned, accuracy fell from 30% to 22% right after pruning and retraining brought it back to 27%, for 87% of the dense training FLOPs: on a network this narrow the channel masks settle late, so the saving is small and the ticket is not more accurate.',
    config: {
      name: 'preset-early-bird',
      method: 'earlybird',
      model: { arch: 'conv-4-bn', width: 0.125 },
      // 2,000 training images after the validation hold-out, as in experiments/earlybird-conv-4-bn-quick.json.
      data: { ...SYNTHETIC_DATA, syntheticTrain: 2300 },
      train: { optimizer: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 1e-4, batchSize: 100, epochs: 20, evalEvery: 20, lrDecayEpochs: [10, 15] },
      // p = 0.3: at width 0.125 the default 0.5 can empty a whole layer (docs/earlybird-worm.md).
      earlybird: { ratios: [0.3], queueLength: 5, epsilon: 0.1, sparsity: 1e-4 },
    },
  },
  {
    id: 'colt-vs-imp',
    title: 'COLT or IMP: who gets sparse faster?',
    guidance:
      'The rounds-to-sparsity view counts rounds to a conv sparsity: COLT keeps only the weights both class-segment models keep, so a round removes more than its 15% per model and it gets sparse in fewer rounds than IMP at the same rate (the accuracy chart counts every weight, so both sit near 100% there). ' +
      'In our run (seed 1) COLT pruned 23%, 40% and then 54% of the conv weights in three rounds while IMP reached 48% after four, and the full-network accuracies of the two (21-28%) were within the noise of 500 test images; each COLT round trains three networks, so it is not cheaper to compute.',
    config: {
      name: 'preset-colt-vs-imp',
      method: 'colt',
      model: { arch: 'conv-2', width: 0.25 },
      data: SYNTHETIC_DATA,
      train: { optimizer: 'adam', lr: 2e-3, batchSize: 60, iterations: 100, evalEvery: 25 },
      prune: { rounds: 4 },
      colt: { segments: 2, rate: 0.15, targetSparsity: 0.5, evaluateEveryRound: true, compareWithImp: true },
    },
  },
  {
    id: 'prune-lenet',
    title: 'How much can you prune LeNet?',
    guidance:
      'Each round removes half of the surviving weights under one global threshold (the output layer stays dense), so six rounds go from 100% to 1.7% remaining: follow the ticket line on the accuracy chart and look for where it bends down. ' +
      'In our run (seed 1) it never did: test accuracy stayed between 16% and 23% all the way down, because a fully connected net that sees these 32×32 colour shapes as a flat vector learns little, and 1 weight in 60 is enough for that little.',
    config: {
      name: 'preset-prune-lenet',
      method: 'imp',
      model: { arch: 'lenet-300-100', width: 1 },
      data: SYNTHETIC_DATA,
      train: { optimizer: 'adam', lr: 1.2e-3, batchSize: 60, iterations: 200, evalEvery: 50 },
      prune: { strategy: 'global', fraction: 0.5, rounds: 6 },
    },
  },
];

/** The preset's config as the builder holds it: validated, defaults filled in. */
export function presetConfig(preset: Preset): ExperimentConfig {
  return parseConfig(preset.config);
}

/** The preset whose config `config` is, unchanged; undefined once anything was edited. */
export function activePreset(config: ExperimentConfig | null): Preset | undefined {
  if (!config) return undefined;
  const json = JSON.stringify(config);
  return PRESETS.find((preset) => JSON.stringify(presetConfig(preset)) === json);
}
