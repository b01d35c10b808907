/**
 * The mask update of Lottery Jackpots as the released code runs it
 * (`final_pop_up`): the mask is state, and after each optimiser step on the
 * scores it changes only by one-for-one swaps inside a layer, so each layer
 * keeps exactly the count its budget fixed.
 *
 * The step runs on the device, in tensors: nothing is read back per step
 * (on WebGPU a read-back waits for the GPU and stalls the pipeline).
 */
import * as tf from '@tensorflow/tfjs';
import { largestFromThreshold } from '../../train/score-masks';

export interface SwapResult {
  /** The layer's new 0/1 float mask, shaped as `keep`. */
  keep: tf.Tensor;
  /** Weights switched on by this step (as many were switched off), an int32 scalar. */
  swapped: tf.Scalar;
}

/**
 * One layer's swap step: the new mask from the 0/1 mask `keep` and the
 * layer's `scores`, with `pruned` weights pruned. The caller disposes both
 * tensors of the result.
 *
 * tau is the `pruned`-th smallest score. A = pruned weights scoring above
 * tau (want in), B = kept weights scoring at or below it (want out). Only
 * when both are non-empty and of equal size (they differ only through ties
 * at tau, e.g. right after the 1.0 / 0.99 initialisation) do m = ceil(rate *
 * |A|) of them swap (m = 1 when |A| = 1): the m highest-scored of A come in,
 * the m lowest-scored of B go out. Tie rule: equal scores rank by position,
 * the lower index first in both lists, so a step is deterministic.
 */
export function swapStep(keep: tf.Tensor, scores: tf.Tensor, pruned: number, rate: number): SwapResult {
  const size = keep.size;
  return tf.tidy(() => {
    if (pruned <= 0 || pruned >= size) return { keep: tf.clone(keep), swapped: tf.scalar(0, 'int32') };
    const flatScores = scores.flatten();
    const kept = tf.cast(keep.flatten(), 'bool');
    // The pruned-th smallest score is the (size - pruned + 1)-th largest.
    const tau = tf.min(tf.topk(flatScores, size - pruned + 1, false).values);
    const above = tf.greater(flatScores, tau);
    const wantIn = tf.logicalAnd<tf.Tensor1D>(tf.logicalNot(kept), above);
    const wantOut = tf.logicalAnd<tf.Tensor1D>(kept, tf.logicalNot(above));
    const wantInCount = tf.sum(tf.cast(wantIn, 'float32'));
    const swaps = tf.logicalAnd(tf.greater(wantInCount, 0), tf.equal(wantInCount, tf.sum(tf.cast(wantOut, 'float32'))));
    // A cap of 1 swaps every candidate: m = |A|, and nothing needs ranking.
    let comeIn = wantIn;
    let goOut = wantOut;
    let m = tf.cast(wantInCount, 'int32');
    if (rate < 1) {
      // |A| is at most the pruned count and at most the kept count (tau has `pruned` scores at or below it).
      const most = Math.min(pruned, size - pruned);
      m = tf.gather(swapCounts(rate, most), m);
      comeIn = strongest(flatScores, wantIn, m, most);
      goOut = strongest(tf.neg<tf.Tensor1D>(flatScores), wantOut, m, most);
    }
    const swapped = tf.cast(tf.logicalOr(tf.logicalAnd(kept, tf.logicalNot(goOut)), comeIn), 'float32');
    // Gated by arithmetic on 0/1 values (exact): tfjs-wasm's where, given a scalar condition over bool tensors, wrote out of its memory.
    const flatKeep = keep.flatten();
    return {
      keep: tf.add(flatKeep, tf.mul(tf.cast(swaps, 'float32'), tf.sub(swapped, flatKeep))).reshape(keep.shape),
      swapped: tf.mul(m, tf.cast(swaps, 'int32')) as tf.Scalar,
    };
  });
}

/**
 * m for every candidate count |A| from 0 to `most`, worked out on the host in
 * double precision as the released code does (float32 on the device could
 * round rate·|A| across a whole number). Uploaded each step under a cap
 * below 1; an upload does not wait for the device as a read-back does.
 */
function swapCounts(rate: number, most: number): tf.Tensor1D {
  return tf.tensor1d(
    Int32Array.from({ length: most + 1 }, (_, count) => (count <= 1 ? count : Math.min(count, Math.ceil(rate * count)))),
    'int32',
  );
}

/**
 * The `m` candidates with the highest `values`, the lower index first among
 * equal values; `most` bounds m. True where chosen.
 */
function strongest(values: tf.Tensor1D, candidates: tf.Tensor1D, m: tf.Tensor, most: number): tf.Tensor1D {
  const ranked = tf.where(candidates, values, tf.fill(values.shape, -Infinity)) as tf.Tensor1D;
  const threshold = tf.gather(tf.topk(ranked, most).values, tf.maximum(tf.sub(m, tf.scalar(1, 'int32')), tf.scalar(0, 'int32')));
  return largestFromThreshold(ranked, threshold, m);
}

/** The flip cap for an epoch: 1 as the released code; `cosine` is our reading of the dead code in imagenet.py. */
export function flipRate(schedule: 'constant' | 'cosine', epoch: number, epochs: number): number {
  return schedule === 'constant' ? 1 : 0.5 * (1 + Math.cos((Math.PI * epoch) / epochs));
}
