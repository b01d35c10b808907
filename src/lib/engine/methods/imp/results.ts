/** IMP's results and checkpoint state. */
import type { ControlName, MethodOutput, RoundResult } from '../../results';

/** results.json beside the run's record: the ticket's rounds and, where asked for, each control's. */
export type ImpOutput = MethodOutput;

/**
 * Checkpoint state: the results so far. Its tensors are the rewind point,
 * its masks the next round's; the model is rewound between rounds, so
 * nothing else carries over.
 */
export interface ImpState {
  rounds: RoundResult[];
  controls: Partial<Record<ControlName, RoundResult[]>>;
}
