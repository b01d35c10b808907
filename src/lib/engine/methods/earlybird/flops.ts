/**
 * FLOP accounting of a ticket search, as the EarlyBird paper counts it:
 * training costs about 3x a forward pass per image (the backward pass about
 * twice the forward), so an epoch costs 3 x forward FLOPs x training images.
 */
import { forwardFlops } from '../../masks/channel-masks';
import type { Model } from '../../models/model';
import type { TicketSummary } from './results';

/** Training FLOPs of one epoch; `channelsKept` counts the slimmer network the pruned channels leave. */
export function epochFlops(model: Model, trainImages: number, channelsKept?: Map<string, number>): number {
  return 3 * forwardFlops(model, channelsKept) * trainImages;
}

/** The search's FLOPs up to the end of round 0, against the dense schedule. */
export function searchFlops(denseEpoch: number, epochsSearched: number, scheduleEpochs: number): Pick<TicketSummary, 'flopsTotal' | 'flopsDense'> {
  return { flopsTotal: epochsSearched * denseEpoch, flopsDense: scheduleEpochs * denseEpoch };
}

/**
 * The summary's FLOPs once retraining ended: what the search cost becomes
 * `flopsToTicket`, an epoch of retraining costs `epochFlopRatio` of a dense
 * one, and retraining adds its epochs at the pruned network's
 * rate (masks alone save no FLOPs on dense kernels: an unstructured ticket
 * retrains at the dense rate).
 */
export function addRetrainingFlops(summary: TicketSummary, retrainEpoch: number): void {
  summary.epochFlopRatio = retrainEpoch / (summary.flopsDense / summary.scheduleEpochs);
  summary.flopsToTicket = summary.flopsTotal;
  summary.flopsRetraining = summary.epochsRetrained * retrainEpoch;
  summary.flopsTotal += summary.flopsRetraining;
}
