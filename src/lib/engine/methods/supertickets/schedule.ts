/**
 * The pure pieces of SuperTickets (You et al., ECCV 2022; reference code
 * RICE-EIC/SuperTickets), with no tensors: the FLOP-weighted sign-L1 penalty
 * on branch BN scales and its warm-up, the channel-alive test, the schedule
 * of prune events, and progressive global magnitude pruning in its two mask
 * modes. Notes: ../shared/reference/next-methods.md, section 5.
 */
import { countOnes, type MaskSet } from '../../masks/mask';
import { pruneGlobal } from '../../masks/prune';

/** One parallel branch of a supernet stage: its BN channels and what one of them costs. */
export interface BranchCost {
  /** The branch's BN layer (`conv_1_k5`). */
  name: string;
  channels: number;
  /** Forward FLOPs one output channel of the branch costs per example (its k x k window over every input, at every pixel). */
  flopsPerChannel: number;
}

/**
 * Per-branch factor of the sign-L1 term, as the reference's `cal_bn_l1_loss`:
 * a branch channel's FLOPs over the average channel's, so a 5x5 channel is
 * pushed 25/9 as hard as a 3x3 one beside it, and removing it saves as much.
 */
export function branchPenalties(branches: readonly BranchCost[]): Map<string, number> {
  const channels = branches.reduce((n, b) => n + b.channels, 0);
  const mean = branches.reduce((sum, b) => sum + b.channels * b.flopsPerChannel, 0) / channels;
  return new Map(branches.map((b) => [b.name, b.flopsPerChannel / mean]));
}

/**
 * The sign-L1 strength at a step: 0 at the start, rising linearly to `rho`
 * over the first `warmupSteps` steps, then constant (the reference: linear
 * over its first 25 of 350 epochs, in whole epochs).
 */
export function rhoAt(step: number, rho: number, warmupSteps: number): number {
  return warmupSteps <= 0 ? rho : rho * Math.min(1, step / warmupSteps);
}

/**
 * Which channels of one supernet stage stay: |gamma| above `relative` times
 * the stage's largest |gamma| over all its branches. The reference's
 * absolute 1e-3 needs its 350 epochs of sign-L1 to get there: in a run of a
 * few thousand steps no gamma falls that low, so nothing would ever be
 * removed; a share of the stage's largest scale follows the scales wherever
 * the short run leaves them. The largest channel always passes (`relative`
 * is below 1), so a stage keeps at least one channel.
 */
export function aliveChannels(gammas: ReadonlyMap<string, Float32Array>, relative: number): Map<string, Uint8Array> {
  if (!(relative >= 0 && relative < 1)) throw new RangeError(`The channel threshold must be at least 0 and below 1 (a share of the largest |gamma|), got ${relative}`);
  let largest = 0;
  for (const values of gammas.values()) for (const g of values) largest = Math.max(largest, Math.abs(g));
  return new Map([...gammas].map(([name, values]) => [name, Uint8Array.from(values, (g) => (Math.abs(g) > relative * largest ? 1 : 0))]));
}

export interface PruneEvent {
  /** Training step after which the event happens. */
  step: number;
  /** Share of the prunable weights the mask removes from then on. */
  sparsity: number;
}

/**
 * The reference's progressive schedule, scaled to the run: `events` events
 * evenly spaced (the run split in events + 1 parts, the last part training
 * under the final mask), event t at sparsity min(t * increment, target):
 * 10%, 20%, ... up to 90%, then re-pruned at 90% (with regrowth) until the end.
 */
export function pruneEvents(totalSteps: number, events: number, increment: number, target: number): PruneEvent[] {
  if (!(target > 0 && target < 1)) throw new RangeError(`The target sparsity must be above 0 and below 1 (1 would prune every weight), got ${target}`);
  if (!Number.isInteger(events) || events < 1) throw new RangeError(`The number of prune events must be a whole number of at least 1, got ${events}`);
  if (totalSteps < events + 1) throw new RangeError(`${events} prune events need at least ${events + 1} training steps, the schedule has ${totalSteps}`);
  return Array.from({ length: events }, (_, i) => ({
    step: Math.round(((i + 1) * totalSteps) / (events + 1)),
    sparsity: Math.min((i + 1) * increment, target),
  }));
}

/**
 * "regrow": masked weights keep their own values and compete again at every
 * event, as in the reference (its `set_zeros` is a no-op: its layers compute
 * with W x M, and momentum and weight decay go on moving the masked W), so a
 * pruned connection comes back when its value beats a kept weight that
 * shrank. "monotone": a pruned weight stays pruned; each event only removes more.
 */
export type MaskMode = 'regrow' | 'monotone';

export interface MaskEvent {
  masks: MaskSet;
  /** Share of the new mask's kept weights that the previous mask pruned (0 in monotone mode). */
  regrowth: number;
}

/**
 * One prune event over every prunable layer, global magnitude, leaving
 * exactly round(sparsity x weights) pruned (ties broken by position).
 * `weights` are the kernels as trained (pruned entries read 0); `stale`
 * holds, per layer, each pruned weight's own value, kept aside: the value it
 * was pruned at, moved since by the optimiser as the reference's masked
 * weights are (index.ts, `referenceStep`). Where the channel search cut
 * channels at the same event, the share is of the weights left, so the cut's
 * pruned weights going with it raises the bar every kept weight must clear.
 */
export function pruneEvent(previous: MaskSet, weights: ReadonlyMap<string, Float32Array>, stale: ReadonlyMap<string, Float32Array>, sparsity: number, mode: MaskMode): MaskEvent {
  const total = [...previous.layers.values()].reduce((n, m) => n + m.keep.length, 0);
  const target = Math.round(sparsity * total);
  let masks: MaskSet;
  if (mode === 'regrow') {
    const scores = new Map<string, Float32Array>([...previous.layers].map(([name, m]) => [name, Float32Array.from(weights.get(name)!, (w, i) => (m.keep[i] ? w : stale.get(name)![i]))]));
    const dense = previous.clone();
    for (const m of dense.layers.values()) m.keep.fill(1);
    masks = pruneGlobal(dense, scores, sparsity, []);
  } else {
    const kept = [...previous.layers.values()].reduce((n, m) => n + countOnes(m.keep), 0);
    const pruned = total - kept;
    if (target < pruned) throw new RangeError(`Monotone masks cannot go from sparsity ${pruned / total} down to ${sparsity}`);
    masks = pruneGlobal(previous, new Map(weights), kept === 0 ? 0 : (target - pruned) / kept, []);
  }
  let regrown = 0;
  let keptNow = 0;
  for (const [name, m] of masks.layers) {
    const before = previous.get(name).keep;
    for (let i = 0; i < m.keep.length; i++) {
      keptNow += m.keep[i];
      if (m.keep[i] && !before[i]) regrown++;
    }
  }
  return { masks, regrowth: keptNow === 0 ? 0 : regrown / keptNow };
}

/**
 * The kernels to train on after an event, and the stale values kept up to
 * date: a weight the new mask prunes is put aside at its current value, a
 * regrown one takes its stale value back (it kept its value in the
 * reference), and pruned entries read 0. `stale` is updated in place.
 */
export function settleEvent(previous: MaskSet, next: MaskSet, weights: ReadonlyMap<string, Float32Array>, stale: Map<string, Float32Array>): Map<string, Float32Array> {
  const kernels = new Map<string, Float32Array>();
  for (const [name, m] of next.layers) {
    const before = previous.get(name).keep;
    const w = weights.get(name)!;
    const old = stale.get(name)!;
    const kernel = new Float32Array(w.length);
    for (let i = 0; i < w.length; i++) {
      if (before[i] && !m.keep[i]) old[i] = w[i];
      kernel[i] = m.keep[i] ? (before[i] ? w[i] : old[i]) : 0;
    }
    kernels.set(name, kernel);
  }
  return kernels;
}
