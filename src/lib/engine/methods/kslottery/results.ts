/** KS-Lottery's results (results.json's `kslottery`) and checkpoint state. Accuracies are fractions of the target test set. */
import type { MethodOutput, RoundResult } from '../../results';

/** One selection at one K. */
export interface ArmPoint {
  /** Rows selected. */
  k: number;
  /** Test accuracy after training only these rows and a fresh head from θ0. */
  partialTuning: number;
  /** Test accuracy of θ0 with these rows and the head taken from θ1, untrained. */
  partialTransfer: number;
  /** Rows selected per layer, in layer order. */
  perLayer: number[];
}

export interface LayerRows {
  name: string;
  rows: number;
  /** Values per row. */
  rowLength: number;
  /** Rows with p < α. */
  significant: number;
}

/** Every row's statistics, per layer, for the per-layer picture. */
export interface LayerRowStats {
  name: string;
  d: number[];
  pValue: number[];
  l2: number[];
  /** The K-sweep's largest KS selection, as flags. */
  selected: number[];
}

export interface KsLotteryResults {
  source: number[];
  target: number[];
  rowKind: 'filters' | 'embedding';
  scope: 'global' | 'perLayer';
  alpha: number;
  /** Test images of the target task: every accuracy here is measured on them. */
  targetTestImages: number;
  rowsTotal: number;
  rowsSignificant: number;
  perLayer: LayerRows[];
  /** Test accuracy of θ0 on the source task. */
  sourceAccuracy: number;
  /** Test accuracy of θ1 (the probe) on the target task. */
  probeAccuracy: number;
  arms: {
    headOnly: number;
    full: number;
    /** The rows with p < α, tuned and transplanted; null where no row was significant. */
    significant: ArmPoint | null;
    ks: ArmPoint[];
    l2: ArmPoint[];
    random: ArmPoint[];
  };
  /** Overlap of the KS and L2 selections at each K of the sweep. */
  jaccardKsL2: number[];
  /** Checked after every partial tuning: no value outside its selection moved. */
  frozenRowsUnchanged: boolean;
  rowStats: LayerRowStats[];
}

export interface KsLotteryOutput extends MethodOutput {
  kslottery: KsLotteryResults;
}

/** One finished target training, in the fixed order of the run's arms. */
export interface FinishedArm {
  id: string;
  testAccuracy: number;
  /** Partial transfer's accuracy, for selection arms. */
  transfer: number | null;
}

/** Checkpoint state; θ0 and θ1 travel as `theta0/…` and `theta1/…` tensors. */
export interface KsLotteryState {
  /** Every training so far: the source pre-training first, then the probe and the arms. */
  rounds: RoundResult[];
  probeAccuracy: number | null;
  arms: FinishedArm[];
}
