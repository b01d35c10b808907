/**
 * The pure pieces of Early-Bird ticket detection (You et al., ICLR 2020),
 * shared by EarlyBird and WORM: a binary mask from magnitudes at a pruning
 * ratio, the normalised Hamming distance between masks, the FIFO + epsilon
 * detector, WORM's per-channel gradient factors, and a FLOPs estimate of a
 * channel-pruned network. No tensors here: masks are one byte per position.
 */
import { walkLayers, type KeptChannels } from '../models/layers';
import type { Model } from '../models/model';
import { entryKeep } from '../models/shrink';
import { MaskSet } from './mask';
import { kthSmallest } from './prune';

/**
 * Keep-mask (1 = kept) that prunes the `round(ratio * n)` smallest of `magnitudes`.
 * As in the reference code, a value equal to the threshold is pruned too
 * (`mask = |gamma| > threshold`), so ties can prune a few more.
 */
export function maskAtRatio(magnitudes: Float32Array, ratio: number): Uint8Array {
  const keep = new Uint8Array(magnitudes.length).fill(1);
  const count = Math.round(ratio * magnitudes.length);
  if (count === 0) return keep;
  // kthSmallest reorders its input, so it gets a copy.
  const threshold = kthSmallest(magnitudes.slice(), count - 1);
  for (let i = 0; i < magnitudes.length; i++) if (magnitudes[i] <= threshold) keep[i] = 0;
  return keep;
}

/**
 * `keep`, a global channel mask over `layers` (in order, as `splitByLayer`
 * reads it), with at least `min` channels kept in every layer: a layer left
 * with fewer keeps its `min` largest `magnitudes` (the lower index on a tie).
 * Our guard, not the papers': a global ranking can empty a whole layer, which
 * cuts the network in two. The mask then prunes fewer channels than its ratio.
 */
export function keepStrongestPerLayer(keep: Uint8Array, magnitudes: Float32Array, layers: readonly { channels: number }[], min: number): Uint8Array {
  const out = keep.slice();
  let offset = 0;
  for (const { channels } of layers) {
    let kept = 0;
    for (let i = offset; i < offset + channels; i++) kept += out[i];
    if (kept < min) {
      const order = Array.from({ length: channels }, (_, i) => offset + i).sort((a, b) => magnitudes[b] - magnitudes[a] || a - b);
      for (const i of order.slice(0, min)) out[i] = 1;
    }
    offset += channels;
  }
  if (offset !== keep.length) throw new RangeError(`Mask has ${keep.length} positions, layers have ${offset} channels`);
  return out;
}

/** Fraction of positions where two masks differ. */
export function hammingDistance(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new RangeError(`Masks differ in length: ${a.length} vs ${b.length}`);
  if (a.length === 0) return 0;
  let differ = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) differ++;
  return differ / a.length;
}

export interface DetectorState {
  /** Distances from the newest mask to each older one in the queue, oldest first; empty until the queue is full. */
  distances: number[];
  /** Largest and mean of `distances`; null until the queue is full. */
  max: number | null;
  mean: number | null;
  /** The queue is full and every distance is at most epsilon. */
  found: boolean;
}

/**
 * The Early-Bird rule: a FIFO queue of the last `queueLength` masks; a ticket
 * is found when the queue is full and the newest mask is within `epsilon` of
 * every older one.
 */
export class TicketDetector {
  private readonly queue: Uint8Array[] = [];

  constructor(
    readonly queueLength: number,
    readonly epsilon: number,
  ) {}

  get newest(): Uint8Array | null {
    return this.queue.at(-1) ?? null;
  }

  /** The masks in the queue, oldest first (what a checkpoint saves). */
  get masks(): readonly Uint8Array[] {
    return this.queue;
  }

  /** Refill the queue from a checkpoint's masks, oldest first. */
  restore(masks: Uint8Array[]): void {
    this.queue.splice(0, this.queue.length, ...masks.slice(-this.queueLength));
  }

  push(mask: Uint8Array): DetectorState {
    this.queue.push(mask);
    if (this.queue.length > this.queueLength) this.queue.shift();
    if (this.queue.length < this.queueLength) return { distances: [], max: null, mean: null, found: false };
    const distances = this.queue.slice(0, -1).map((older) => hammingDistance(mask, older));
    const max = Math.max(...distances);
    const mean = distances.reduce((a, b) => a + b, 0) / distances.length;
    return { distances, max, mean, found: max <= this.epsilon };
  }
}

/** WORM's per-channel gradient factor M + chi * (1 - M): 1 on kept channels, chi on pruned ones. */
export function dampingFactors(keep: Uint8Array, chi: number): Float32Array {
  return Float32Array.from(keep, (k) => (k ? 1 : chi));
}

/** Split one global mask (layers concatenated in order) back into per-layer masks. */
export function splitByLayer<T extends { name: string; channels: number }>(mask: Uint8Array, layers: T[]): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  let offset = 0;
  for (const layer of layers) {
    out.set(layer.name, mask.subarray(offset, offset + layer.channels));
    offset += layer.channels;
  }
  if (offset !== mask.length) throw new RangeError(`Mask has ${mask.length} positions, layers have ${offset} channels`);
  return out;
}

/**
 * Forward-pass FLOPs of one example (2 per multiply-add), from the layer shapes.
 * `keptChannels` gives the surviving output channels of pruned convs: a pruned
 * channel removes that conv's output channel and the next layer's input (the
 * next conv's input channel, or the first dense layer's inputs from it after
 * flattening), as the slimmer network's shapes say. BN, ReLU and pooling are
 * left out: a few operations per activation against 9 * channels
 * multiply-adds per conv output.
 */
export function forwardFlops(model: Pick<Model, 'layers' | 'inputShape'>, keptChannels?: KeptChannels): number {
  let flops = 0;
  for (const { layer, input, output } of walkLayers(model.layers, model.inputShape, keptChannels)) flops += layer.flops(input, output);
  return flops;
}

/**
 * Kernel masks of a channel-pruned network. Zeroed gamma and beta already
 * silence a channel (its BN output is beta = 0, ReLU keeps 0), but its conv
 * kernels stay non-zero, so the measured sparsity of the prunable weights
 * would read 0. This also zeroes the weights that can no longer matter, which
 * is exact: the pruned conv's output slice (it only feeds a zeroed BN) and
 * the next layer's input slice (it only ever multiplies that channel's zeros:
 * the next conv's input channel, or after flattening the first dense layer's
 * rows from it). The kernels then match the slimmer network the paper builds.
 */
export function channelKernelMasks(
  model: Pick<Model, 'layers' | 'inputShape' | 'prunable'>,
  channelKeep: ReadonlyMap<string, Uint8Array>,
): MaskSet {
  const masks = MaskSet.dense(model.prunable);
  // Keep-bits over the last axis of the activations entering the next layer; null = all kept.
  let keep: Uint8Array | null = null;
  for (const { layer, input } of walkLayers(model.layers, model.inputShape)) {
    const cut = layer.cutChannels(input, keep, channelKeep);
    for (const [variable, axes] of cut.variables) {
      const mask = variable.endsWith('/kernel') ? masks.layers.get(variable.slice(0, -'/kernel'.length)) : undefined;
      if (!mask) continue;
      const kept = entryKeep(mask.shape, axes);
      for (let i = 0; i < kept.length; i++) mask.keep[i] &= kept[i];
    }
    keep = cut.output;
  }
  return masks;
}

/** One global keep-vector from a MaskSet, layers in order: what the detector compares. */
export function concatMasks(masks: MaskSet): Uint8Array {
  const layers = [...masks.layers.values()];
  const out = new Uint8Array(layers.reduce((n, m) => n + m.keep.length, 0));
  let offset = 0;
  for (const m of layers) {
    out.set(m.keep, offset);
    offset += m.keep.length;
  }
  return out;
}
