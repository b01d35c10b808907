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

export interface EdgePopupOutput extends MethodOutput {
  edgepopup: EdgePopupResults;
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

/** Checkpoint state: the searches done (each its round), then the dense baseline once trained. */
export interface EdgePopupState {
  rounds: RoundResult[];
  searches: EdgePopupSearch[];
  dense: RoundResult | null;
}
