/**
 * The mask update of Lottery Jackpots as the released code runs it
 * (`final_pop_up`): the mask is state, and after each optimiser step on the
 * scores it changes only by one-for-one swaps inside a layer, so each layer
 * keeps exactly the count its budget fixed.
 */
import { kthSmallest } from '../../masks/prune';

export interface SwapResult {
  /** Weights switched on this step (as many were switched off). */
  swapped: number;
  /** Pruned weights whose score now ranks inside the kept set. */
  wantIn: number;
  /** Kept weights whose score now ranks outside it. */
  wantOut: number;
}

/**
 * One layer's swap step, in place on `keep`.
 *
 * tau is the `pruned`-th smallest score. A = pruned weights scoring above
 * tau (want in), B = kept weights scoring at or below it (want out). Only
 * when both are non-empty and of equal size (they differ only through ties
 * at tau, e.g. right after the 1.0 / 0.99 initialisation) do m = ceil(rate *
 * |A|) of them swap (m = 1 when |A| = 1): the m highest-scored of A come in,
 * the m lowest-scored of B go out. Tie rule: equal scores rank by position,
 * the lower index first in both lists, so a step is deterministic.
 */
export function swapStep(keep: Uint8Array, scores: Float32Array, pruned: number, rate: number): SwapResult {
  if (pruned <= 0 || pruned >= keep.length) return { swapped: 0, wantIn: 0, wantOut: 0 };
  const tau = kthSmallest(scores.slice(), pruned - 1);
  const wantIn: number[] = [];
  const wantOut: number[] = [];
  for (let i = 0; i < keep.length; i++) {
    if (!keep[i] && scores[i] > tau) wantIn.push(i);
    else if (keep[i] && scores[i] <= tau) wantOut.push(i);
  }
  const result = { swapped: 0, wantIn: wantIn.length, wantOut: wantOut.length };
  if (wantIn.length === 0 || wantIn.length !== wantOut.length) return result;
  const m = wantIn.length === 1 ? 1 : Math.min(wantIn.length, Math.ceil(rate * wantIn.length));
  if (m < wantIn.length) {
    // Stable sorts keep position order among equal scores.
    wantIn.sort((a, b) => scores[b] - scores[a]);
    wantOut.sort((a, b) => scores[a] - scores[b]);
  }
  for (let j = 0; j < m; j++) {
    keep[wantIn[j]] = 1;
    keep[wantOut[j]] = 0;
  }
  result.swapped = m;
  return result;
}

/** The flip cap for an epoch: 1 as the released code; `cosine` is our reading of the dead code in imagenet.py. */
export function flipRate(schedule: 'constant' | 'cosine', epoch: number, epochs: number): number {
  return schedule === 'constant' ? 1 : 0.5 * (1 + Math.cos((Math.PI * epoch) / epochs));
}
