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
