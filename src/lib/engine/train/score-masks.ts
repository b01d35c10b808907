/**
 * Score-masked training: methods that search a mask over frozen weights
 * (edge-popup's strong tickets, Lottery Jackpots) by training one real score
 * per prunable weight through a straight-through estimator.
 *
 * - The frozen weights W of each scored layer are kept aside; the model's
 *   kernel variable holds the effective weight W ⊙ M(S), so the lab's forward
 *   pass, evaluation and ticket export read the ticket as any masked network.
 * - The score gradient is formed by hand from dL/dW_eff (the gradient the
 *   model's kernel variable receives): dL/dS = dL/dW_eff ⊙ W, times sign(S)
 *   when the rule ranks |S| (edge-popup). Pruned weights get a gradient too,
 *   which is what lets them "pop up" into the mask.
 * - The optimiser sees only the scores: weights, biases and BN affine
 *   parameters never receive an update; BN running statistics keep updating
 *   from training batches, as in the reference codes' train mode.
 * - The mask rule is pluggable: edge-popup takes the per-layer top-k after
 *   every step (`topKRule`); Lottery Jackpots keep the mask as state and swap
 *   one for one (a rule of their own).
 * - `frozenHash` digests every frozen parameter so a run can prove that no
 *   weight, bias or BN affine parameter changed (`weightsUnchanged`).
 */
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../data/types';
import { MaskSet } from '../masks/mask';
import type { Model, PrunableLayer } from '../models/model';
import type { Rng } from '../rng';

/** tfjs variable names are global: number each set of scores, so a model can be searched again. */
let nextScoresId = 0;

/** One scored layer: its frozen weights, its trainable scores and its current mask. */
export interface ScoredLayer {
  readonly layer: PrunableLayer;
  /** The frozen weights W (never updated; the kernel variable holds W ⊙ mask). */
  readonly weights: tf.Tensor;
  readonly scores: tf.Variable;
  /** The current 0/1 float mask, shaped as the kernel. */
  mask: tf.Tensor;
}

/**
 * How masks follow scores. `initial` gives a layer's mask before the first
 * step; `afterStep` its mask after each optimiser step (it may return the
 * layer's current mask tensor unchanged; any other tensor replaces it and the
 * old one is disposed). Both run inside `tf.tidy`: return a new tensor or the
 * layer's mask, nothing else needs disposing.
 */
export interface MaskRule {
  initial(layer: ScoredLayer): tf.Tensor;
  afterStep(layer: ScoredLayer): tf.Tensor;
  /** Rank |S| instead of S: the straight-through gradient is then multiplied by sign(S). */
  readonly absoluteScores: boolean;
}

/**
 * Weights kept out of `size` when the fraction `k` is kept: the reference
 * code zeroes the floor((1 - k) n) lowest and keeps the rest, so every layer
 * keeps at least one weight for any k > 0.
 */
export function keptCount(size: number, k: number): number {
  return size - Math.floor((1 - k) * size);
}

/**
 * A 0/1 float mask keeping exactly `kept` entries of `values`, the largest
 * ones. Tie rule: among entries equal to the threshold (the kept-th largest
 * value), those with the lowest flat index are kept. Runs on the device: no
 * read-back per step. The caller disposes the result.
 */
export function topKMask(values: tf.Tensor, kept: number): tf.Tensor {
  const size = values.size;
  if (!Number.isInteger(kept) || kept < 1 || kept > size) throw new RangeError(`Cannot keep ${kept} of ${size} values`);
  return tf.tidy(() => {
    if (kept === size) return tf.onesLike(values);
    const flat = values.flatten();
    const threshold = tf.min(tf.topk(flat, kept, false).values);
    return tf.cast(largestFromThreshold(flat, threshold, kept), 'float32').reshape(values.shape);
  });
}

/**
 * The `count` largest entries of the flat `values` (true where kept), given
 * `threshold`, the count-th largest value: every value above it, then the
 * values equal to it in index order until `count` are kept. `count` may be a
 * tensor computed on the device, so choosing needs no read-back.
 */
export function largestFromThreshold(values: tf.Tensor1D, threshold: tf.Tensor, count: number | tf.Tensor): tf.Tensor1D {
  const above = tf.greater(values, threshold);
  const atThreshold = tf.cast(tf.equal(values, threshold), 'float32');
  // Ties still needed after every strictly larger value is kept.
  const tiesNeeded = tf.sub(count, tf.sum(tf.cast(above, 'float32')));
  const tieRank = tf.cumsum(atThreshold); // 1-based rank of each tie, in index order
  const keptTies = tf.logicalAnd(tf.cast(atThreshold, 'bool'), tf.lessEqual(tieRank, tiesNeeded));
  return tf.logicalOr(above, keptTies);
}

/** edge-popup's rule: the top fraction `k` of |S| in every scored layer, chosen again after every step. */
export function topKRule(k: number): MaskRule {
  const select = (layer: ScoredLayer) => topKMask(tf.abs(layer.scores), keptCount(layer.layer.size, k));
  return { initial: select, afterStep: select, absoluteScores: true };
}

/** Fan-in of a prunable kernel: every axis but the last (3·3·inputs for a conv, inputs for a dense layer). */
export function fanIn(layer: PrunableLayer): number {
  return layer.shape.slice(0, -1).reduce((a, b) => a * b, 1);
}

/** edge-popup's score initialisation, PyTorch's kaiming_uniform(a=√5): U(-1/√fan_in, +1/√fan_in). */
export function uniformScores(layer: PrunableLayer, rng: Rng): Float32Array {
  const bound = 1 / Math.sqrt(fanIn(layer));
  return Float32Array.from({ length: layer.size }, () => (2 * rng.next() - 1) * bound);
}

export interface ScoreMaskOptions {
  model: Model;
  /** The layers whose masks are searched; the others stay dense and frozen. */
  layers: readonly PrunableLayer[];
  /** Each scored layer's initial scores, one per weight. */
  initialScores(layer: PrunableLayer): Float32Array;
  rule: MaskRule;
}

export interface ScoreStepOptions {
  optimizer: tf.Optimizer;
  batch: Batch;
  numClasses: number;
  /** Coupled L2 on the scores (the reference codes' weight decay applies to them). */
  weightDecay: number;
}

/**
 * A model whose scored layers train their masks and nothing else. Owns its
 * scores, frozen weights and masks until `dispose`; the model stays the
 * caller's and keeps the masked kernels W ⊙ M afterwards.
 */
export class ScoreMasks {
  readonly layers: ScoredLayer[];
  readonly rule: MaskRule;
  private readonly model: Model;

  constructor(options: ScoreMaskOptions) {
    const { model, rule } = options;
    this.model = model;
    this.rule = rule;
    this.layers = options.layers.map((layer) => {
      const values = options.initialScores(layer);
      if (values.length !== layer.size) throw new Error(`Layer ${layer.name} needs ${layer.size} scores, got ${values.length}`);
      // tf.variable shares the initial tensor's data and leaves it counted: dispose it, as Model's variables do.
      const initial = tf.tensor(values, layer.shape);
      const scores = tf.variable(initial, true, `${model.kernel(layer.name).name}/scores${nextScoresId++}`);
      initial.dispose();
      return { layer, weights: tf.clone(model.kernel(layer.name)), scores, mask: tf.zeros(layer.shape) };
    });
    for (const scored of this.layers) this.replaceMask(scored, tf.tidy(() => rule.initial(scored)));
    this.applyMasks();
  }

  get scoreVariables(): tf.Variable[] {
    return this.layers.map((l) => l.scores);
  }

  /** Sets each scored kernel to W ⊙ M. */
  applyMasks(): void {
    for (const { layer, weights, mask } of this.layers) {
      const kernel = this.model.kernel(layer.name);
      tf.tidy(() => kernel.assign(tf.mul(weights, mask)));
    }
  }

  /**
   * The batch loss and the straight-through score gradients, by layer name
   * (the caller disposes both). BN statistics of the batch are queued on the
   * model; `step` commits them.
   */
  scoreGradients(batch: Batch, numClasses: number): { loss: tf.Scalar; grads: Map<string, tf.Tensor> } {
    const kernels = this.layers.map(({ layer }) => this.model.kernel(layer.name));
    const { value, grads } = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(tf.oneHot(batch.y, numClasses), this.model.forward(batch.x, true)) as tf.Scalar,
      kernels,
    );
    const out = new Map<string, tf.Tensor>();
    this.layers.forEach(({ layer, weights, scores }, i) => {
      const effective = grads[kernels[i].name];
      out.set(
        layer.name,
        tf.tidy(() => {
          const throughMask = tf.mul(effective, weights);
          return this.rule.absoluteScores ? tf.mul(throughMask, tf.sign(scores)) : throughMask;
        }),
      );
    });
    tf.dispose(Object.values(grads));
    return { loss: value, grads: out };
  }

  /**
   * One step on the scores only: straight-through gradients, weight decay on
   * the scores, the optimiser update, BN running statistics, then the rule's
   * new masks and W ⊙ M in the kernels. Returns the batch loss (caller disposes).
   */
  step({ optimizer, batch, numClasses, weightDecay }: ScoreStepOptions): tf.Scalar {
    const { loss, grads } = this.scoreGradients(batch, numClasses);
    const named: tf.NamedTensorMap = {};
    for (const { layer, scores } of this.layers) {
      const grad = grads.get(layer.name)!;
      named[scores.name] = weightDecay > 0 ? tf.tidy(() => tf.add(grad, tf.mul(scores, weightDecay))) : grad;
      if (weightDecay > 0) grad.dispose();
    }
    optimizer.applyGradients(named);
    tf.dispose(Object.values(named));
    this.model.commitBatchStats(batch.x.shape[0]);
    for (const scored of this.layers) this.replaceMask(scored, tf.tidy(() => this.rule.afterStep(scored)));
    this.applyMasks();
    return loss;
  }

  /** The current masks, read back as bytes (for tickets, Hamming distances, counts). */
  async readMasks(): Promise<MaskSet> {
    const values = await Promise.all(this.layers.map(({ mask }) => mask.data()));
    const masks = MaskSet.dense(this.model.prunable);
    this.layers.forEach(({ layer }, i) => {
      masks.get(layer.name).keep = Uint8Array.from(values[i], (x) => (x ? 1 : 0));
    });
    return masks;
  }

  /** The scores, read back by layer name (for the ticket file's optional scores tensor). */
  async readScores(): Promise<Map<string, Float32Array>> {
    const values = await Promise.all(this.layers.map(({ scores }) => scores.data() as Promise<Float32Array>));
    return new Map(this.layers.map(({ layer }, i) => [layer.name, values[i]]));
  }

  /**
   * Hex SHA-256 of every frozen parameter, by name in sorted order: the
   * scored layers' frozen weights W, every other kernel, every bias and BN
   * affine parameter. Equal before and after a search when nothing but the
   * scores trained.
   */
  async frozenHash(): Promise<string> {
    const frozen = new Map<string, tf.Tensor>(this.model.params);
    for (const { layer, weights } of this.layers) frozen.set(`${layer.name}/kernel`, weights);
    return hashTensors(frozen);
  }

  /** True when every scored kernel holds exactly W ⊙ M (the ticket is the frozen weights under its mask). */
  async kernelsMatchMasks(): Promise<boolean> {
    const mismatches = tf.tidy(() =>
      tf.addN(
        this.layers.map(({ layer, weights, mask }) =>
          tf.sum(tf.cast(tf.notEqual(this.model.kernel(layer.name), tf.mul(weights, mask)), 'float32')),
        ),
      ),
    );
    const [count] = await mismatches.data();
    mismatches.dispose();
    return count === 0;
  }

  private replaceMask(scored: ScoredLayer, mask: tf.Tensor): void {
    if (mask === scored.mask) return;
    scored.mask.dispose();
    scored.mask = mask;
  }

  dispose(): void {
    for (const { weights, scores, mask } of this.layers) tf.dispose([weights, scores, mask]);
  }
}

/** Hex SHA-256 over the tensors' names and float32 bytes, in sorted name order. */
export async function hashTensors(tensors: ReadonlyMap<string, tf.Tensor>): Promise<string> {
  const names = [...tensors.keys()].sort();
  const values = await Promise.all(names.map((name) => tensors.get(name)!.data() as Promise<Float32Array>));
  const encoder = new TextEncoder();
  const parts = names.flatMap((name, i) => [encoder.encode(`${name}:${values[i].length};`), new Uint8Array(values[i].buffer, values[i].byteOffset, values[i].byteLength)]);
  const total = parts.reduce((n, p) => n + p.length, 0);
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', joined));
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Cosine annealing from `lr` towards 0 over `epochs`, stepped per epoch (PyTorch's CosineAnnealingLR). */
export function cosineLearningRate(lr: number, epoch: number, epochs: number): number {
  return 0.5 * lr * (1 + Math.cos((Math.PI * Math.min(epoch, epochs)) / epochs));
}
