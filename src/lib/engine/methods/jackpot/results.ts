/** Lottery Jackpots' results (results.json's `jackpot`) and checkpoint state. */
import type { MethodOutput, RoundResult } from '../../results';

/** One epoch of a mask search. */
export interface SearchEpoch {
  epoch: number;
  testAccuracy: number;
  /** Weights switched on in each layer during the epoch (as many were switched off). */
  swaps: Record<string, number>;
  /** Each searched layer's kept count at the epoch's end: constant if the swap rule holds. */
  kept: Record<string, number>;
  /** Share of the magnitude mask's kept weights the mask still keeps. */
  overlap: number;
}

/** A search arm (from magnitude scores, or from random ones). */
export interface SearchArm {
  epochs: SearchEpoch[];
  /** Every weight, bias and BN affine parameter hashed equal before and after, and every kernel exactly W ⊙ M. */
  weightsUnchanged: boolean;
  /** Every layer's kept count equal to its budget after every epoch. */
  countsConstant: boolean;
}

/** results.json's `jackpot`: accuracies as fractions, each at the end of its arm's budget; null for an arm not run. */
export interface JackpotResults {
  sparsity: number;
  dense: number;
  magnitude: number;
  magnitudeBn: number;
  searched: number;
  randomScores: number | null;
  finetuned: number | null;
  /** Share of the magnitude mask's kept weights the searched mask keeps at the end. */
  maskOverlap: number;
  weightsUnchanged: boolean;
  /** Where the dense network came from: trained by this config (in this run, or earlier in the session and reused), or imported. */
  pretrained: 'trained' | 'imported';
  /** Each pruned layer's kept count (the budget). */
  budgets: Record<string, number>;
  search: SearchArm;
  randomSearch: SearchArm | null;
  /** Per-epoch test accuracy of the fine-tuning arm. */
  finetunedEpochs: number[] | null;
}

export interface JackpotOutput extends MethodOutput {
  jackpot: JackpotResults;
}

/** The arms finished so far, by name; a resumed run skips them. */
export interface JackpotState {
  dense: RoundResult | null;
  pretrained: JackpotResults['pretrained'] | null;
  arms: Partial<Record<JackpotArmName, RoundResult>>;
  search: SearchArm | null;
  randomSearch: SearchArm | null;
  maskOverlap: number | null;
}

export type JackpotArmName = 'magnitude' | 'magnitudeBn' | 'searched' | 'randomScores' | 'finetuned';
