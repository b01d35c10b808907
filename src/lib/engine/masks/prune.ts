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
export function kthSmallest(values: Float32Array | Uint32Array, k: number): number {
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

function swap(a: Float32Array | Uint32Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

interface PruneEntry {
  /** The mask being pruned, in place. */
  keep: Uint8Array;
  /** The mask before pruning, to start again from if a sampled guess fails. */
  before: Uint8Array;
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
 * Magnitude bits from `lo` to `hi` (inclusive) hold the threshold; `capacity`
 * is how many survivors in that range to make room for.
 */
interface ThresholdRange {
  lo: number;
  hi: number;
  capacity: number;
}

/** Positions sampled per weight when guessing the threshold range, and the cap on the sample. */
const SAMPLE_SHARE = 1 / 16;
const MAX_SAMPLE = 1 << 14;
/** Below this many weights a sample says too little, and the exact range is cheap anyway. */
const MIN_SAMPLED_WEIGHTS = 1 << 12;
/**
 * Half-width of the guessed range in binomial standard deviations of the
 * sample rank: at 5 a guess misses less than once in a million, and a miss
 * only costs the exact range's extra pass.
 */
const RANGE_DEVIATIONS = 5;

/**
 * A guess at the threshold's range from a seeded random sample of the
 * survivors (by quantile), or null when the weights are too few to sample.
 * The guess may be wrong: `pruneInRange` checks it.
 */
function sampledRange(entries: PruneEntry[], fraction: number): ThresholdRange | null {
  const total = entries.reduce((n, e) => n + e.keep.length, 0);
  if (total < MIN_SAMPLED_WEIGHTS) return null;
  const draws = Math.min(MAX_SAMPLE, Math.ceil(total * SAMPLE_SHARE));
  const sample = new Uint32Array(draws + entries.length);
  const rng = new Rng(1);
  let sampled = 0;
  // Each entry gets draws in proportion to its size (stratified: no worse than uniform).
  for (const { keep, weights } of entries) {
    const bits = floatBits(weights);
    const entryDraws = Math.ceil((draws * keep.length) / total);
    for (let d = 0; d < entryDraws; d++) {
      const i = rng.int(keep.length);
      if (keep[i]) sample[sampled++] = bits[i] & MAGNITUDE_BITS;
    }
  }
  if (sampled === 0) return null;
  const survivors = sample.subarray(0, sampled);
  const margin = RANGE_DEVIATIONS * Math.sqrt(sampled * fraction * (1 - fraction)) + 1;
  const loRank = Math.floor(fraction * sampled - margin);
  const hiRank = Math.ceil(fraction * sampled + margin);
  const lo = loRank <= 0 ? 0 : kthSmallest(survivors, loRank);
  const hi = hiRank >= sampled - 1 ? MAGNITUDE_BITS : kthSmallest(survivors, hiRank);
  // Survivors in the range, scaled up from the sample, with room for bad luck and ties.
  const expected = ((Math.min(hiRank, sampled) - Math.max(loRank, 0) + 1) / draws) * total;
  return { lo, hi, capacity: Math.ceil(2 * expected) + 1024 };
}

/**
 * The exact range, from a histogram of the survivors' high 16 magnitude bits:
 * the bucket holding the count-th smallest. When the fraction rounds to no
 * weight, the range is empty and nothing lies under it; when it rounds to
 * every survivor, the range is the largest magnitude and all others lie under
 * it (the bounds stay int32, which keeps the pass on integer arithmetic).
 */
function exactRange(entries: PruneEntry[], fraction: number): ThresholdRange {
  const high = new Uint32Array(1 << 15);
  let surviving = 0;
  for (const { keep, weights } of entries) {
    const bits = floatBits(weights);
    for (let i = 0; i < keep.length; i++) {
      const kept = keep[i];
      high[(bits[i] & MAGNITUDE_BITS) >>> 16] += kept;
      surviving += kept;
    }
  }
  const count = Math.round(fraction * surviving);
  if (count <= 0) return { lo: 0, hi: -1, capacity: 0 };
  if (count >= surviving) return { lo: MAGNITUDE_BITS, hi: MAGNITUDE_BITS, capacity: high[MAGNITUDE_BITS >>> 16] };
  let bucket = 0;
  let below = 0;
  while (below + high[bucket] < count) below += high[bucket++];
  return { lo: bucket << 16, hi: (bucket << 16) | 0xffff, capacity: high[bucket] };
}

/**
 * One pass that prunes every survivor under `range.lo`, counts the survivors
 * and lists those inside the range; then, if the range does hold the
 * threshold, prunes the smallest of the listed ones (ties in position order)
 * and returns true. Returns false, with the masks part-pruned, when it does
 * not or the list outgrew its capacity.
 */
function pruneInRange(entries: PruneEntry[], fraction: number, { lo, hi, capacity }: ThresholdRange): boolean {
  const candidateEntry = new Uint32Array(capacity);
  const candidateIndex = new Uint32Array(capacity);
  const candidateMagnitude = new Uint32Array(capacity);
  let candidates = 0;
  let surviving = 0;
  let below = 0;
  for (let e = 0; e < entries.length; e++) {
    const { keep, weights } = entries[e];
    const bits = floatBits(weights);
    for (let i = 0; i < keep.length; i++) {
      const kept = keep[i];
      const magnitude = bits[i] & MAGNITUDE_BITS;
      // Sign-bit tests on int32 differences (every bound is in 0..2^31-1),
      // branch-free where the outcome is random per weight: a mispredicted
      // branch per weight cost more than the store.
      const under = (magnitude - lo) >>> 31;
      keep[i] = kept & (under ^ 1);
      below += kept & under;
      surviving += kept;
      if (((magnitude - lo) | (hi - magnitude)) >= 0 && kept) {
        if (candidates === capacity) return false;
        candidateEntry[candidates] = e;
        candidateIndex[candidates] = i;
        candidateMagnitude[candidates] = magnitude;
        candidates++;
      }
    }
  }
  const count = Math.round(fraction * surviving);
  if (count < below || count > below + candidates) return false;
  const inRange = count - below;
  if (inRange === 0) return true;
  const listed = candidateMagnitude.subarray(0, candidates);
  const threshold = kthSmallest(listed.slice(), inRange - 1);
  let ties = inRange;
  for (let c = 0; c < candidates; c++) if (listed[c] < threshold) ties--;
  for (let c = 0; c < candidates; c++) {
    const m = listed[c];
    if (m < threshold || (m === threshold && ties-- > 0)) entries[candidateEntry[c]].keep[candidateIndex[c]] = 0;
  }
  return true;
}

/**
 * Remove `fraction` (rounded) of the surviving weights, smallest magnitude
 * first; ties at the threshold are broken by position, so exactly that many
 * are removed.
 *
 * Selection on the magnitude bits, one pass over the weights in the usual
 * case: a random sample of ~16k survivors brackets the threshold, the pass
 * prunes every survivor under the bracket and lists the ~2% inside it, and a
 * quickselect among those settles the rest. If the bracket missed (or ties
 * overflow its list) the masks start again from `before` with the exact
 * bracket from a histogram pass, so the masks never depend on the sample.
 * Profile and timings: docs/bench.md.
 */
function pruneSmallest(entries: PruneEntry[], fraction: number): void {
  const guess = sampledRange(entries, fraction);
  if (guess && pruneInRange(entries, fraction, guess)) return;
  if (guess) for (const e of entries) e.keep.set(e.before);
  pruneInRange(entries, fraction, exactRange(entries, fraction));
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
    pruneSmallest([{ keep: mask.keep, before: masks.get(mask.name).keep, weights: weights.get(mask.name)! }], rates.get(mask.name) ?? 0);
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
    .map((m) => ({ keep: m.keep, before: masks.get(m.name).keep, weights: weights.get(m.name)! }));
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
