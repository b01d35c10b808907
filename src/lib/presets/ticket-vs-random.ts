/** "Does a ticket beat a random mask?": IMP with both random controls, read at the sparsest round. */
import file from '../../../experiments/presets/ticket-vs-random.json' with { type: 'json' };
import type { RoundResult, RunResults } from '../engine/results';
import { formatPercent } from '../ui/format';
import { chance, definePreset, formatPoints, noiseMargin, remaining, seedOf } from './preset';

const EXPECTED =
  'The lottery-ticket claim is that only the ticket keeps its accuracy as the weights fall, and that its early-stop point (dashed) comes sooner; ' +
  'a gap of a few points on a small test set can shrink or flip with another seed, so change the seed and run again before drawing a conclusion.';

const CONTROLS = [
  { series: 'randomReinit', label: 'random reinit' },
  { series: 'randomPrune', label: 'random pruning' },
] as const;

function last(rounds: RoundResult[] | undefined): RoundResult | undefined {
  return rounds?.[rounds.length - 1];
}

/** Where the ticket ended against the better control, in words, with the noise of the run's test set. */
function verdict(ticket: RoundResult, best: RoundResult, bestLabel: string, testImages: number): string {
  const margin = noiseMargin(ticket.testAccuracy, best.testAccuracy, testImages);
  const gap = ticket.testAccuracy - best.testAccuracy;
  const where =
    gap > margin
      ? 'ahead of both controls by more than that'
      : gap < -margin
        ? `behind ${bestLabel} by more than that`
        : `within that of ${bestLabel}, so this run does not separate them`;
  return `On ${testImages.toLocaleString('en-US')} test images a gap under about ${formatPoints(margin)} is within the noise: the ticket finished ${where}.`;
}

export const TICKET_VS_RANDOM = definePreset(file, {
  id: 'ticket-vs-random',
  title: 'Does a ticket beat a random mask?',
  lookFor:
    'Follow the ticket (blue) against random reinit (orange) and random pruning (green) on the accuracy chart as the weights remaining fall. ' +
    EXPECTED,
  readRun(results: RunResults): string {
    const ticket = last(results.rounds)!;
    const dense = results.rounds[0];
    const controls = CONTROLS.flatMap(({ series, label }) => {
      const round = last(results.controls?.[series]);
      return round ? [{ label, round }] : [];
    });
    const quoted = controls.map(({ label, round }) => `${label} ${formatPercent(round.testAccuracy)}`).join(', ');
    const best = controls.reduce((a, b) => (b.round.testAccuracy > a.round.testAccuracy ? b : a));
    return (
      `In your run (${seedOf(results)}) the ticket kept ${formatPercent(ticket.testAccuracy)} test accuracy at ${remaining(ticket.sparsity)} of weights remaining; ` +
      `${quoted} (dense ${formatPercent(dense.testAccuracy)}, chance ${chance(results)}). ` +
      verdict(ticket, best.round, best.label, results.dataset.test) +
      ' ' +
      EXPECTED
    );
  },
});
