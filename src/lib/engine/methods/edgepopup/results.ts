/** edge-popup's results (results.json's `edgepopup`), its views' data and its checkpoint state. */
import type { MethodOutput, RoundResult } from '../../results';
import type { WeightInit } from './config';

/** One mask search at one k, on the run's random weights. */
export interface EdgePopupSearch {
  k: number;
  /** The searched ticket's test accuracy at the end of the search (also its round's `testAccuracy`). */
  testAccuracy: number;
  /** The mask before any search (top k of the random initial scores): a random mask of the same density. */
  untrainedMaskAccuracy: number;
  /** Every weight, bias and BN affine parameter bit-identical after the search, and every kernel exactly W ⊙ mask. */
  weightsUnchanged: boolean;
  /** Share of the masked weights whose keep-bit differs from the previous epoch's end (the first entry: from the initial mask). */
  maskChangePerEpoch: number[];
}

/** results.json's `edgepopup`: the contract's keys for the ticket (k), then every search and the baseline. */
export interface EdgePopupResults {
  k: number;
  weightsUnchanged: boolean;
  maskChangePerEpoch: number[];
  weightInit: WeightInit;
  /** The ticket's search first, then each `sweep` k in the order given; `rounds[i]` is search i. */
  searches: EdgePopupSearch[];
  /** The dense network's weights trained from the same random weights on the same budget; null where not run. */
  dense: number | null;
}

export type TransferArm = 'ticketHead' | 'randomMaskHead' | 'denseRandomHead' | 'searchedOnTarget' | 'denseOnTarget';

/** results.json's `transfer`: test accuracy on the target task of each arm, all on the same budget. */
export interface TransferResults {
  /** The source task's classes (of the data source), in label order. */
  source: number[];
  target: number[];
  /**
   * ticketHead: the source ticket's mask and weights frozen, a fresh head trained on the target;
   * randomMaskHead: a random mask of the same per-layer count, head trained; denseRandomHead: the
   * dense random network, head trained; searchedOnTarget: edge-popup on the target; denseOnTarget:
   * the dense network's weights trained on the target.
   */
  arms: Record<TransferArm, number>;
  /** Target test images each arm was measured on. */
  testImages: number;
  /** The ticket's head beat the better random-features arm by more than `margin`; false: the small net is not in the theory's regime. */
  ticketBeatsRandomFeatures: boolean;
  /** About two standard errors of the difference between the ticket's and the better random-features arm. */
  margin: number;
}

export interface EdgePopupOutput extends MethodOutput {
  edgepopup: EdgePopupResults;
  /** Present when the run had `edgepopup.transfer`. */
  transfer?: TransferResults;
}

/** The 'transfer' view: the arms measured so far, and the verdict once all are. */
export interface TransferView {
  source: number[];
  target: number[];
  chance: number;
  arms: Partial<Record<TransferArm, number>>;
  verdict: TransferResults | null;
}

/** The 'accuracy-vs-k' view: one point per search, the dense baseline as a line, and chance. */
export interface AccuracyVsKView {
  chance: number;
  dense: number | null;
  points: { k: number; testAccuracy: number; untrainedMaskAccuracy: number }[];
}

/** The 'mask-change' view: each search's share of mask bits flipped per epoch. */
export interface MaskChangeView {
  series: { k: number; perEpoch: number[] }[];
}

/** Checkpoint state: the searches done (each its round), the dense baseline once trained, then each transfer arm. */
export interface EdgePopupState {
  rounds: RoundResult[];
  searches: EdgePopupSearch[];
  dense: RoundResult | null;
  transfer: Partial<Record<TransferArm, RoundResult>>;
}
