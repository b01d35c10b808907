/** "Does a ticket beat a random mask?": IMP with both random controls, read at the sparsest round over the preset's seeds. */
import file from '../../../experiments/presets/ticket-vs-random.json' with { type: 'json' };
import type { RoundResult, RunResults } from '../engine/results';
import { BANDS_OVERLAP, chance, compareBands, definePreset, formatSpread, oneSeedNote, remaining, seedsOf, SPREAD_NOTE, spreadOf, type Spread } from './preset';

const EXPECTED =
  'The lottery-ticket claim is that well below a tenth of the weights only the ticket keeps its accuracy: the same mask with a fresh initialisation (random reinit) ' +
  'and a random mask of the same per-layer sizes (random pruning) fall away.';

const SEEDS = [1, 2, 3];

const CONTROLS = [
  { series: 'randomReinit', label: 'random reinit' },
  { series: 'randomPrune', label: 'random pruning' },
] as const;

function last(rounds: RoundResult[] | undefined): RoundResult {
  const round = rounds?.at(-1);
  if (!round) throw new Error('a finished ticket-vs-random run has a round in every series');
  return round;
}

/** The ticket's band against one control's, in words. */
function against(ticket: Spread, control: Spread, label: string): string {
  const where = compareBands(ticket, control);
  if (where === 'above') return `lies above ${label}'s`;
  if (where === 'below') return `lies below ${label}'s`;
  return `overlaps ${label}'s`;
}

export const TICKET_VS_RANDOM = definePreset(file, {
  id: 'ticket-vs-random',
  title: 'Does a ticket beat a random mask?',
  seeds: SEEDS,
  lookFor:
    'Follow the ticket (blue) against random reinit (orange) and random pruning (green) on the accuracy chart as the weights remaining fall: each line is the mean over the seeds, its band the range. ' +
    EXPECTED,
  readRuns(runs: readonly RunResults[]): string {
    const ticket = spreadOf(runs.map((run) => last(run.rounds).testAccuracy));
    const dense = spreadOf(runs.map((run) => run.rounds[0].testAccuracy));
    const sparsity = spreadOf(runs.map((run) => last(run.rounds).sparsity)).mean;
    const controls = CONTROLS.map(({ series, label }) => ({ label, spread: spreadOf(runs.map((run) => last(run.controls?.[series]).testAccuracy)) }));
    const quoted = controls.map(({ label, spread }) => `${label} ${formatSpread(spread)}`).join(', ');
    const numbers =
      `In your run (${seedsOf(runs)}) the ticket kept ${formatSpread(ticket)} test accuracy at ${remaining(sparsity)} of weights remaining; ` +
      `${quoted} (dense ${formatSpread(dense)}, chance ${chance(runs[0])}${runs.length > 1 ? `; ${SPREAD_NOTE}` : ''}).`;
    if (runs.length === 1) return `${numbers} ${oneSeedNote(SEEDS)} ${EXPECTED}`;
    const verdicts = controls.map(({ label, spread }) => against(ticket, spread, label));
    const overlapping = controls.some(({ spread }) => compareBands(ticket, spread) === 'overlap');
    return `${numbers} At the sparsest round the ticket's band ${verdicts.join(' and ')}${overlapping ? `: ${BANDS_OVERLAP}` : ''}. ${EXPECTED}`;
  },
});
