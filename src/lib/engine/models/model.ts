/**
 * Networks as plain parameter tables plus a forward function, in the spirit of
 * TensorFlow Playground's nn.ts: no tfjs-layers, so every kernel is a named
 * variable that masks, rewinding, checkpoints and exports address directly.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../rng';

/** What a prunable kernel is, for the paper's per-layer-type rates. */
export type LayerType = 'conv' | 'dense' | 'output';

export type LayerSpec =
  | { kind: 'conv'; name: string; filters: number; batchNorm: boolean }
  | { kind: 'pool' }
  | { kind: 'flatten' }
  | { kind: 'dense'; name: string; units: number; output: boolean };

export interface PrunableLayer {
  /** Layer name (`conv_1`, `dense_3`); the kernel variable is `${name}/kernel`. */
  name: string;
  type: LayerType;
  shape: number[];
  size: number;
}

export interface BatchNormLayer {
  name: string;
  channels: number;
  gamma: tf.Variable;
  beta: tf.Variable;
}

/** A snapshot of every parameter and BN statistic, by variable name. */
export type ModelState = Map<string, tf.Tensor>;

let nextModelId = 0;

const BN_MOMENTUM = 0.1; // PyTorch's convention, as in the EarlyBird reference code
const BN_EPSILON = 1e-5;

export class Model {
  readonly params = new Map<string, tf.Variable>();
  /** BN running statistics: state, not trained. */
  readonly buffers = new Map<string, tf.Variable>();
  readonly prunable: PrunableLayer[] = [];
  readonly batchNorms: BatchNormLayer[] = [];
  private pendingStats: { name: string; mean: tf.Tensor; variance: tf.Tensor }[] = [];
  /** tfjs variable names are global: prefix ours so several models (controls, COLT) coexist. */
  private readonly id = `model${nextModelId++}`;

  constructor(
    readonly arch: string,
    readonly layers: LayerSpec[],
    readonly inputShape: [number, number, number],
    readonly numClasses: number,
    seed: number,
  ) {
    this.build(new Rng(seed));
  }

  private build(rng: Rng): void {
    let [h, w, c] = this.inputShape;
    let flat = 0;
    for (const layer of this.layers) {
      if (layer.kind === 'conv') {
        const shape = [3, 3, c, layer.filters];
        this.addKernel(layer.name, 'conv', shape, 9 * c, 9 * layer.filters, rng);
        if (layer.batchNorm) {
          const gamma = this.addParam(`${layer.name}/bn_gamma`, tf.ones([layer.filters]));
          const beta = this.addParam(`${layer.name}/bn_beta`, tf.zeros([layer.filters]));
          this.addBuffer(`${layer.name}/bn_mean`, tf.zeros([layer.filters]));
          this.addBuffer(`${layer.name}/bn_variance`, tf.ones([layer.filters]));
          this.batchNorms.push({ name: layer.name, channels: layer.filters, gamma, beta });
        } else {
          this.addParam(`${layer.name}/bias`, tf.zeros([layer.filters]));
        }
        c = layer.filters;
      } else if (layer.kind === 'pool') {
        h = Math.floor(h / 2);
        w = Math.floor(w / 2);
      } else if (layer.kind === 'flatten') {
        flat = h * w * c;
      } else {
        const inputs = flat || c;
        const units = layer.output ? this.numClasses : layer.units;
        this.addKernel(layer.name, layer.output ? 'output' : 'dense', [inputs, units], inputs, units, rng);
        this.addParam(`${layer.name}/bias`, tf.zeros([units]));
        flat = units;
      }
    }
  }

  private addParam(name: string, value: tf.Tensor): tf.Variable {
    const variable = tf.variable(value, true, `${this.id}/${name}`);
    value.dispose();
    this.params.set(name, variable);
    return variable;
  }

  private addBuffer(name: string, value: tf.Tensor): void {
    this.buffers.set(name, tf.variable(value, false, `${this.id}/${name}`));
    value.dispose();
  }

  private addKernel(name: string, type: LayerType, shape: number[], fanIn: number, fanOut: number, rng: Rng): void {
    const size = shape.reduce((a, b) => a * b, 1);
    this.addParam(`${name}/kernel`, tf.tensor(glorotNormal(size, fanIn, fanOut, rng), shape));
    this.prunable.push({ name, type, shape, size });
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
    let out: tf.Tensor = x;
    for (const layer of this.layers) {
      if (layer.kind === 'conv') {
        const kernel = this.params.get(`${layer.name}/kernel`) as tf.Tensor4D;
        if (layer.batchNorm) {
          const conv = tf.conv2d(out as tf.Tensor4D, kernel, 1, 'same');
          out = tf.relu(this.batchNorm(layer.name, conv, training));
        } else {
          const bias = this.params.get(`${layer.name}/bias`) as tf.Tensor1D;
          out = tf.fused.conv2d({ x: out as tf.Tensor4D, filter: kernel, strides: 1, pad: 'same', bias, activation: 'relu' });
        }
      } else if (layer.kind === 'pool') {
        out = tf.maxPool(out as tf.Tensor4D, 2, 2, 'valid');
      } else if (layer.kind === 'flatten') {
        out = tf.reshape(out, [out.shape[0], -1]);
      } else {
        const kernel = this.params.get(`${layer.name}/kernel`) as tf.Tensor2D;
        const bias = this.params.get(`${layer.name}/bias`) as tf.Tensor1D;
        out = tf.fused.matMul({ a: out as tf.Tensor2D, b: kernel, bias, activation: layer.output ? 'linear' : 'relu' });
      }
    }
    return out as tf.Tensor2D;
  }

  private batchNorm(name: string, x: tf.Tensor, training: boolean): tf.Tensor {
    const gamma = this.params.get(`${name}/bn_gamma`)!;
    const beta = this.params.get(`${name}/bn_beta`)!;
    if (!training) {
      return tf.batchNorm(x, this.buffers.get(`${name}/bn_mean`)!, this.buffers.get(`${name}/bn_variance`)!, beta, gamma, BN_EPSILON);
    }
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    this.pendingStats.push({ name, mean: tf.keep(mean), variance: tf.keep(variance) });
    return tf.batchNorm(x, mean, variance, beta, gamma, BN_EPSILON);
  }

  /** Update BN running averages from the last training forward pass. */
  commitBatchStats(batchSize: number): void {
    const unbias = batchSize > 1 ? batchSize / (batchSize - 1) : 1;
    for (const { name, mean, variance } of this.pendingStats) {
      const runningMean = this.buffers.get(`${name}/bn_mean`)!;
      const runningVar = this.buffers.get(`${name}/bn_variance`)!;
      tf.tidy(() => {
        runningMean.assign(tf.add(tf.mul(runningMean, 1 - BN_MOMENTUM), tf.mul(mean, BN_MOMENTUM)));
        runningVar.assign(tf.add(tf.mul(runningVar, 1 - BN_MOMENTUM), tf.mul(variance, BN_MOMENTUM * unbias)));
      });
      mean.dispose();
      variance.dispose();
    }
    this.pendingStats = [];
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
