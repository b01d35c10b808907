/** "How much can you prune LeNet?": over the preset's seeds, where the ticket's band first falls below the dense network's. */
import file from '../../../experiments/presets/prune-lenet.json' with { type: 'json' };
import type { RunResults } from '../engine/results';
import { BANDS_OVERLAP, chance, compareBands, definePreset, formatSpread, oneSeedNote, remaining, seedsOf, SPREAD_NOTE, spreadOf } from './preset';

const SEEDS = [1, 2, 3];

const EXPECTED =
  'Each round removes half of the surviving weights under one global threshold (the output layer stays dense); the lottery-ticket papers find that a network keeps its accuracy ' +
  'down to a small share of its weights and then bends down.';

export const PRUNE_LENET = definePreset(file, {
  id: 'prune-lenet',
  title: 'How much can you prune LeNet?',
  seeds: SEEDS,
  lookFor:
    'Follow the ticket line on the accuracy chart as the weights remaining halve each round, and look for where its band (the range over the seeds) drops below the dense point. ' +
    EXPECTED,
  readRuns(runs: readonly RunResults[]): string {
    const roundCount = Math.min(...runs.map((run) => run.rounds.length));
    const rounds = Array.from({ length: roundCount }, (_, i) => ({
      sparsity: runs[0].rounds[i].sparsity,
      accuracy: spreadOf(runs.map((run) => run.rounds[i].testAccuracy)),
    }));
    const dense = rounds[0];
    const sparsest = rounds[rounds.length - 1];
    const numbers =
      `In your run (${seedsOf(runs)}) the ticket's test accuracy went from ${formatSpread(dense.accuracy)} dense to ${formatSpread(sparsest.accuracy)} ` +
      `at ${remaining(sparsest.sparsity)} of weights remaining (chance ${chance(runs[0])}${runs.length > 1 ? `; ${SPREAD_NOTE}` : ''}).`;
    if (runs.length === 1) return `${numbers} ${oneSeedNote(SEEDS)} ${EXPECTED}`;
    const fell = rounds.find((round) => compareBands(round.accuracy, dense.accuracy) === 'below');
    const lastHeld = fell ? rounds[rounds.indexOf(fell) - 1] : sparsest;
    const bend = fell
      ? `Its band first fell wholly below the dense band at ${remaining(fell.sparsity)} remaining (${formatSpread(fell.accuracy)}); ` +
        `at ${remaining(lastHeld.sparsity)} it had not (${formatSpread(lastHeld.accuracy)}).`
      : `Its band never fell wholly below the dense band: ${BANDS_OVERLAP}.`;
    // The lottery-ticket papers' LeNet tickets first beat the dense network, so say where the band lay wholly above it.
    const above = rounds.slice(1).filter((round) => compareBands(round.accuracy, dense.accuracy) === 'above');
    const beat = above.length
      ? ` Its band lay wholly above the dense band at ${above.map((round) => remaining(round.sparsity)).join(', ')} remaining: there the pruned network beat the dense one beyond the seed spread.`
      : '';
    return `${numbers}${beat} ${bend} ${EXPECTED}`;
  },
});
