/** "How early is the early bird?": EarlyBird's ticket summaries over the preset's seeds, read against its claim. */
import file from '../../../experiments/presets/early-bird.json' with { type: 'json' };
import { resultsOf, type RunResults } from '../engine/results';
import { formatPercent } from '../ui/format';
import { BANDS_OVERLAP, compareBands, definePreset, formatCountSpread, formatSpread, oneSeedNote, seedsOf, SPREAD_NOTE, spreadOf } from './preset';

const SEEDS = [1, 2, 3];

const EXPECTED =
  'The EarlyBird claim is that the channel mask settles early in training, so the ticket comes in the first epochs and, retrained, ' +
  'gets back to the accuracy it had when drawn for a fraction of the dense training compute.';

export const EARLY_BIRD = definePreset(file, {
  id: 'early-bird',
  title: 'How early is the early bird?',
  seeds: SEEDS,
  lookFor:
    'Watch the mask-distance chart fall to ε: the ticket is drawn at the first epoch whose channel mask is within ε of each of the last four, and from there the channel-mask picture stops changing; ' +
    'the summary table gives the accuracy right after pruning, after retraining, and the share of dense training compute used. ' +
    EXPECTED,
  readRuns(runs: readonly RunResults[]): string {
    const tickets = runs.map((run) => resultsOf(run, 'earlybird').ticket);
    const scheduleEpochs = tickets[0].scheduleEpochs;
    const drawn = tickets.filter((ticket) => ticket.epoch !== null);
    const missed = tickets.length - drawn.length;
    const where = `In your run (${seedsOf(runs)})`;
    if (drawn.length === 0) {
      return (
        `${where} no ticket was drawn in ${scheduleEpochs} epochs: the channel masks never came within ε of the last four, ` +
        `so the network trained dense to the end (${formatSpread(spreadOf(tickets.map((t) => t.accuracyAtTicket)))} test accuracy). ${EXPECTED}`
      );
    }
    const epochs = spreadOf(drawn.map((t) => t.epoch!));
    const atTicket = spreadOf(drawn.map((t) => t.accuracyAtTicket));
    const retrained = spreadOf(drawn.map((t) => t.accuracyAfterRetraining ?? t.accuracyAtTicket));
    const compute = spreadOf(drawn.map((t) => t.flopsTotal / t.flopsDense));
    const numbers =
      `${where} the ticket came at epoch ${formatCountSpread(epochs)} of ${scheduleEpochs} (${drawn.map((t) => t.epoch).join(', ')} by seed)` +
      `${missed ? `, and ${missed} seed${missed === 1 ? '' : 's'} drew none` : ''}; test accuracy was ${formatSpread(atTicket)} at the ticket and ` +
      `${formatSpread(retrained)} after retraining, for ${formatPercent(compute.mean, 0)} of the dense training FLOPs on average` +
      `${runs.length > 1 ? ` (${SPREAD_NOTE})` : ''}.`;
    if (runs.length === 1) return `${numbers} ${oneSeedNote(SEEDS)} ${EXPECTED}`;
    const half = scheduleEpochs / 2;
    const timing =
      missed === 0 && epochs.max <= half
        ? `Every seed drew its ticket in the first half of the schedule.`
        : epochs.min > half
          ? `Every seed drew its ticket only in the second half of the schedule: not early here.`
          : `Some seeds drew it in the first half of the schedule and some later or not at all: ${BANDS_OVERLAP}.`;
    const kept = compareBands(retrained, atTicket);
    const accuracy =
      kept === 'below'
        ? ' Retrained, the pruned network stayed below its accuracy at the ticket beyond the seed spread.'
        : kept === 'above'
          ? ' Retrained, the pruned network ended above its accuracy at the ticket beyond the seed spread.'
          : ` Retrained, it is back within the seed spread of its accuracy at the ticket.`;
    return `${numbers} ${timing}${accuracy} ${EXPECTED}`;
  },
});
