/**
 * Networks as plain parameter tables plus a forward function, in the spirit of
 * TensorFlow Playground's nn.ts: no tfjs-layers, so every kernel is a named
 * variable that masks, rewinding, checkpoints and exports address directly.
 * The network itself is a list of layers (layers.ts); the model owns their
 * variables.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../rng';
import {
  updateRunningStats,
  walkLayers,
  type ActivationShape,
  type BatchNormLayer,
  type BatchStats,
  type Layer,
  type LayerForward,
  type PrunableLayer,
  type VariableBuilder,
} from './layers';

export type { BatchNormLayer, LayerType, PrunableLayer } from './layers';

/** A snapshot of every parameter and BN statistic, by variable name. */
export type ModelState = Map<string, tf.Tensor>;

let nextModelId = 0;

export class Model {
  readonly params = new Map<string, tf.Variable>();
  /** BN running statistics: state, not trained. */
  readonly buffers = new Map<string, tf.Variable>();
  readonly prunable: PrunableLayer[] = [];
  readonly batchNorms: BatchNormLayer[] = [];
  /** Width of the logits: the last layer's output. */
  readonly numClasses: number;
  private readonly forwards: LayerForward[];
  private pendingStats: BatchStats[] = [];
  /** tfjs variable names are global: prefix ours so several models (controls, COLT) coexist. */
  private readonly id = `model${nextModelId++}`;

  constructor(
    readonly arch: string,
    readonly layers: readonly Layer[],
    readonly inputShape: ActivationShape,
    seed: number,
  ) {
    const rng = new Rng(seed);
    const vars: VariableBuilder = {
      param: (name, value) => this.addVariable(this.params, name, value, true),
      buffer: (name, value) => this.addVariable(this.buffers, name, value, false),
      kernel: (layer, type, shape, fanIn, fanOut) => {
        const size = shape.reduce((a, b) => a * b, 1);
        const kernel = this.addVariable(this.params, `${layer}/kernel`, tf.tensor(glorotNormal(size, fanIn, fanOut, rng), shape), true);
        this.prunable.push({ name: layer, type, shape, size });
        return kernel;
      },
      batchNorm: (layer) => this.batchNorms.push(layer),
    };
    const steps = [...walkLayers(layers, inputShape)];
    const logits = steps.at(-1)?.output ?? inputShape;
    if (logits.length !== 1) throw new Error(`Model ${arch} must end in a flat layer of logits, not [${logits.join(', ')}]`);
    this.numClasses = logits[0];
    const built = steps.map(({ layer, input }) => layer.build(input, vars));
    // A layer followed by maxPool() that can run the pool itself (one gradient call for both) takes its place too.
    this.forwards = [];
    for (let i = 0; i < built.length; i++) {
      const pooled = layers[i + 1]?.maxPool2x2 ? built[i]!.pooled : undefined;
      this.forwards.push(pooled ?? built[i]!);
      if (pooled) i++;
    }
  }

  private addVariable(table: Map<string, tf.Variable>, name: string, value: tf.Tensor, trainable: boolean): tf.Variable {
    const variable = tf.variable(value, trainable, `${this.id}/${name}`);
    value.dispose();
    table.set(name, variable);
    return variable;
  }

  kernel(layerName: string): tf.Variable {
    const kernel = this.params.get(`${layerName}/kernel`);
    if (!kernel) throw new Error(`Model ${this.arch} has no layer "${layerName}"`);
    return kernel;
  }

  get trainableVariables(): tf.Variable[] {
    return [...this.params.values()];
  }

  get prunableWeightCount(): number {
    return this.prunable.reduce((sum, layer) => sum + layer.size, 0);
  }

  /**
   * Logits for a batch. In training mode BN uses batch statistics and queues
   * them; `commitBatchStats` folds them into the running averages after the
   * optimiser step, outside the gradient tape.
   */
  forward(x: tf.Tensor4D, training: boolean): tf.Tensor2D {
    const pass = { training, queueBatchStats: (stats: BatchStats) => this.pendingStats.push(stats) };
    return this.forwards.reduce<tf.Tensor>((out, forward) => forward(out, pass), x) as tf.Tensor2D;
  }

  /** Update BN running averages from the last training forward pass. */
  commitBatchStats(batchSize: number): void {
    for (const stats of this.pendingStats) updateRunningStats(stats, batchSize);
    this.discardBatchStats();
  }

  /** Drop queued BN statistics (e.g. after an evaluation-free forward in training mode). */
  discardBatchStats(): void {
    for (const { mean, variance } of this.pendingStats) {
      mean.dispose();
      variance.dispose();
    }
    this.pendingStats = [];
  }

  /** A copy of every parameter and buffer; the caller owns (and disposes) it. */
  snapshot(): ModelState {
    const state: ModelState = new Map();
    for (const [name, variable] of [...this.params, ...this.buffers]) state.set(name, tf.clone(variable));
    return state;
  }

  /** Overwrite parameters and buffers from a snapshot (rewinding). */
  restore(state: ModelState): void {
    for (const [name, variable] of [...this.params, ...this.buffers]) {
      const value = state.get(name);
      if (!value) throw new Error(`Snapshot lacks "${name}"`);
      variable.assign(value);
    }
  }

  dispose(): void {
    this.discardBatchStats();
    for (const variable of [...this.params.values(), ...this.buffers.values()]) variable.dispose();
    this.params.clear();
    this.buffers.clear();
  }
}

/** Untruncated Glorot normal, as the LTH paper (tfjs's built-in one is truncated). */
export function glorotNormal(size: number, fanIn: number, fanOut: number, rng: Rng): Float32Array {
  const std = Math.sqrt(2 / (fanIn + fanOut));
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = rng.normal() * std;
  return values;
}

export function disposeState(state: ModelState): void {
  for (const tensor of state.values()) tensor.dispose();
  state.clear();
}
