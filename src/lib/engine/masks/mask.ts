/**
 * Masks live on the JS side as one byte per weight: cheap to store, export,
 * intersect (COLT) and compare (EarlyBird). Device copies are made once per
 * training run by `maskTensors`.
 */
import * as tf from '@tensorflow/tfjs';
import type { Model, PrunableLayer } from '../models/model';

export interface LayerMask {
  name: string;
  shape: number[];
  /** 1 = weight kept, 0 = pruned. */
  keep: Uint8Array;
}

export interface LayerCount {
  name: string;
  weights: number;
  remaining: number;
}

export class MaskSet {
  constructor(readonly layers: Map<string, LayerMask>) {}

  /** Every prunable weight kept. */
  static dense(layers: PrunableLayer[]): MaskSet {
    return new MaskSet(new Map(layers.map((l) => [l.name, { name: l.name, shape: l.shape, keep: new Uint8Array(l.size).fill(1) }])));
  }

  get(name: string): LayerMask {
    const mask = this.layers.get(name);
    if (!mask) throw new Error(`No mask for layer "${name}"`);
    return mask;
  }

  counts(): LayerCount[] {
    return [...this.layers.values()].map((m) => ({ name: m.name, weights: m.keep.length, remaining: countOnes(m.keep) }));
  }

  /** Fraction of prunable weights removed. */
  sparsity(): number {
    let total = 0;
    let kept = 0;
    for (const m of this.layers.values()) {
      total += m.keep.length;
      kept += countOnes(m.keep);
    }
    return total === 0 ? 0 : 1 - kept / total;
  }

  clone(): MaskSet {
    return new MaskSet(new Map([...this.layers].map(([name, m]) => [name, { ...m, keep: m.keep.slice() }])));
  }

  /** Weights kept only where every mask keeps them (COLT's intersection). */
  static intersect(masks: MaskSet[]): MaskSet {
    const [first, ...rest] = masks;
    const out = first.clone();
    for (const other of rest) {
      for (const m of out.layers.values()) {
        const keep = other.get(m.name).keep;
        for (let i = 0; i < keep.length; i++) m.keep[i] &= keep[i];
      }
    }
    return out;
  }
}

export function countOnes(keep: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < keep.length; i++) n += keep[i];
  return n;
}

/** Float 0/1 device tensors for applying the masks during training; caller disposes. */
export function maskTensors(masks: MaskSet): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const m of masks.layers.values()) out.set(m.name, tf.tensor(Float32Array.from(m.keep), m.shape));
  return out;
}

/**
 * Zero the pruned weights in place. Called after every optimiser step, so a
 * pruned weight is exactly 0 in every forward pass whatever momentum, Adam
 * state or weight decay did to it.
 */
export function applyMasks(model: Model, masks: Map<string, tf.Tensor>): void {
  for (const [name, mask] of masks) {
    const kernel = model.kernel(name);
    tf.tidy(() => kernel.assign(tf.mul(kernel, mask)));
  }
}

/** Per-layer kernel values read back from the device (one sync per prune step, not per training step). */
export async function readKernels(model: Model, layerNames?: string[]): Promise<Map<string, Float32Array>> {
  const names = layerNames ?? model.prunable.map((l) => l.name);
  const values = await Promise.all(names.map((name) => model.kernel(name).data() as Promise<Float32Array>));
  return new Map(names.map((name, i) => [name, values[i]]));
}

/** Per-layer count of weights that are exactly zero in the model: the contract's `sparsity` is measured, not assumed. */
export async function measureLayers(model: Model): Promise<{ layers: LayerCount[]; sparsity: number }> {
  const kernels = await readKernels(model);
  let total = 0;
  let nonZero = 0;
  const layers: LayerCount[] = [];
  for (const [name, values] of kernels) {
    let remaining = 0;
    for (let i = 0; i < values.length; i++) if (values[i] !== 0) remaining++;
    layers.push({ name, weights: values.length, remaining });
    total += values.length;
    nonZero += remaining;
  }
  return { layers, sparsity: total === 0 ? 0 : 1 - nonZero / total };
}
