/**
 * Magnitude pruning rules. Only surviving weights are ranked, so pruned weights
 * never come back. Thresholds come from a linear-time selection, not a sort:
 * Conv-2 has 4.3M weights and the lab prunes it in a browser tab.
 */
import type { LayerType, PrunableLayer } from '../models/model';
import { Rng } from '../rng';
import { MaskSet, countOnes } from './mask';

/**
 * The k-th smallest value (0-based) of `values`, found in expected O(n) by
 * quickselect with median-of-three pivots. Reorders `values`.
 */
export function kthSmallest(values: Float32Array, k: number): number {
  if (k < 0 || k >= values.length) throw new RangeError(`k=${k} outside 0..${values.length - 1}`);
  let lo = 0;
  let hi = values.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // Median of three into values[mid] guards against sorted inputs.
    if (values[mid] < values[lo]) swap(values, mid, lo);
    if (values[hi] < values[lo]) swap(values, hi, lo);
    if (values[hi] < values[mid]) swap(values, hi, mid);
    const pivot = values[mid];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i] < pivot) i++;
      while (values[j] > pivot) j--;
      if (i <= j) {
        swap(values, i, j);
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return values[k];
  }
  return values[k];
}

function swap(a: Float32Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

/** |w| of the surviving weights of several layers, concatenated. */
function survivingMagnitudes(entries: { keep: Uint8Array; weights: Float32Array }[]): Float32Array {
  const total = entries.reduce((n, e) => n + countOnes(e.keep), 0);
  const out = new Float32Array(total);
  let o = 0;
  for (const { keep, weights } of entries) {
    for (let i = 0; i < keep.length; i++) if (keep[i]) out[o++] = Math.abs(weights[i]);
  }
  return out;
}

/**
 * Remove `count` of the surviving weights with the smallest magnitude. Ties at
 * the threshold are broken by position, so exactly `count` are removed.
 */
function pruneSmallest(entries: { keep: Uint8Array; weights: Float32Array }[], count: number): void {
  if (count <= 0) return;
  const magnitudes = survivingMagnitudes(entries);
  if (count >= magnitudes.length) {
    for (const e of entries) e.keep.fill(0);
    return;
  }
  const threshold = kthSmallest(magnitudes, count - 1);
  // Everything strictly below the threshold goes; then ties up to the count.
  let below = 0;
  for (const { keep, weights } of entries) {
    for (let i = 0; i < keep.length; i++) if (keep[i] && Math.abs(weights[i]) < threshold) below++;
  }
  let tiesToPrune = count - below;
  for (const { keep, weights } of entries) {
    for (let i = 0; i < keep.length; i++) {
      if (!keep[i]) continue;
      const m = Math.abs(weights[i]);
      if (m < threshold) keep[i] = 0;
      else if (m === threshold && tiesToPrune > 0) {
        keep[i] = 0;
        tiesToPrune--;
      }
    }
  }
}

/** Per-layer rates: the paper's for the arch, overridden per layer type. */
export function layerRates(
  layers: PrunableLayer[],
  paperRates: Record<LayerType, number>,
  overrides: Partial<Record<LayerType, number | undefined>>,
): Map<string, number> {
  return new Map(layers.map((l) => [l.name, overrides[l.type] ?? paperRates[l.type]]));
}

/** Layer-wise rule (paper): each layer loses `rate` of its remaining weights. */
export function pruneLayerwise(masks: MaskSet, weights: Map<string, Float32Array>, rates: Map<string, number>): MaskSet {
  const out = masks.clone();
  for (const mask of out.layers.values()) {
    const rate = rates.get(mask.name) ?? 0;
    const count = Math.round(rate * countOnes(mask.keep));
    pruneSmallest([{ keep: mask.keep, weights: weights.get(mask.name)! }], count);
  }
  return out;
}

/**
 * Global rule (open_lth `sparse_global`): one magnitude threshold over every
 * surviving weight of the layers not ignored; `fraction` of them are removed.
 */
export function pruneGlobal(masks: MaskSet, weights: Map<string, Float32Array>, fraction: number, ignore: string[]): MaskSet {
  const out = masks.clone();
  const entries = [...out.layers.values()]
    .filter((m) => !ignore.includes(m.name))
    .map((m) => ({ keep: m.keep, weights: weights.get(m.name)! }));
  const surviving = entries.reduce((n, e) => n + countOnes(e.keep), 0);
  pruneSmallest(entries, Math.round(fraction * surviving));
  return out;
}

/** Random-pruning control: a fresh random mask with each layer's density. */
export function randomMaskLike(masks: MaskSet, seed: number): MaskSet {
  const rng = new Rng(seed);
  const out = masks.clone();
  for (const mask of out.layers.values()) {
    const kept = countOnes(mask.keep);
    const order = new Uint32Array(mask.keep.length);
    for (let i = 0; i < order.length; i++) order[i] = i;
    rng.shuffle(order);
    mask.keep.fill(0);
    for (let i = 0; i < kept; i++) mask.keep[order[i]] = 1;
  }
  return out;
}

/**
 * Layer-wise rates for one-shot pruning to `targetSparsity`: every layer keeps
 * (1 - rate)^n of its weights, with n solved so the whole net hits the target,
 * so one-shot keeps the proportions of n rounds of iterative pruning.
 */
export function oneShotLayerRates(layers: PrunableLayer[], rates: Map<string, number>, targetSparsity: number): Map<string, number> {
  const total = layers.reduce((n, l) => n + l.size, 0);
  const keptAt = (n: number) => layers.reduce((s, l) => s + l.size * Math.pow(1 - (rates.get(l.name) ?? 0), n), 0) / total;
  let lo = 0;
  let hi = 1;
  while (keptAt(hi) > 1 - targetSparsity && hi < 1e4) hi *= 2;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (keptAt(mid) > 1 - targetSparsity) lo = mid;
    else hi = mid;
  }
  return new Map(layers.map((l) => [l.name, 1 - Math.pow(1 - (rates.get(l.name) ?? 0), hi)]));
}
