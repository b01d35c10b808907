/**
 * Layers with one small interface, after convnetjs: every layer answers the
 * same questions and a network is a list of them. Building the model, its
 * forward pass, its FLOPs and the spread of pruned channels are each one pass
 * over the list (`walkLayers`), so a new layer type (a residual block, a conv
 * whose pruned channels are physically removed) is one more object here.
 */
import * as tf from '@tensorflow/tfjs';
import { fusedBatchNormRelu } from '../runtime/fused-batch-norm';

/** One example's activation shape: [height, width, channels], or [features] once flattened. */
export type ActivationShape = readonly number[];

/** Surviving output channels of channel-pruned layers, by layer name. */
export type KeptChannels = ReadonlyMap<string, number>;

/** Keep-bits (1 = kept) per axis of one variable; null keeps the whole axis. */
export type AxisKeep = readonly (Uint8Array | null)[];

/** What removing channels takes from one layer. */
export interface ChannelCut {
  /** The kept part of each variable the cut reaches, by variable name (`conv_2/kernel`): keep-bits per axis. */
  variables: Map<string, AxisKeep>;
  /** Keep-bits over the last axis of the layer's output; null: all kept. */
  output: Uint8Array | null;
}

/** What a prunable kernel is, for the paper's per-layer-type rates. */
export type LayerType = 'conv' | 'dense' | 'output';

export interface PrunableLayer {
  /** Layer name (`conv_1`, `dense_3`); the kernel variable is `${name}/kernel`. */
  name: string;
  type: LayerType;
  shape: number[];
  size: number;
}

/** A BatchNorm whose scale gates the output channels of the layer it is named after. */
export interface BatchNormLayer {
  name: string;
  channels: number;
  gamma: tf.Variable;
  beta: tf.Variable;
}

/** How a layer creates its variables (the model owns them and names them globally). */
export interface VariableBuilder {
  /** A trainable variable; takes ownership of `value`. */
  param(name: string, value: tf.Tensor): tf.Variable;
  /** A state variable the optimiser leaves alone (BN running statistics); takes ownership of `value`. */
  buffer(name: string, value: tf.Tensor): tf.Variable;
  /** The prunable kernel `${layer}/kernel`, drawn from the model's seeded initialiser. */
  kernel(layer: string, type: LayerType, shape: number[], fanIn: number, fanOut: number): tf.Variable;
  /** Declare a BatchNorm whose channels channel pruning (EarlyBird, WORM) ranks and gates. */
  batchNorm(layer: BatchNormLayer): void;
}

/** BN statistics of one training batch, folded into the running averages after the optimiser step. */
export interface BatchStats {
  mean: tf.Tensor;
  variance: tf.Tensor;
  runningMean: tf.Variable;
  runningVariance: tf.Variable;
}

/** What one forward pass tells its layers. */
export interface ForwardPass {
  /** Training mode: BN normalises with batch statistics and queues them. */
  readonly training: boolean;
  queueBatchStats(stats: BatchStats): void;
}

/** A layer's forward function, bound to the variables its `build` made. */
export type LayerForward = (x: tf.Tensor, pass: ForwardPass) => tf.Tensor;

export interface Layer {
  /** Prefix of the layer's variables (`conv_1` -> `conv_1/kernel`); empty for layers without any. */
  readonly name: string;
  /** Shape of one example's output; `kept` narrows channel-pruned layers to their surviving channels. */
  outputShape(input: ActivationShape, kept?: KeptChannels): ActivationShape;
  /**
   * Create the layer's variables and return its forward function. Layers are
   * built in list order, so a seed draws the same initial values.
   */
  build(input: ActivationShape, vars: VariableBuilder): LayerForward;
  /** Forward FLOPs of one example (2 per multiply-add) between these shapes. */
  flops(input: ActivationShape, output: ActivationShape): number;
  /**
   * Channel pruning's reach through this layer. `inputKeep` holds keep-bits
   * over the last axis of the layer's input (null: all kept); `channelKeep`
   * the keep-bits of channel-pruned layers by name. The layer says which
   * entries of its variables survive (rows fed by pruned inputs go, and so
   * do its own pruned channels) and what of its output does. Zeroing kernel
   * masks (EarlyBird, WORM) and physically cutting the channels out
   * (models/shrink.ts) both read this one answer.
   */
  cutChannels(input: ActivationShape, inputKeep: Uint8Array | null, channelKeep: ReadonlyMap<string, Uint8Array>): ChannelCut;
  /**
   * This layer with only the output channels `channelKeep` keeps (itself when
   * it does not name it). Keep-bits, not counts, so a layer whose channels
   * have positions (parallel branches summed into one output) can place them.
   */
  narrowed(channelKeep: ReadonlyMap<string, Uint8Array>): Layer;
}

export interface LayerStep {
  layer: Layer;
  input: ActivationShape;
  output: ActivationShape;
}

/** Each layer with the shapes entering and leaving it, in order: the one walk every pass uses. */
export function* walkLayers(layers: readonly Layer[], inputShape: ActivationShape, kept?: KeptChannels): Generator<LayerStep> {
  let input = inputShape;
  for (const layer of layers) {
    const output = layer.outputShape(input, kept);
    yield { layer, input, output };
    input = output;
  }
}

const BN_MOMENTUM = 0.1; // PyTorch's convention, as in the EarlyBird reference code
const BN_EPSILON = 1e-5;

function spatial(name: string, input: ActivationShape): [number, number, number] {
  if (input.length !== 3) throw new Error(`Layer ${name} needs a [height, width, channels] input, got [${input.join(', ')}]`);
  return [input[0], input[1], input[2]];
}

/**
 * 3x3 'same' convolution, stride 1, then ReLU: with a bias, or with BatchNorm
 * (PyTorch's momentum and epsilon) in its place, whose scales gate the
 * filters for channel pruning.
 */
export function conv(name: string, filters: number, options: { batchNorm: boolean }): Layer {
  const perChannel = options.batchNorm ? ['bn_gamma', 'bn_beta', 'bn_mean', 'bn_variance'] : ['bias'];
  const layer: Layer = {
    name,
    outputShape(input, kept) {
      const [h, w] = spatial(name, input);
      return [h, w, kept?.get(name) ?? filters];
    },
    build(input, vars) {
      const channels = spatial(name, input)[2];
      const kernel = vars.kernel(name, 'conv', [3, 3, channels, filters], 9 * channels, 9 * filters) as tf.Tensor4D;
      if (!options.batchNorm) {
        const bias = vars.param(`${name}/bias`, tf.zeros([filters])) as tf.Tensor1D;
        return (x) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: kernel, strides: 1, pad: 'same', bias, activation: 'relu' });
      }
      const gamma = vars.param(`${name}/bn_gamma`, tf.ones([filters]));
      const beta = vars.param(`${name}/bn_beta`, tf.zeros([filters]));
      const runningMean = vars.buffer(`${name}/bn_mean`, tf.zeros([filters]));
      const runningVariance = vars.buffer(`${name}/bn_variance`, tf.ones([filters]));
      vars.batchNorm({ name, channels: filters, gamma, beta });
      return (x, pass) => {
        const convolved = tf.conv2d(x as tf.Tensor4D, kernel, 1, 'same');
        if (!pass.training) return tf.relu(tf.batchNorm(convolved, runningMean, runningVariance, beta, gamma, BN_EPSILON));
        const fused = fusedBatchNormRelu(convolved, gamma, beta, BN_EPSILON);
        if (fused) {
          pass.queueBatchStats({ mean: fused.mean, variance: fused.variance, runningMean, runningVariance });
          return fused.y;
        }
        const { mean, variance } = tf.moments(convolved, [0, 1, 2]);
        pass.queueBatchStats({ mean: tf.keep(mean), variance: tf.keep(variance), runningMean, runningVariance });
        return tf.relu(tf.batchNorm(convolved, mean, variance, beta, gamma, BN_EPSILON));
      };
    },
    flops(input, output) {
      const [h, w, inputs] = input;
      return 2 * h * w * 9 * inputs * output[2]; // one 3x3 window per output pixel
    },
    cutChannels(_input, inputKeep, channelKeep) {
      const output = channelKeep.get(name) ?? null;
      const variables = new Map<string, AxisKeep>([[`${name}/kernel`, [null, null, inputKeep, output]]]);
      for (const suffix of perChannel) variables.set(`${name}/${suffix}`, [output]);
      return { variables, output };
    },
    narrowed(channelKeep) {
      const keep = channelKeep.get(name);
      const count = keep?.reduce((n, k) => n + k, 0);
      return count === undefined || count === filters ? layer : conv(name, count, options);
    },
  };
  return layer;
}

/** 2x2 max-pooling, stride 2. */
export function maxPool(): Layer {
  return {
    name: '',
    outputShape(input) {
      const [h, w, c] = spatial('maxPool', input);
      return [Math.floor(h / 2), Math.floor(w / 2), c];
    },
    build: () => (x) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid'),
    flops: () => 0, // a comparison per input: nothing beside the convolutions' multiply-adds
    cutChannels: (_input, inputKeep) => ({ variables: new Map(), output: inputKeep }),
    narrowed() {
      return this;
    },
  };
}

/** NHWC flattening: feature (y * width + x) * channels + c comes from channel c. */
export function flatten(): Layer {
  return {
    name: '',
    outputShape: (input) => [input.reduce((a, b) => a * b, 1)],
    build: () => (x) => tf.reshape(x, [x.shape[0], -1]),
    flops: () => 0,
    cutChannels(input, inputKeep) {
      if (!inputKeep) return { variables: new Map(), output: null };
      const channels = input[input.length - 1];
      const features = input.reduce((a, b) => a * b, 1);
      return { variables: new Map(), output: Uint8Array.from({ length: features }, (_, f) => inputKeep[f % channels]) };
    },
    narrowed() {
      return this;
    },
  };
}

/** Fully connected with a bias: ReLU on hidden layers, linear logits on the output layer. */
export function dense(name: string, units: number, options: { output: boolean }): Layer {
  const features = (input: ActivationShape): number => {
    if (input.length !== 1) throw new Error(`Layer ${name} needs a flat input (a flatten layer before it), got [${input.join(', ')}]`);
    return input[0];
  };
  return {
    name,
    outputShape(input) {
      features(input);
      return [units];
    },
    build(input, vars) {
      const inputs = features(input);
      const kernel = vars.kernel(name, options.output ? 'output' : 'dense', [inputs, units], inputs, units) as tf.Tensor2D;
      const bias = vars.param(`${name}/bias`, tf.zeros([units])) as tf.Tensor1D;
      const activation = options.output ? 'linear' : 'relu';
      return (x) => tf.fused.matMul({ a: x as tf.Tensor2D, b: kernel, bias, activation });
    },
    flops: (input) => 2 * input[0] * units,
    cutChannels: (_input, inputKeep) => ({ variables: new Map([[`${name}/kernel`, [inputKeep, null]]]), output: null }),
    narrowed() {
      return this;
    },
  };
}

/** Fold one batch's BN statistics into the running averages (variance unbiased, as PyTorch). */
export function updateRunningStats({ mean, variance, runningMean, runningVariance }: BatchStats, batchSize: number): void {
  const unbias = batchSize > 1 ? batchSize / (batchSize - 1) : 1;
  tf.tidy(() => {
    runningMean.assign(tf.add(tf.mul(runningMean, 1 - BN_MOMENTUM), tf.mul(mean, BN_MOMENTUM)));
    runningVariance.assign(tf.add(tf.mul(runningVariance, 1 - BN_MOMENTUM), tf.mul(variance, BN_MOMENTUM * unbias)));
  });
}
