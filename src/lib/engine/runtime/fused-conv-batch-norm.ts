/**
 * A BatchNorm network's conv layer in training, relu(batchNorm(conv2d(x,
 * filter))) with the batch's statistics, as one kernel each way where the
 * backend has them (wasm with our SIMD module loaded; wasm-kernels.ts
 * registers them).
 *
 * Composed of tf.conv2d and fused-batch-norm.ts's BatchNorm + ReLU, the
 * convolution's output z crosses from our SIMD module's memory to tfjs's
 * heap and back between the two kernels, and the gradient dz does the same
 * between BatchNorm's gradient and the convolution's, on the calling thread
 * (the copies are most of those kernels' time at Conv-4-BN ×0.25's
 * shapes: scripts/time-kernel-calls.ts). Here z stays where the
 * convolution wrote it for BatchNorm + ReLU, and dz where BatchNorm's
 * gradient wrote it for the convolution's gradients (fused-conv.ts's
 * one-call core). The same functions run on the same values as in the
 * composed path, so the bits are the same.
 */
import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM_RELU_GRAD, kernelReady, type BatchNormReluAttrs, type BatchNormReluResult } from './fused-batch-norm';
import { composedGradients, oneCallGradients, oneCallReady, runLazyGradientOp } from './fused-conv';

// Like fused-batch-norm.ts, this module is imported by the models, so it imports no backend.

/**
 * relu(batchNorm(conv2d(x, filter))) with the batch's statistics, NHWC,
 * unit dilations: inputs x, filter, gamma, beta; outputs z (the
 * convolution, which the gradient needs), y, mean, variance.
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

/**
 * The gradients of maxPool(relu(batchNorm(conv2d(x, filter))), 2, 2,
 * 'valid') in one call, from the pool's dy: CONV2D_BATCH_NORM_RELU_GRAD's
 * inputs and the layer's output y (the pool's input); its outputs.
 */
export const CONV2D_BATCH_NORM_RELU_MAX_POOL_GRAD = 'LotteryLabConv2DBatchNormReluMaxPoolGrad';

export interface Conv2DBatchNormReluGradAttrs extends Conv2DBatchNormReluAttrs {
  inputGradient: boolean;
}

/**
 * The gradients from dy: in one call where the backend has it (stride 1),
 * else BatchNorm + ReLU's kernel for dz, dgamma and dbeta, then tfjs's
 * conv2d gradient from dz. With the layer's output y saved, dy is its 2x2
 * max pool's, and the pool's gradient is part of the one call.
 */
function gradients(dy: tf.Tensor, saved: tf.Tensor[], attrs: Conv2DBatchNormReluAttrs): Record<string, () => tf.Tensor> {
  const [x, filter, z, mean, variance, gamma, beta, y] = saved as [tf.Tensor4D, tf.Tensor4D, ...tf.Tensor[]];
  const kernel = y == null ? CONV2D_BATCH_NORM_RELU_GRAD : CONV2D_BATCH_NORM_RELU_MAX_POOL_GRAD;
  if (y != null || oneCallReady(CONV2D_BATCH_NORM_RELU_GRAD, attrs.strides)) {
    const inputs = { x, filter, z: z!, dy, mean: mean!, variance: variance!, gamma: gamma!, beta: beta!, ...(y == null ? {} : { y }) };
    const run = (inputGradient: boolean): tf.Tensor[] => {
      const gradientAttrs: Conv2DBatchNormReluGradAttrs = { ...attrs, inputGradient };
      return tf.engine().runKernel(kernel, inputs, gradientAttrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    };
    return oneCallGradients(run, ['x', 'filter', 'gamma', 'beta']);
  }
  const inputs = { x: z!, dy, mean: mean!, variance: variance!, gamma: gamma!, beta: beta! };
  const batchNormAttrs: BatchNormReluAttrs = { epsilon: attrs.epsilon };
  const [dz, dgamma, dbeta] = tf.engine().runKernel(BATCH_NORM_RELU_GRAD, inputs, batchNormAttrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return { ...composedGradients(x, filter, dz as tf.Tensor4D, attrs), gamma: () => dgamma!, beta: () => dbeta! };
}

/**
 * relu(batchNorm(conv2d(x, filter, strides, pad))) over the last axis with
 * the convolution's own batch statistics, differentiable in x, filter,
 * gamma and beta; null where the backend has no fused kernel for it (the
 * caller composes it from a convolution and fused-batch-norm.ts's
 * `fusedBatchNormRelu`). With `pool`, its y is then max-pooled 2x2
 * ('valid', tfjs's MaxPool), and where the backend has the kernel (stride
 * 1) the pool's gradient is part of the layer's one gradient call
 * (CONV2D_BATCH_NORM_RELU_MAX_POOL_GRAD): no MaxPoolGrad call and no dx of
 * the pool copied out of our module and back.
 */
export function fusedConv2DBatchNormRelu(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  strides: number | [number, number],
  pad: 'same' | 'valid',
  epsilon: number,
  pool = false,
): BatchNormReluResult | null {
  const backend = tf.getBackend();
  if (!kernelReady(CONV2D_BATCH_NORM_RELU, backend) || !kernelReady(BATCH_NORM_RELU_GRAD, backend)) return null;
  const maxPool = (y: tf.Tensor): tf.Tensor => tf.maxPool(y as tf.Tensor4D, 2, 2, 'valid');
  if (pool && !oneCallReady(CONV2D_BATCH_NORM_RELU_MAX_POOL_GRAD, strides)) {
    const result = fusedConv2DBatchNormRelu(x, filter, gamma, beta, strides, pad, epsilon)!;
    return { ...result, y: maxPool(result.y) };
  }
  const attrs: Conv2DBatchNormReluAttrs = { strides, pad, epsilon };
  let stats: { mean: tf.Tensor1D; variance: tf.Tensor1D } | null = null;
  const y = runLazyGradientOp({
    inputs: { x, filter, gamma, beta },
    forwardFunc: (_backend, save) => {
      const inputs = { x, filter, gamma, beta };
      const [z, y, mean, variance] = tf.engine().runKernel(CONV2D_BATCH_NORM_RELU, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      save([x, filter, z!, mean!, variance!, gamma, beta, ...(pool ? [y!] : [])]);
      // The forward function runs in a tidy; the statistics leave it for the running averages.
      stats = { mean: tf.keep(mean as tf.Tensor1D), variance: tf.keep(variance as tf.Tensor1D) };
      return pool ? maxPool(y!) : y!;
    },
    backwardsFunc: (dy, saved) => gradients(dy, saved, attrs),
  });
  const { mean, variance } = stats!;
  return { y, mean, variance };
}
