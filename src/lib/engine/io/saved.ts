/**
 * Device tensors and masks <-> the plain data of checkpoints and tickets
 * (SavedTensor, SavedMask). Every value is copied: a checkpoint must not
 * change when the run goes on, and backends may hand out their own buffers.
 */
import * as tf from '@tensorflow/tfjs';
import type { SavedMask, SavedTensor, Ticket } from '../checkpoint';
import type { ExperimentConfig } from '../config';
import { MaskSet } from '../masks/mask';
import type { Model, ModelState } from '../models/model';
import { slimChannels } from '../models/registry';

/** Every parameter and BN statistic of `model`, by variable name (`conv_1/kernel`). */
export async function saveModel(model: Model): Promise<Record<string, SavedTensor>> {
  return saveState(new Map([...model.params, ...model.buffers]));
}

/** A snapshot's values; the snapshot stays the caller's. */
export async function saveState(state: ModelState): Promise<Record<string, SavedTensor>> {
  const entries = [...state];
  const values = await Promise.all(entries.map(([, tensor]) => tensor.data()));
  return Object.fromEntries(entries.map(([name, tensor], i) => [name, { shape: [...tensor.shape], data: Float32Array.from(values[i]) }]));
}

/** Device copies of saved values; the caller disposes them (`disposeState`). */
export function loadState(saved: Record<string, SavedTensor>): ModelState {
  return new Map(Object.entries(saved).map(([name, t]) => [name, tf.tensor(t.data, t.shape)]));
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

function describeShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Why `weights` cannot be loaded into `model`, naming the first variable that
 * is missing, extra or shaped differently; null when every variable fits.
 */
export function weightsMismatch(model: Model, weights: Record<string, SavedTensor>): string | null {
  const variables = new Map([...model.params, ...model.buffers]);
  for (const [name, variable] of variables) {
    const saved = weights[name];
    if (!saved) return `weight "${name}" is missing`;
    if (!sameShape(saved.shape, variable.shape)) {
      return `weight "${name}" has shape ${describeShape(saved.shape)}, the model needs ${describeShape(variable.shape)}`;
    }
    const size = variable.shape.reduce((a, b) => a * b, 1);
    if (saved.data.length !== size) return `weight "${name}" has ${saved.data.length} values, its shape needs ${size}`;
  }
  const extra = Object.keys(weights).find((name) => !variables.has(name));
  return extra ? `weight "${extra}" is not a variable of the model` : null;
}

/**
 * Why `masks` cannot mask `model`, naming the first layer that is unknown or
 * shaped differently; null when they fit. Layers without a mask stay dense.
 */
export function masksMismatch(model: Model, masks: Record<string, SavedMask>): string | null {
  for (const [name, mask] of Object.entries(masks)) {
    const layer = model.prunable.find((l) => l.name === name);
    if (!layer) return `mask "${name}" is not a prunable layer of the model (${model.prunable.map((l) => l.name).join(', ')})`;
    if (!sameShape(mask.shape, layer.shape)) {
      return `mask "${name}" has shape ${describeShape(mask.shape)}, the layer's kernel is ${describeShape(layer.shape)}`;
    }
    if (mask.keep.length !== layer.size) return `mask "${name}" has ${mask.keep.length} values, its shape needs ${layer.size}`;
  }
  return null;
}

/** Overwrite every variable of `model` with saved values; throws naming the first that does not fit. */
export function restoreModel(model: Model, weights: Record<string, SavedTensor>, source: string): void {
  const mismatch = weightsMismatch(model, weights);
  if (mismatch) throw new Error(`${source} does not fit model ${model.arch}: ${mismatch}`);
  const state = loadState(weights);
  try {
    model.restore(state);
  } finally {
    tf.dispose([...state.values()]);
  }
}

export function saveMasks(masks: MaskSet): Record<string, SavedMask> {
  return Object.fromEntries([...masks.layers].map(([name, m]) => [name, { shape: [...m.shape], keep: m.keep.slice() }]));
}

export function loadMasks(saved: Record<string, SavedMask>): MaskSet {
  return new MaskSet(new Map(Object.entries(saved).map(([name, m]) => [name, { name, shape: [...m.shape], keep: m.keep.slice() }])));
}

/**
 * The masks over every prunable layer of `model`: `masks` where given, dense
 * elsewhere (COLT masks only the layers it prunes).
 */
export function completeMasks(model: Model, masks: MaskSet): MaskSet {
  const all = MaskSet.dense(model.prunable);
  for (const m of masks.layers.values()) all.layers.set(m.name, { ...m, keep: m.keep.slice() });
  return all;
}

/** The entries of `record` whose names start with `prefix`, with the prefix cut off. */
export function withoutPrefix<T>(record: Record<string, T>, prefix: string): Record<string, T> {
  return Object.fromEntries(Object.entries(record).flatMap(([name, value]) => (name.startsWith(prefix) ? [[name.slice(prefix.length), value]] : [])));
}

/** `record` with every name prefixed by `prefix`. */
export function withPrefix<T>(record: Record<string, T>, prefix: string): Record<string, T> {
  return Object.fromEntries(Object.entries(record).map(([name, value]) => [`${prefix}${name}`, value]));
}

/**
 * A ticket of `model` under `masks` (dense where a layer has none), rewinding
 * to `weights` taken at `iteration`. A slim model (channels cut out, or built
 * with `model.channels`) gives a slim ticket: its conv channel counts go with it.
 */
export function createTicket(
  config: ExperimentConfig,
  model: Model,
  ticket: { round: number; masks: MaskSet; weights: Record<string, SavedTensor>; iteration: number },
): Ticket {
  const masks = completeMasks(model, ticket.masks);
  const channels = slimChannels(model, config.model.width);
  return {
    arch: config.model.arch,
    width: config.model.width,
    ...(channels ? { channels } : {}),
    numClasses: model.numClasses,
    method: config.method,
    round: ticket.round,
    sparsity: masks.sparsity(),
    iteration: ticket.iteration,
    masks: saveMasks(masks),
    weights: ticket.weights,
  };
}
