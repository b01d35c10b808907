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

interface PruneEntry {
  keep: Uint8Array;
  weights: Float32Array;
}

/**
 * A float32's bits with the sign bit cleared, read as an unsigned integer,
 * order like |w| (NaN aside), so the threshold is found on integers without
 * copying the magnitudes.
 */
const MAGNITUDE_BITS = 0x7fffffff;

function floatBits(weights: Float32Array): Uint32Array {
  return new Uint32Array(weights.buffer, weights.byteOffset, weights.length);
}

/**
 * Remove `fraction` (rounded) of the surviving weights, smallest magnitude
 * first; ties at the threshold are broken by position, so exactly that many
 * are removed.
 *
 * A two-level radix select on the magnitude bits, in two passes over the
 * weights: a histogram of the high 16 bits counts the survivors and finds the
 * bucket holding the threshold; the second pass prunes every survivor in a
 * lower bucket and lists those in that bucket (about 1% of them), among which
 * the low 16 bits settle the rest. It replaced a count, a copy of the
 * magnitudes, a quickselect and two more passes, which took ~2.6x as long on
 * Conv-2's 4.3M weights, with identical masks (docs/bench.md).
 */
function pruneSmallest(entries: PruneEntry[], fraction: number): void {
  const high = new Uint32Array(1 << 15);
  let surviving = 0;
  for (const { keep, weights } of entries) {
    const bits = floatBits(weights);
    for (let i = 0; i < keep.length; i++) {
      if (keep[i]) {
        high[(bits[i] & MAGNITUDE_BITS) >>> 16]++;
        surviving++;
      }
    }
  }
  const count = Math.round(fraction * surviving);
  if (count <= 0) return;
  if (count >= surviving) {
    for (const e of entries) e.keep.fill(0);
    return;
  }
  // The bucket holding the count-th smallest, and how many lie in lower buckets.
  let bucket = 0;
  let below = 0;
  while (below + high[bucket] < count) below += high[bucket++];

  const candidates = high[bucket];
  const candidateEntry = new Uint32Array(candidates);
  const candidateIndex = new Uint32Array(candidates);
  const candidateLow = new Uint16Array(candidates);
  const low = new Uint32Array(1 << 16);
  let c = 0;
  entries.forEach(({ keep, weights }, e) => {
    const bits = floatBits(weights);
    for (let i = 0; i < keep.length; i++) {
      if (!keep[i]) continue;
      const magnitude = bits[i] & MAGNITUDE_BITS;
      const h = magnitude >>> 16;
      if (h < bucket) keep[i] = 0;
      else if (h === bucket) {
        candidateEntry[c] = e;
        candidateIndex[c] = i;
        candidateLow[c] = magnitude & 0xffff;
        low[magnitude & 0xffff]++;
        c++;
      }
    }
  });
  // The threshold's low bits; `below` becomes the count strictly under it.
  let threshold = 0;
  while (below + low[threshold] < count) below += low[threshold++];
  let tiesToPrune = count - below;
  for (c = 0; c < candidates; c++) {
    const m = candidateLow[c];
    if (m < threshold || (m === threshold && tiesToPrune-- > 0)) entries[candidateEntry[c]].keep[candidateIndex[c]] = 0;
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
    pruneSmallest([{ keep: mask.keep, weights: weights.get(mask.name)! }], rates.get(mask.name) ?? 0);
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
  pruneSmallest(entries, fraction);
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
