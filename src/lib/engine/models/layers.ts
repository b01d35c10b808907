/**
 * Layers with one small interface, after convnetjs: every layer answers the
 * same questions and a network is a list of them. Building the model, its
 * forward pass, its FLOPs and the spread of pruned channels are each one pass
 * over the list (`walkLayers`), so a new layer type (a residual block, a conv
 * whose pruned channels are physically removed) is one more object here.
 */
import * as tf from '@tensorflow/tfjs';
import { fusedBatchNormRelu, type BatchNormReluResult } from '../runtime/fused-batch-norm';
import { conv2d, conv2dBiasRelu, conv2dBiasReluMaxPool } from '../runtime/fused-conv';
import { fusedConv2DBatchNormRelu } from '../runtime/fused-conv-batch-norm';

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

/**
 * A layer's forward function, bound to the variables its `build` made;
 * `pooled`, where the layer has it, is the same followed by `maxPool()`'s
 * pool, differentiated in one gradient call (the model runs it in place of
 * the two where such a layer is followed by a `maxPool()`).
 */
export type LayerForward = ((x: tf.Tensor, pass: ForwardPass) => tf.Tensor) & { pooled?: (x: tf.Tensor, pass: ForwardPass) => tf.Tensor };

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
  /** True for `maxPool()`'s 2x2 pool, which a layer before it with a `pooled` forward runs itself. */
  readonly maxPool2x2?: boolean;
  /** A supernet stage's parallel branches and where each branch's channels land in its output (absent elsewhere). */
  readonly branches?: readonly StageBranch[];
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
        return Object.assign((x: tf.Tensor) => conv2dBiasRelu(x as tf.Tensor4D, kernel, bias, 1, 'same'), {
          pooled: (x: tf.Tensor) => conv2dBiasReluMaxPool(x as tf.Tensor4D, kernel, bias, 1, 'same'),
        });
      }
      const convBatchNormRelu = buildConvBatchNormRelu(name, kernel, filters, vars);
      return Object.assign((x: tf.Tensor, pass: ForwardPass) => convBatchNormRelu(x as tf.Tensor4D, pass), {
        pooled: (x: tf.Tensor, pass: ForwardPass) => convBatchNormRelu(x as tf.Tensor4D, pass, true),
      });
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

/**
 * A 'same' convolution, stride 1, by `kernel`, then BatchNorm (PyTorch's
 * momentum and epsilon) and ReLU over its channels, named `${name}/bn_*`
 * and declared to channel pruning: its scales gate the convolution's
 * filters. In training, one fused kernel where the backend has it. With
 * `pool`, a 2x2 max pool follows ('valid'), its gradient in the layer's
 * one gradient call where the backend has that. `channels` is the kernel's
 * output count, given apart: the PyTorch exporter builds layers with a
 * recorder whose kernels are not tensors (src/lib/export/pytorch.ts).
 */
function buildConvBatchNormRelu(
  name: string,
  kernel: tf.Tensor4D,
  channels: number,
  vars: VariableBuilder,
): (x: tf.Tensor4D, pass: ForwardPass, pool?: boolean) => tf.Tensor {
  const gamma = vars.param(`${name}/bn_gamma`, tf.ones([channels]));
  const beta = vars.param(`${name}/bn_beta`, tf.zeros([channels]));
  const runningMean = vars.buffer(`${name}/bn_mean`, tf.zeros([channels]));
  const runningVariance = vars.buffer(`${name}/bn_variance`, tf.ones([channels]));
  vars.batchNorm({ name, channels, gamma, beta });
  const queued = ({ y, mean, variance }: BatchNormReluResult, pass: ForwardPass): tf.Tensor => {
    pass.queueBatchStats({ mean, variance, runningMean, runningVariance });
    return y;
  };
  const maxPool = (y: tf.Tensor, pool: boolean): tf.Tensor => (pool ? tf.maxPool(y as tf.Tensor4D, 2, 2, 'valid') : y);
  return (x, pass, pool = false) => {
    if (!pass.training) return maxPool(tf.relu(tf.batchNorm(conv2d(x, kernel, 1, 'same'), runningMean, runningVariance, beta, gamma, BN_EPSILON)), pool);
    const fused = fusedConv2DBatchNormRelu(x, kernel, gamma, beta, 1, 'same', BN_EPSILON, pool);
    if (fused) return queued(fused, pass);
    const convolved = conv2d(x, kernel, 1, 'same');
    const fusedBatchNorm = fusedBatchNormRelu(convolved, gamma, beta, BN_EPSILON);
    if (fusedBatchNorm) return maxPool(queued(fusedBatchNorm, pass), pool);
    const { mean, variance } = tf.moments(convolved, [0, 1, 2]);
    pass.queueBatchStats({ mean: tf.keep(mean), variance: tf.keep(variance), runningMean, runningVariance });
    return maxPool(tf.relu(tf.batchNorm(convolved, mean, variance, beta, gamma, BN_EPSILON)), pool);
  };
}

/** One parallel branch of a supernet stage: its kernel size and where each of its channels lands in the stage's output. */
export interface StageBranch {
  /** Odd kernel size (3 for 3x3); the branch is named `${stage}_k${kernel}`. */
  kernel: number;
  /** The stage output channel each of the branch's channels is added to, increasing. */
  positions: readonly number[];
}

/** The name of a stage's branch with kernel size `kernel` (`conv_1_k5`): its variables are `conv_1_k5/kernel` and so on. */
export function branchName(stage: string, kernel: number): string {
  return `${stage}_k${kernel}`;
}

/** `count` branch channels at the stage's first `count` positions. */
export function leadingPositions(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

/**
 * A supernet stage (SuperTickets' search space on Conv-4-BN): parallel
 * 'same' convolutions, stride 1, of different kernel sizes, each with its
 * own BatchNorm and ReLU, their outputs summed into `width` channels. Each
 * branch is a channel-pruned layer of its own (its BN scales gate its
 * channels), so removing channels can narrow one kernel size and not
 * another; a stage output channel goes once no branch adds to it, and a
 * branch with no channel left goes altogether. Because branch channels
 * are added position by position, each branch says where its channels land.
 */
export function branchStage(name: string, width: number, branches: readonly StageBranch[]): Layer {
  if (branches.length === 0) throw new Error(`Stage ${name} needs at least one branch`);
  for (const b of branches) {
    if (!(Number.isInteger(b.kernel) && b.kernel >= 1 && b.kernel % 2 === 1)) throw new Error(`Stage ${name}: branch kernel size must be an odd whole number, got ${b.kernel}`);
    if (b.positions.some((p, i) => !(Number.isInteger(p) && p >= 0 && p < width && (i === 0 || p > b.positions[i - 1])))) {
      throw new Error(`Stage ${name}: branch k${b.kernel} positions must increase within its ${width} channels`);
    }
  }
  const names = branches.map((b) => branchName(name, b.kernel));
  if (new Set(names).size !== names.length) throw new Error(`Stage ${name}: each kernel size may appear once, got ${branches.map((b) => b.kernel).join(', ')}`);
  const layer: Layer = {
    name,
    branches,
    outputShape(input, kept) {
      const [h, w] = spatial(name, input);
      return [h, w, kept?.get(name) ?? width];
    },
    build(input, vars) {
      const channels = spatial(name, input)[2];
      const forwards = branches.map((b, i) => {
        const filters = b.positions.length;
        const window = b.kernel * b.kernel;
        const kernel = vars.kernel(names[i], 'conv', [b.kernel, b.kernel, channels, filters], window * channels, window * filters) as tf.Tensor4D;
        const convBatchNormRelu = buildConvBatchNormRelu(names[i], kernel, filters, vars);
        // A branch narrower than its stage adds its channels at their positions: a 0/1
        // placement matrix (a matMul, whose gradient every backend has; gather's needs a
        // kernel wasm lacks).
        const identity = filters === width;
        const placement = new Float32Array(filters * width);
        b.positions.forEach((p, c) => (placement[c * width + p] = 1));
        return (x: tf.Tensor, pass: ForwardPass) => {
          const y = convBatchNormRelu(x as tf.Tensor4D, pass);
          if (identity) return y;
          const [n, h, w] = y.shape;
          return tf.reshape(tf.matMul(tf.reshape(y, [-1, filters]), tf.tensor2d(placement, [filters, width])), [n, h, w, width]);
        };
      });
      return (x, pass) => forwards.map((f) => f(x, pass)).reduce((sum, y) => tf.add(sum, y));
    },
    flops(input) {
      const [h, w, inputs] = input;
      return branches.reduce((sum, b) => sum + 2 * h * w * b.kernel * b.kernel * inputs * b.positions.length, 0);
    },
    cutChannels(_input, inputKeep, channelKeep) {
      const variables = new Map<string, AxisKeep>();
      const reached = new Uint8Array(width);
      let cut = false;
      branches.forEach((b, i) => {
        const keep = channelKeep.get(names[i]) ?? null;
        cut ||= keep !== null;
        variables.set(`${names[i]}/kernel`, [null, null, inputKeep, keep]);
        for (const suffix of ['bn_gamma', 'bn_beta', 'bn_mean', 'bn_variance']) variables.set(`${names[i]}/${suffix}`, [keep]);
        b.positions.forEach((p, c) => {
          if (!keep || keep[c]) reached[p] = 1;
        });
      });
      return { variables, output: cut ? reached : null };
    },
    narrowed(channelKeep) {
      if (!names.some((n) => channelKeep.has(n))) return layer;
      const kept = branches.map((b, i) => {
        const keep = channelKeep.get(names[i]);
        return { kernel: b.kernel, positions: b.positions.filter((_, c) => !keep || keep[c]) };
      });
      // Stage channels no branch adds to any more go; the rest close up in order.
      const used = [...new Set(kept.flatMap((b) => b.positions))].sort((a, b) => a - b);
      const renumber = new Map(used.map((p, i) => [p, i]));
      const live = kept.filter((b) => b.positions.length > 0).map((b) => ({ kernel: b.kernel, positions: b.positions.map((p) => renumber.get(p)!) }));
      return branchStage(name, used.length, live);
    },
  };
  return layer;
}

/** 2x2 max-pooling, stride 2. */
export function maxPool(): Layer {
  return {
    name: '',
    maxPool2x2: true,
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
