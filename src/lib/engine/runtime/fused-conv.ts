/**
 * A conv layer's relu(conv2d(x, filter) + bias) as one kernel forward, where
 * the backend has it (wasm with our SIMD module loaded; wasm-kernels.ts
 * registers it), and tfjs's fused conv2d elsewhere.
 *
 * While gradients are recorded, tfjs's fused conv2d runs unfused: Conv2D,
 * then Add (the bias broadcast over the activation), then Relu, and its
 * gradient gates dy by Step and Cast before a Multiply: five passes over
 * the activation on one thread besides the convolution, a few percent of a
 * narrow network's step (scripts/profile-wasm-step.ts). Here the bias and
 * ReLU are applied by the convolution's own threads as they finish each
 * image, and the gradient gates dy once (Step and Multiply) from the output.
 * The kernels the gradient then runs are the ones tfjs's conv2d gradient
 * runs (Conv2DBackpropInput, Conv2DBackpropFilter, Sum for the bias).
 */
import * as tf from '@tensorflow/tfjs';
import { kernelReady } from './fused-batch-norm';

// Like fused-batch-norm.ts, this module is imported by the models, so it imports no backend.

/** relu(conv2d(x, filter) + bias), NHWC, unit dilations: inputs x, filter, bias; output y. */
export const CONV2D_BIAS_RELU = 'LotteryLabConv2DBiasRelu';

export interface Conv2DBiasReluAttrs {
  strides: number | [number, number];
  pad: 'same' | 'valid';
}

/**
 * The gradients of relu(conv2d(x, filter) + bias) from its inputs x and
 * filter and its output y. ReLU's gradient comes from y: y > 0 exactly
 * where its input was. Each input's gradient is computed only if asked for
 * (a network's first layer needs no dx).
 */
function gradients(dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap): Record<string, () => tf.Tensor> {
  const [x, filter, y] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
  const { strides, pad } = attrs as unknown as Conv2DBiasReluAttrs;
  const gated = tf.mul(dy as tf.Tensor, tf.step(y)) as tf.Tensor4D;
  return {
    x: () => tf.conv2dTranspose(gated, filter, x.shape, strides, pad),
    filter: () =>
      tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy: gated }, {
        strides,
        pad,
        dataFormat: 'NHWC',
        dimRoundingMode: undefined,
        filterShape: filter.shape,
      } as unknown as tf.NamedAttrMap) as tf.Tensor,
    bias: () => tf.sum(gated, [0, 1, 2]),
  };
}

// Registered once per tfjs instance; a second copy of this module (a bundler's or a test runner's) finds it there.
if (tf.getGradient(CONV2D_BIAS_RELU) == null) {
  tf.registerGradient({ kernelName: CONV2D_BIAS_RELU, inputsToSave: ['x', 'filter'], outputsToSave: [true], gradFunc: gradients });
}

/** relu(conv2d(x, filter, strides, pad) + bias): fused where the active backend has the kernel, else tfjs's fused conv2d. */
export function conv2dBiasRelu(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  bias: tf.Tensor1D,
  strides: number | [number, number],
  pad: 'same' | 'valid',
): tf.Tensor4D {
  if (!kernelReady(CONV2D_BIAS_RELU, tf.getBackend())) return tf.fused.conv2d({ x, filter, strides, pad, bias, activation: 'relu' });
  const attrs: Conv2DBiasReluAttrs = { strides, pad };
  return tf.engine().runKernel(CONV2D_BIAS_RELU, { x, filter, bias }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}
