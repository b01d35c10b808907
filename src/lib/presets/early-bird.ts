/** "How early is the early bird?": EarlyBird's ticket summary, read against its claim. */
import file from '../../../experiments/presets/early-bird.json' with { type: 'json' };
import { resultsOf, type RunResults } from '../engine/results';
import { formatPercent } from '../ui/format';
import { definePreset, seedOf } from './preset';

const EXPECTED =
  'The EarlyBird claim is that the channel mask settles early in training, so the ticket comes in the first epochs and, retrained, ' +
  'gets back to the dense accuracy for a fraction of the dense training compute; in a network this narrow the masks can settle late, and then the saving is small.';

function whenInSchedule(epoch: number, epochs: number): string {
  return epoch <= epochs / 2 ? 'in the first half of the schedule' : 'only in the second half of the schedule';
}

export const EARLY_BIRD = definePreset(file, {
  id: 'early-bird',
  title: 'How early is the early bird?',
  lookFor:
    'Watch the mask-distance chart fall to ε: the ticket is drawn at the first epoch whose channel mask is within ε of each of the last four, and from there the channel-mask picture stops changing; ' +
    'the summary table gives the accuracy right after pruning, after retraining, and the share of dense training compute used. ' +
    EXPECTED,
  readRun(results: RunResults): string {
    const { ticket } = resultsOf(results, 'earlybird');
    const { epoch, scheduleEpochs } = ticket;
    if (epoch === null) {
      return (
        `In your run (${seedOf(results)}) no ticket was drawn in ${scheduleEpochs} epochs: the channel masks never came within ε of the last four, ` +
        `so the network trained dense to the end (${formatPercent(ticket.accuracyAtTicket)} test accuracy). ` +
        EXPECTED
      );
    }
    const pruned = ticket.channelsKept === null ? null : ticket.channelsTotal - ticket.channelsKept;
    const channels = pruned === null ? '' : ` with ${pruned} of ${ticket.channelsTotal} channels pruned`;
    const accuracies = [
      `${formatPercent(ticket.accuracyAtTicket)} at the ticket`,
      ticket.accuracyAtPruning === null ? null : `${formatPercent(ticket.accuracyAtPruning)} right after pruning`,
      ticket.accuracyAfterRetraining === null ? null : `${formatPercent(ticket.accuracyAfterRetraining)} after retraining`,
    ].filter((part) => part !== null);
    return (
      `In your run (${seedOf(results)}) the ticket came at epoch ${epoch} of ${scheduleEpochs}, ${whenInSchedule(epoch, scheduleEpochs)},${channels}; ` +
      `test accuracy was ${accuracies.join(', ')}, for ${formatPercent(ticket.flopsTotal / ticket.flopsDense, 0)} of the dense training FLOPs. ` +
      EXPECTED
    );
  },
});
