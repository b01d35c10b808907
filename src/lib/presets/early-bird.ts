/** "How early is the early bird?": EarlyBird's ticket summaries over the preset's seeds, read against its claim and the dense baseline. */
import file from '../../../experiments/presets/early-bird.json' with { type: 'json' };
import type { TicketSummary } from '../engine/methods/earlybird/results';
import { resultsOf, type RunResults } from '../engine/results';
import { BANDS_OVERLAP, compareBands, definePreset, formatCountSpread, formatPoints, formatSpread, oneSeedNote, seedsOf, SPREAD_NOTE, spreadOf } from './preset';

const SEEDS = [1, 2, 3];

const EXPECTED =
  'The EarlyBird claim is that the channel mask settles early in training, so the ticket comes in the first epochs and, retrained, ' +
  'reaches about the accuracy of the dense network trained the whole schedule, for a fraction of its training compute.';

/** The preset trains the dense baseline (earlybird.denseBaseline), so every one of its runs has its accuracy. */
function denseAccuracy(ticket: TicketSummary): number {
  if (ticket.accuracyDense === undefined) throw new Error('an early-bird preset run has the dense baseline');
  return ticket.accuracyDense;
}

/** Where the retrained tickets' band lies against the dense band, in words; the claim expects them to overlap. */
function againstDense(retrained: ReturnType<typeof spreadOf>, dense: ReturnType<typeof spreadOf>): string {
  const gap = formatPoints(Math.abs(dense.mean - retrained.mean));
  const where = compareBands(retrained, dense);
  if (where === 'below') return `Retrained, the tickets' band lies below the dense band: they fell short of the dense network by ${gap} in the mean, beyond the seed spread.`;
  if (where === 'above') return `Retrained, the tickets' band lies above the dense band: they beat the dense network by ${gap} in the mean, beyond the seed spread.`;
  return `Retrained, the tickets' band and the dense band overlap (${gap} apart in the mean): the tickets matched the dense network within the seed spread, as the claim expects.`;
}

export const EARLY_BIRD = definePreset(file, {
  id: 'early-bird',
  title: 'How early is the early bird?',
  seeds: SEEDS,
  lookFor:
    'Watch the mask-distance chart fall to ε: the ticket is drawn at the first epoch whose channel mask is within ε of each of the last four, and from there the channel-mask picture stops changing; ' +
    'the summary table gives the accuracy right after pruning, after retraining, that of the dense network trained on beside it to the end of the schedule, and the share of dense training compute the ticket used. ' +
    EXPECTED,
  readRuns(runs: readonly RunResults[]): string {
    const tickets = runs.map((run) => resultsOf(run, 'earlybird').ticket);
    const scheduleEpochs = tickets[0].scheduleEpochs;
    const dense = spreadOf(tickets.map(denseAccuracy));
    const drawn = tickets.filter((ticket) => ticket.epoch !== null);
    const missed = tickets.length - drawn.length;
    const where = `In your run (${seedsOf(runs)})`;
    if (drawn.length === 0) {
      return (
        `${where} no ticket was drawn in ${scheduleEpochs} epochs: the channel masks never came within ε of the last four, ` +
        `so the network trained dense to the end (${formatSpread(dense)} test accuracy). ${EXPECTED}`
      );
    }
    const epochs = spreadOf(drawn.map((t) => t.epoch!));
    const atTicket = spreadOf(drawn.map((t) => t.accuracyAtTicket));
    const retrained = spreadOf(drawn.map((t) => t.accuracyAfterRetraining ?? t.accuracyAtTicket));
    const compute = spreadOf(drawn.map((t) => t.flopsTotal / t.flopsDense));
    const numbers =
      `${where} the ticket came at epoch ${formatCountSpread(epochs)} of ${scheduleEpochs} (${drawn.map((t) => t.epoch).join(', ')} by seed)` +
      `${missed ? `, and ${missed} seed${missed === 1 ? '' : 's'} drew none` : ''}; test accuracy was ${formatSpread(atTicket)} at the ticket and ` +
      `${formatSpread(retrained)} after retraining, against ${formatSpread(dense)} for the dense network trained the whole schedule; ` +
      `the ticket took ${formatSpread(compute)} of the dense training FLOPs` +
      `${runs.length > 1 ? ` (${SPREAD_NOTE})` : ''}.`;
    if (runs.length === 1) return `${numbers} ${oneSeedNote(SEEDS)} ${EXPECTED}`;
    const half = scheduleEpochs / 2;
    const timing =
      missed === 0 && epochs.max <= half
        ? `Every seed drew its ticket in the first half of the schedule, by epoch ${epochs.max} of ${scheduleEpochs}.`
        : epochs.min > half
          ? `Every seed drew its ticket only in the second half of the schedule: not early here.`
          : `Some seeds drew it in the first half of the schedule and some later or not at all: ${BANDS_OVERLAP}.`;
    return `${numbers} ${timing} ${againstDense(retrained, dense)} ${EXPECTED}`;
  },
});
