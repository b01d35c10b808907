/** COLT's results (its own rounds and the IMP comparison) and checkpoint state. */
import type { MethodOutput, RoundResult } from '../../results';
import type { ImpState } from '../imp/results';

/** Classes [from, to) of the full label set. */
export interface ClassSegment {
  from: number;
  to: number;
}

/** One layer's masks after a COLT prune step: what each model keeps of the survivors, and what all keep. */
export interface LayerOverlap {
  name: string;
  weights: number;
  /** Kept by the mask the round trained under. */
  survivors: number;
  /** Kept by each segment model's own pruning, in segment order. */
  kept: number[];
  /** Kept by every model: the next round's mask. */
  keptByAll: number;
  /** Kept by at least one model; minus `keptByAll`, what the AND prunes beyond any single model. */
  keptByAny: number;
}

export interface ColtModelRound {
  segment: number[];
  /** On the segment's own test images, with its (C/K)-way head. */
  testAccuracy: number;
  /** Sparsity of the pruned layers under this model's own pruning, before the AND. */
  sparsityOwnMask: number;
}

export interface ColtRound {
  round: number;
  /** Fraction of the pruned layers' weights removed by the intersected mask this round trained under. */
  sparsity: number;
  /** The full C-way network trained from θ0 under the mask; null where `evaluateEveryRound` is off. */
  testAccuracy: number | null;
  perModel: ColtModelRound[];
  /** The prune step after this round's training; its AND is the next round's mask. */
  overlap: LayerOverlap[];
}

export interface SparsityPoint {
  round: number;
  sparsity: number;
}

/** IMP's and COLT's full-network accuracy at the IMP round closest in (log) weights remaining. */
export interface MatchedSparsity {
  coltRound: number;
  coltSparsity: number;
  coltAccuracy: number;
  impRound: number;
  impSparsity: number;
  impAccuracy: number;
}

/** The IMP run beside COLT, over the same layers at the same rate and budget. */
export interface ColtImpComparison {
  rounds: RoundResult[];
  roundsTo80: number | null;
  roundsTo90: number | null;
  matched: MatchedSparsity[];
}

/** results.json's `colt`. */
export interface ColtResults {
  /** Each segment's classes. */
  segments: number[][];
  prunedLayers: string[];
  rounds: ColtRound[];
  roundsTo80: number | null;
  roundsTo90: number | null;
  /** null where `colt.compareWithImp` is off. */
  imp: ColtImpComparison | null;
}

/** results.json beside the run's record: `rounds` are the full-network evaluations. */
export interface ColtOutput extends MethodOutput {
  colt: ColtResults;
}

/** COLT's own rounds in a checkpoint; the masks beside it are the next round's, until `finished`. */
export interface ColtProgress {
  rounds: ColtRound[];
  evaluations: RoundResult[];
  finished: boolean;
}

/** COLT's checkpoint state: its rounds, then the IMP comparison's state once that runs. */
export interface ColtState {
  colt: ColtProgress;
  imp: ImpState | null;
}
