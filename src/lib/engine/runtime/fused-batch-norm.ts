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
import { simdKernels } from './simd/simd-kernels';
import { BATCH_NORM_RELU, BATCH_NORM_RELU_GRAD, type BatchNormReluAttrs } from './wasm-kernels';

export interface BatchNormReluResult {
  y: tf.Tensor;
  /** The batch's mean and (biased) variance per channel, kept: the caller disposes them. */
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

/** Whether the active backend runs `fusedBatchNormRelu`. */
export function fusedBatchNormReluAvailable(): boolean {
  const backend = tf.getBackend();
  return simdKernels() != null && tf.getKernel(BATCH_NORM_RELU, backend) != null && tf.getKernel(BATCH_NORM_RELU_GRAD, backend) != null;
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
    save([input, y!, mean!, variance!, scale]);
    // customGrad's forward runs in a tidy; the statistics leave it for the running averages.
    stats = { mean: tf.keep(mean as tf.Tensor1D), variance: tf.keep(variance as tf.Tensor1D) };
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedX, savedY, savedMean, savedVariance, savedGamma] = saved;
        const inputs = { x: savedX!, y: savedY!, dy, mean: savedMean!, variance: savedVariance!, gamma: savedGamma! };
        return tf.engine().runKernel(BATCH_NORM_RELU_GRAD, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      },
    };
  });
  const y = op(x, gamma, beta);
  const { mean, variance } = stats!;
  return { y, mean, variance };
}
