/** "How much can you prune LeNet?": where the ticket's accuracy first falls below the dense network's, beyond the noise. */
import file from '../../../experiments/presets/prune-lenet.json' with { type: 'json' };
import type { RunResults } from '../engine/results';
import { formatPercent } from '../ui/format';
import { chance, definePreset, formatPoints, noiseMargin, remaining, seedOf } from './preset';

const EXPECTED =
  'Each round removes half of the surviving weights under one global threshold (the output layer stays dense); the lottery-ticket papers find that a network keeps its accuracy ' +
  'down to a small share of its weights and then bends down. A fully connected net that sees these 32×32 colour shapes as a flat vector learns little, and a few weights may be enough for that little.';

export const PRUNE_LENET = definePreset(file, {
  id: 'prune-lenet',
  title: 'How much can you prune LeNet?',
  lookFor: 'Follow the ticket line on the accuracy chart as the weights remaining halve each round, and look for where it bends down. ' + EXPECTED,
  readRun(results: RunResults): string {
    const rounds = results.rounds;
    const dense = rounds[0];
    const sparsest = rounds[rounds.length - 1];
    const testImages = results.dataset.test;
    const fell = rounds.find((r) => dense.testAccuracy - r.testAccuracy > noiseMargin(dense.testAccuracy, r.testAccuracy, testImages));
    const bend = fell
      ? `It first fell below the dense network by more than the noise of ${testImages.toLocaleString('en-US')} test images ` +
        `(about ${formatPoints(noiseMargin(dense.testAccuracy, fell.testAccuracy, testImages))}) at ${remaining(fell.sparsity)} remaining, with ${formatPercent(fell.testAccuracy)}.`
      : `It never fell below the dense network by more than the noise of ${testImages.toLocaleString('en-US')} test images ` +
        `(about ${formatPoints(noiseMargin(dense.testAccuracy, sparsest.testAccuracy, testImages))} at the sparsest round).`;
    const lowest = rounds.reduce((a, b) => (b.testAccuracy < a.testAccuracy ? b : a));
    const highest = rounds.reduce((a, b) => (b.testAccuracy > a.testAccuracy ? b : a));
    return (
      `In your run (${seedOf(results)}) the ticket's test accuracy went from ${formatPercent(dense.testAccuracy)} dense to ${formatPercent(sparsest.testAccuracy)} ` +
      `at ${remaining(sparsest.sparsity)} of weights remaining (between ${formatPercent(lowest.testAccuracy)} and ${formatPercent(highest.testAccuracy)} on the way; chance ${chance(results)}). ` +
      bend +
      ' ' +
      EXPECTED
    );
  },
});
