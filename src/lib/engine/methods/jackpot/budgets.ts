/**
 * Lottery Jackpots' per-layer budgets (the authors' `generate_pr_cfg`,
 * layerwise "l1"): one magnitude threshold over the pruned layers of the
 * pre-trained network at the target sparsity fixes how many weights each
 * layer loses; the output layer stays dense. The budgets then stay fixed for
 * the whole search: every swap is one-for-one inside a layer.
 */
import { countOnes, MaskSet } from '../../masks/mask';
import { pruneGlobal } from '../../masks/prune';
import type { PrunableLayer } from '../../models/model';

/**
 * The layers under the threshold: every conv layer, as the reference, and
 * the hidden dense layers too (the reference nets have none; ours do, and a
 * dense hidden layer left unpruned would hold most of a Conv-2's weights).
 */
export function jackpotPrunedLayers(layers: readonly PrunableLayer[]): PrunableLayer[] {
  return layers.filter((layer) => layer.type !== 'output');
}

/**
 * The magnitude mask at `sparsity`: a global threshold over the pruned
 * layers' |W|, ties broken by position, so exactly round(sparsity * N) of
 * their N weights go. Its per-layer pruned counts are the search's budgets.
 * Throws naming the layer when a layer would lose every weight.
 */
export function magnitudeMask(layers: readonly PrunableLayer[], weights: Map<string, Float32Array>, sparsity: number): MaskSet {
  const pruned = new Set(jackpotPrunedLayers(layers).map((l) => l.name));
  const dense = MaskSet.dense([...layers]);
  const ignore = layers.filter((l) => !pruned.has(l.name)).map((l) => l.name);
  const mask = pruneGlobal(dense, weights, sparsity, ignore);
  for (const m of mask.layers.values()) {
    if (countOnes(m.keep) === 0) {
      throw new Error(
        `jackpot.sparsity ${sparsity} would prune every weight of layer ${m.name} (${m.keep.length} weights) under the global magnitude threshold: choose a lower sparsity`,
      );
    }
  }
  return mask;
}

/** Weights each layer prunes under `mask` (0 for the dense output layer). */
export function prunedCounts(mask: MaskSet): Map<string, number> {
  return new Map([...mask.layers.values()].map((m) => [m.name, m.keep.length - countOnes(m.keep)]));
}

/** Share of the weights `reference` keeps that `mask` keeps too, over the layers `reference` prunes. */
export function keptOverlap(mask: MaskSet, reference: MaskSet): number {
  let kept = 0;
  let common = 0;
  for (const ref of reference.layers.values()) {
    if (countOnes(ref.keep) === ref.keep.length) continue;
    const keep = mask.get(ref.name).keep;
    for (let i = 0; i < keep.length; i++) {
      kept += ref.keep[i];
      common += ref.keep[i] & keep[i];
    }
  }
  return kept === 0 ? 1 : common / kept;
}
