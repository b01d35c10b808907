/** EarlyBird's results (the ticket search's summary) and checkpoint state; WORM's build on them. */
import type { MethodOutput, RoundResult } from '../../results';
import type { TicketViewsState } from './views';

export type TicketSummary = {
  name: string;
  /** Epoch (1-based, epochs trained) at which the ticket was drawn; null if never. */
  epoch: number | null;
  /** Our extension: the detector ran on weight-magnitude masks, not BN channels. */
  unstructured: boolean;
  ratio: number;
  /** Every tracked ratio and the epoch its ticket appeared (the first is the one pruned). */
  ratios: { ratio: number; epoch: number | null }[];
  /** Per epoch trained (search then retraining), the largest / mean distance in the queue; null before it fills. */
  maskDistances: (number | null)[];
  meanDistances: (number | null)[];
  /** WORM: chi in force for each epoch after the one at that index (1 = no damping). */
  chi?: number[];
  scheduleEpochs: number;
  epochsToTicket: number | null;
  epochsRetrained: number;
  accuracyAtTicket: number;
  accuracyAtPruning: number | null;
  accuracyAfterRetraining: number | null;
  channelsKept: number | null;
  channelsTotal: number;
  /** Channels kept per BN layer: a global ranking can empty a whole layer, which kills the network. */
  channelsKeptByLayer: Record<string, number> | null;
  /** Training FLOPs (3x a forward pass per image: backward costs about twice the forward). */
  flopsToTicket: number | null;
  flopsRetraining: number;
  flopsTotal: number;
  flopsDense: number;
  /** FLOPs of a retraining epoch over a dense one (absent in runs saved before it was recorded). */
  epochFlopRatio?: number;
  /** The ticket retrained with its pruned channels cut out (earlybird.shrink), not zeroed. */
  shrunk?: boolean;
  /**
   * Test accuracy of the dense baseline at the end of the schedule (earlybird.denseBaseline):
   * the search's network trained on unpruned from the ticket, or the search itself where no
   * ticket was drawn; absent without the baseline.
   */
  accuracyDense?: number;
  /** Measured training-step seconds per epoch of the dense search, and of the ticket's retraining; null without any epoch. */
  secondsPerEpochBefore?: number | null;
  secondsPerEpochAfter?: number | null;
};

/** results.json beside the run's record: the search's round 0 and retraining round, and its summary. */
export interface EarlyBirdOutput extends MethodOutput {
  ticket: TicketSummary;
}

/** One search's results in a checkpoint: after its ticket was pruned (`finished` false: retraining next) or when done. */
export interface SearchState {
  summary: TicketSummary;
  rounds: RoundResult[];
  /** Iterations the search trained: retraining continues the schedule from there. */
  retrainFrom: number;
  finished: boolean;
}

/** EarlyBird's checkpoint state: its search and the views drawn so far. */
export interface EarlyBirdState {
  views: TicketViewsState;
  search: SearchState;
}
