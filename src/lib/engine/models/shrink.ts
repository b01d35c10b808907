/**
 * Cutting dead channels out of a network, so that a channel-pruned ticket is
 * a smaller network that trains faster, not a dense one with zeros in it.
 * Every layer says what a channel cut takes from its variables
 * (`Layer.cutChannels`: a BN channel, its conv filter, the next conv's input
 * channel, the next dense layer's inputs after a flatten); one walk over the
 * layers gathers those answers, and the same per-axis keep-bits then cut the
 * weights, the masks, the rewind snapshots and the optimiser's state.
 */
import * as tf from '@tensorflow/tfjs';
import { MaskSet, countOnes, type LayerMask } from '../masks/mask';
import { walkLayers, type ActivationShape, type AxisKeep, type Layer } from './layers';
import { Model, type ModelState } from './model';

type Values = Float32Array | Int32Array | Uint8Array;

/** One byte per entry of an array of `shape` (row-major): 1 where every axis keeps the entry's index. */
export function entryKeep(shape: readonly number[], axes: AxisKeep): Uint8Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const keep = new Uint8Array(size).fill(1);
  let stride = size;
  shape.forEach((length, axis) => {
    stride /= length;
    const bits = axes[axis];
    if (!bits) return;
    if (bits.length !== length) throw new RangeError(`Axis ${axis} has ${length} entries, its keep-bits ${bits.length}`);
    for (let i = 0; i < size; i++) if (!bits[Math.floor(i / stride) % length]) keep[i] = 0;
  });
  return keep;
}

/** The shape left once each axis keeps only its kept indices. */
export function cutShape(shape: readonly number[], axes: AxisKeep): number[] {
  return shape.map((length, axis) => (axes[axis] ? countOnes(axes[axis]!) : length));
}

/** The entries of a row-major array that every axis keeps, in their order: the array of `cutShape`. */
export function cutValues<T extends Values>(values: T, shape: readonly number[], axes: AxisKeep): T {
  const keep = entryKeep(shape, axes);
  const out = new (values.constructor as new (length: number) => T)(countOnes(keep));
  let next = 0;
  for (let i = 0; i < keep.length; i++) if (keep[i]) out[next++] = values[i];
  return out;
}

async function cutTensor(tensor: tf.Tensor, axes: AxisKeep | undefined): Promise<tf.Tensor> {
  if (!axes) return tf.clone(tensor);
  const values = (await tensor.data()) as Float32Array | Int32Array;
  return tf.tensor(cutValues(values, tensor.shape, axes), cutShape(tensor.shape, axes), tensor.dtype);
}

/**
 * The per-axis keep-bits of every variable that removing `channelKeep`'s
 * zero channels reaches, by the model's variable name (`conv_2/kernel`).
 */
export function channelCuts(layers: readonly Layer[], inputShape: ActivationShape, channelKeep: ReadonlyMap<string, Uint8Array>): Map<string, AxisKeep> {
  const cuts = new Map<string, AxisKeep>();
  let keep: Uint8Array | null = null;
  for (const { layer, input } of walkLayers(layers, inputShape)) {
    const cut = layer.cutChannels(input, keep, channelKeep);
    for (const [name, axes] of cut.variables) if (axes.some((bits) => bits !== null)) cuts.set(name, axes);
    keep = cut.output;
  }
  return cuts;
}

/**
 * Refuse a cut that cannot be made: keep-bits for a layer the model lacks, of
 * the wrong length, or removing every channel of a layer (the network would
 * be cut in two: nothing reaches the logits).
 */
function checkChannelKeep(model: Model, channelKeep: ReadonlyMap<string, Uint8Array>): Map<string, number> {
  const widths = new Map<string, number>();
  for (const { layer, output } of walkLayers(model.layers, model.inputShape)) if (layer.name) widths.set(layer.name, output[output.length - 1]);
  // The branches of a supernet stage gate their own channels under their own names.
  for (const bn of model.batchNorms) widths.set(bn.name, bn.channels);
  const kept = new Map<string, number>();
  for (const [name, keep] of channelKeep) {
    const width = widths.get(name);
    if (width === undefined) throw new Error(`Cannot remove channels of "${name}": model ${model.arch} has no such layer`);
    if (keep.length !== width) throw new RangeError(`Cannot remove channels of ${name}: it has ${width} channels, the keep-bits ${keep.length}`);
    kept.set(name, countOnes(keep));
  }
  // A branch may lose every channel (it goes); a layer's whole output may not.
  let keep: Uint8Array | null = null;
  for (const { layer, input } of walkLayers(model.layers, model.inputShape)) {
    keep = layer.cutChannels(input, keep, channelKeep).output;
    if (keep && countOnes(keep) === 0) throw new Error(`Cannot remove every channel of ${layer.name}: nothing would reach the logits`);
  }
  return kept;
}

/**
 * The keep-bits to cut a channel-pruned ticket with. A global ranking can
 * prune every channel of a layer (EarlyBird warns); such a layer keeps its first
 * channel, silenced (gamma and beta 0), so the network keeps a shape and
 * computes what the zeroed one does.
 */
export function keepOneInEmptied(channelKeep: Map<string, Uint8Array>): Map<string, Uint8Array> {
  return new Map(
    [...channelKeep].map(([name, keep]) => {
      if (keep.some((k) => k === 1)) return [name, keep];
      const one = new Uint8Array(keep.length);
      one[0] = 1;
      return [name, one];
    }),
  );
}

export interface ShrinkOptions {
  model: Model;
  /** Keep-bits (1 = stays) over the output channels of channel-pruned layers, by layer name. */
  channelKeep: ReadonlyMap<string, Uint8Array>;
  /** Kernel masks to cut like the kernels. */
  masks?: MaskSet | null;
  /** Snapshots of the model (rewind weights) to cut like it. */
  states?: readonly ModelState[];
  /** Its state is cut and moved to the smaller model's variables in place. */
  optimizer?: tf.Optimizer;
}

export interface ShrunkModel {
  /** The smaller network: the same family, layers narrowed to their surviving channels. */
  model: Model;
  masks: MaskSet | null;
  states: ModelState[];
  /** Surviving channels per cut layer. */
  kept: Map<string, number>;
}

/**
 * Remove the channels `channelKeep` marks 0 from the model, its masks, its
 * snapshots and its optimiser state. The inputs stay as they are (the caller
 * disposes the old model and snapshots); only the optimiser is changed in
 * place, because training goes on with it. A removed channel whose BN scale
 * and shift are 0 contributed nothing (ReLU(0) = 0), so the logits stay the
 * same; a live one's contribution is lost.
 */
export async function shrinkModel(options: ShrinkOptions): Promise<ShrunkModel> {
  const { model, channelKeep } = options;
  const kept = checkChannelKeep(model, channelKeep);
  const cuts = channelCuts(model.layers, model.inputShape, channelKeep);
  // The seed only draws initial values that are overwritten at once.
  const slim = new Model(model.arch, model.layers.map((layer) => layer.narrowed(channelKeep)), model.inputShape, 0);
  try {
    for (const [name, variable] of [...slim.params, ...slim.buffers]) {
      const value = await cutTensor(model.params.get(name) ?? model.buffers.get(name)!, cuts.get(name));
      variable.assign(value);
      value.dispose();
    }
    // A supernet branch that lost every channel is gone from the smaller model, with its masks, snapshots and optimiser state.
    const masks = options.masks ? cutMasks(options.masks, slim, (layer) => cuts.get(`${layer}/kernel`)) : null;
    const states: ModelState[] = [];
    for (const state of options.states ?? []) {
      const cutState: ModelState = new Map();
      for (const [name, tensor] of state) if (slim.params.has(name) || slim.buffers.has(name)) cutState.set(name, await cutTensor(tensor, cuts.get(name)));
      states.push(cutState);
    }
    if (options.optimizer) await carryOptimizer(options.optimizer, model, slim, cuts);
    return { model: slim, masks, states, kept };
  } catch (error) {
    slim.dispose();
    throw error;
  }
}

function cutMasks(masks: MaskSet, slim: Model, axesOf: (layer: string) => AxisKeep | undefined): MaskSet {
  const layers = new Map<string, LayerMask>();
  for (const [name, mask] of masks.layers) {
    if (!slim.params.has(`${name}/kernel`)) continue;
    const axes = axesOf(name);
    layers.set(name, axes ? { name, shape: cutShape(mask.shape, axes), keep: cutValues(mask.keep, mask.shape, axes) } : { ...mask, keep: mask.keep.slice() });
  }
  return new MaskSet(layers);
}

/**
 * tfjs keeps an optimiser's per-variable state (momentum; Adam's moments) in
 * a list named `${variable name}/${slot}` and matched to the gradients by
 * position; the smaller model lists its variables in the same order, so each
 * slot is cut like its variable and renamed to the smaller model's variable.
 */
async function carryOptimizer(optimizer: tf.Optimizer, from: Model, to: Model, cuts: Map<string, AxisKeep>): Promise<void> {
  const [iterations, ...slots] = await optimizer.getWeights();
  const paramOf = new Map([...from.params].map(([name, variable]) => [variable.name, name]));
  const carried: { name: string; tensor: tf.Tensor }[] = [];
  try {
    for (const { name: slotName, tensor } of slots) {
      const split = slotName.lastIndexOf('/');
      const param = paramOf.get(slotName.slice(0, split));
      if (!param) throw new Error(`Optimizer state "${slotName}" belongs to no parameter of model ${from.arch}`);
      // A removed branch's slots go; the rest keep their order, as the smaller model's variables do.
      if (!to.params.has(param)) continue;
      carried.push({ name: `${to.params.get(param)!.name}${slotName.slice(split)}`, tensor: await cutTensor(tensor, cuts.get(param)) });
    }
    await optimizer.setWeights([iterations, ...carried]);
    // setWeights made its own variables of the carried values; the old slots are no longer the optimiser's.
    tf.dispose(slots.map((slot) => slot.tensor));
  } finally {
    tf.dispose([iterations.tensor, ...carried.map((slot) => slot.tensor)]);
  }
}
