/**
 * BatchNorm + ReLU in training as one kernel each way, where the backend has
 * them (wasm with our SIMD module loaded; wasm-kernels.ts registers them).
 *
 * tfjs composes the training path of `relu(batchNorm(x, moments(x)))` from
 * about thirty small kernels per layer and step, forward and backward; on
 * wasm its BatchNorm gradient alone tiles the per-channel scale out to the
 * whole activation with a scalar Tile kernel, which took half of a
 * Conv-4-BN ×0.25 step (scripts/profile-wasm-step.ts). The fused kernels
 * make one pass for each statistic and one for the output, and two for the
 * gradients of x, gamma and beta, the statistics' own gradients included.
 */
import * as tf from '@tensorflow/tfjs';

// This module is imported by the models, so it imports no backend: importing
// tfjs-backend-wasm registers that backend, which then outranks cpu
// wherever no backend is chosen.

/** relu(batchNorm(x)) with x's own batch statistics: outputs y, mean, variance. */
export const BATCH_NORM_RELU = 'LotteryLabBatchNormRelu';
/** Its gradient: inputs x, dy, mean, variance, gamma, beta; outputs dx, dgamma, dbeta. */
export const BATCH_NORM_RELU_GRAD = 'LotteryLabBatchNormReluGrad';

export interface BatchNormReluAttrs {
  epsilon: number;
}

/**
 * A conv layer's relu(batchNorm(conv2d(x, filter))) in training, NHWC, unit
 * dilations: inputs x, filter, gamma, beta; outputs z (the convolution,
 * which the gradient needs), y, mean, variance.
 */
export const CONV2D_BATCH_NORM_RELU = 'LotteryLabConv2DBatchNormRelu';

export interface Conv2DBatchNormReluAttrs extends BatchNormReluAttrs {
  strides: number | [number, number];
  pad: 'same' | 'valid';
}

/**
 * Its gradients in one call (stride 1): inputs x, filter, z, dy, mean,
 * variance, gamma, beta; outputs dx (where `inputGradient`), dfilter,
 * dgamma, dbeta.
 */
export const CONV2D_BATCH_NORM_RELU_GRAD = 'LotteryLabConv2DBatchNormReluGrad';

export interface Conv2DBatchNormReluGradAttrs extends Conv2DBatchNormReluAttrs {
  inputGradient: boolean;
}

/**
 * A registered kernel config may carry this function, saying whether it can
 * run now (wasm's need our SIMD module, loaded after registration).
 */
export const KERNEL_READY = Symbol.for('lottery-lab.kernel-ready');

type ReadyKernelConfig = tf.KernelConfig & { [KERNEL_READY]?: () => boolean };

/** Whether `backend` has kernel `name` registered and ready to run now. */
export function kernelReady(name: string, backend: string): boolean {
  const config = tf.getKernel(name, backend) as ReadyKernelConfig | undefined;
  return config != null && (config[KERNEL_READY]?.() ?? true);
}

export interface BatchNormReluResult {
  y: tf.Tensor;
  /** The batch's mean and (biased) variance per channel, kept: the caller disposes them. */
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

/** Whether the active backend runs `fusedBatchNormRelu`. */
export function fusedBatchNormReluAvailable(): boolean {
  const backend = tf.getBackend();
  return kernelReady(BATCH_NORM_RELU, backend) && kernelReady(BATCH_NORM_RELU_GRAD, backend);
}

/**
 * relu(batchNorm(x, mean, variance, beta, gamma, epsilon)) over the last
 * axis with x's own batch statistics, differentiable in x, gamma and beta;
 * null where the backend has no fused kernels (the caller composes it).
 */
export function fusedBatchNormRelu(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): BatchNormReluResult | null {
  if (!fusedBatchNormReluAvailable()) return null;
  const attrs: BatchNormReluAttrs = { epsilon };
  let stats: { mean: tf.Tensor1D; variance: tf.Tensor1D } | null = null;
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [input, scale, offset, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const [y, mean, variance] = tf.engine().runKernel(BATCH_NORM_RELU, { x: input, gamma: scale, beta: offset }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    save([input, mean!, variance!, scale, offset]);
    // customGrad's forward runs in a tidy; the statistics leave it for the running averages.
    stats = { mean: tf.keep(mean as tf.Tensor1D), variance: tf.keep(variance as tf.Tensor1D) };
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedX, savedMean, savedVariance, savedGamma, savedBeta] = saved;
        const inputs = { x: savedX!, dy, mean: savedMean!, variance: savedVariance!, gamma: savedGamma!, beta: savedBeta! };
        return tf.engine().runKernel(BATCH_NORM_RELU_GRAD, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      },
    };
  });
  const y = op(x, gamma, beta);
  const { mean, variance } = stats!;
  return { y, mean, variance };
}

/**
 * The engine's own entry for an op with a gradient per input (tf.customGrad
 * calls it, and computes every input's gradient eagerly through it): here
 * each input's gradient is a function, run only if the input needs one,
 * as for registered kernels (a network's first layer needs no dx).
 */
interface LazyGradientOp {
  forwardFunc: (backend: unknown, save: tf.GradSaveFunc) => tf.Tensor;
  backwardsFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => Record<string, () => tf.Tensor>;
  inputs: tf.NamedTensorMap;
}

function runLazyGradientOp(op: LazyGradientOp): tf.Tensor {
  return (tf.engine() as unknown as { runKernelFunc(op: LazyGradientOp): tf.Tensor }).runKernelFunc(op);
}

/**
 * relu(batchNorm(conv2d(x, filter, strides, pad))) over the last axis with
 * the convolution's own batch statistics, differentiable in x, filter,
 * gamma and beta; null where the backend has no fused kernel for it (the
 * caller composes it, as from tf.conv2d and `fusedBatchNormRelu`).
 *
 * Forward, one kernel: the convolution's output stays in our SIMD module's
 * memory for BatchNorm + ReLU instead of crossing to tfjs's heap and back.
 * Backward: BATCH_NORM_RELU_GRAD for dz, dgamma and dbeta, then the
 * convolution's gradients from dz as tfjs's conv2d gradient takes them
 * (Conv2DBackpropInput, Conv2DBackpropFilter): the same kernels on the same
 * values as the composed path, so the same bits.
 */
export function fusedConv2DBatchNormRelu(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  strides: number | [number, number],
  pad: 'same' | 'valid',
  epsilon: number,
): BatchNormReluResult | null {
  const backend = tf.getBackend();
  if (!kernelReady(CONV2D_BATCH_NORM_RELU, backend) || !kernelReady(BATCH_NORM_RELU_GRAD, backend)) return null;
  const attrs: Conv2DBatchNormReluAttrs = { strides, pad, epsilon };
  let stats: { mean: tf.Tensor1D; variance: tf.Tensor1D } | null = null;
  const y = runLazyGradientOp({
    inputs: { x, filter, gamma, beta },
    forwardFunc: (_backend, save) => {
      const inputs = { x, filter, gamma, beta };
      const [z, y, mean, variance] = tf.engine().runKernel(CONV2D_BATCH_NORM_RELU, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      save([x, filter, z!, mean!, variance!, gamma, beta]);
      // The forward function runs in a tidy; the statistics leave it for the running averages.
      stats = { mean: tf.keep(mean as tf.Tensor1D), variance: tf.keep(variance as tf.Tensor1D) };
      return y!;
    },
    backwardsFunc: (dy, saved) => {
      const [savedX, savedFilter, z, mean, variance, savedGamma, savedBeta] = saved as [tf.Tensor4D, tf.Tensor4D, ...tf.Tensor[]];
      const inputs = { x: z!, dy, mean: mean!, variance: variance!, gamma: savedGamma!, beta: savedBeta! };
      const [dz, dgamma, dbeta] = tf.engine().runKernel(BATCH_NORM_RELU_GRAD, inputs, { epsilon } as unknown as tf.NamedAttrMap) as tf.Tensor[];
      return {
        x: () => tf.conv2dTranspose(dz as tf.Tensor4D, savedFilter, savedX.shape, strides, pad),
        filter: () =>
          tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: savedX, dy: dz! }, {
            strides,
            pad,
            dataFormat: 'NHWC',
            dimRoundingMode: undefined,
            filterShape: savedFilter.shape,
          } as unknown as tf.NamedAttrMap) as tf.Tensor,
        gamma: () => dgamma!,
        beta: () => dbeta!,
      };
    },
  });
  const { mean, variance } = stats!;
  return { y, mean, variance };
}
