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
 *
 * Where the backend has it (wasm with our SIMD module), the gradient is
 * instead one kernel (CONV2D_BIAS_RELU_GRAD): dy copied into our module
 * once, gated, and dx, the filter and bias gradients computed in one
 * threaded run, with the same bits. `conv2d` below does the same for a
 * plain convolution (the BatchNorm networks'), with CONV2D_GRAD.
 */
import * as tf from '@tensorflow/tfjs';
import { kernelReady } from './fused-batch-norm';

// Like fused-batch-norm.ts, this module is imported by the models, so it imports no backend.

/** relu(conv2d(x, filter) + bias), NHWC, unit dilations: inputs x, filter, bias; output y. */
export const CONV2D_BIAS_RELU = 'LotteryLabConv2DBiasRelu';

/** The gradients of CONV2D_BIAS_RELU in one call: inputs x, filter, y (its output), dy; outputs [dx (if asked), dfilter, dbias]. */
export const CONV2D_BIAS_RELU_GRAD = 'LotteryLabConv2DBiasReluGrad';

/**
 * The gradients of maxPool(relu(conv2d(x, filter) + bias), 2, 2, 'valid')
 * in one call, from the pool's dy: inputs x, filter, y (the ReLU's output,
 * the pool's input), dy; outputs as CONV2D_BIAS_RELU_GRAD's.
 */
export const CONV2D_BIAS_RELU_MAX_POOL_GRAD = 'LotteryLabConv2DBiasReluMaxPoolGrad';

/** conv2d(x, filter), NHWC, unit dilations, as tfjs's Conv2D: inputs x, filter; output y. */
export const CONV2D = 'LotteryLabConv2D';

/** The gradients of CONV2D in one call: inputs x, filter, dy; outputs [dx (if asked), dfilter]. */
export const CONV2D_GRAD = 'LotteryLabConv2DGrad';

export interface Conv2DBiasReluAttrs {
  strides: number | [number, number];
  pad: 'same' | 'valid';
}

/** CONV2D's attributes: tfjs's Conv2D's, so that the backend's convolution serves it as it is. */
export type Conv2DAttrs = Conv2DBiasReluAttrs & { dataFormat: 'NHWC'; dilations: 1; dimRoundingMode?: undefined };

/** The gradient kernels' attributes: whether dx is wanted. */
export type ConvGradientAttrs = Conv2DBiasReluAttrs & { inputGradient: boolean };

const unitStrides = (strides: number | [number, number]): boolean =>
  typeof strides === 'number' ? strides === 1 : strides[0] === 1 && strides[1] === 1;

/** Whether the active backend computes a convolution's gradients in one call `kernel` (stride 1 only). */
export function oneCallReady(kernel: string, strides: number | [number, number]): boolean {
  return unitStrides(strides) && kernelReady(kernel, tf.getBackend());
}

/**
 * Gradient thunks served by one kernel call. tfjs asks for an input's
 * gradient only if it leads back to what is differentiated, in the order
 * of the inputs (x first), and keeps only the tensor each thunk returns:
 * so the first thunk asked runs the kernel (with dx only if it is x's) and
 * returns its own output, and the other outputs are held as values until
 * their thunks ask (a filter-sized copy each; values never asked for are
 * simply dropped, so no tensor is left behind). Should x be asked for after
 * the kernel ran without dx, the kernel runs again for it.
 */
export function oneCallGradients(
  run: (inputGradient: boolean) => tf.Tensor[],
  names: [string, ...string[]],
): Record<string, () => tf.Tensor> {
  const held = new Map<string, { values: Float32Array; shape: number[] }>();
  let ran = false;
  const take = (name: string): tf.Tensor => {
    const kept = held.get(name);
    if (kept != null) {
      held.delete(name);
      return tf.tensor(kept.values, kept.shape, 'float32');
    }
    const inputGradient = name === names[0];
    const outputs = run(inputGradient);
    const produced = inputGradient ? names : names.slice(1);
    let result: tf.Tensor | null = null;
    produced.forEach((output, i) => {
      if (output === name) result = outputs[i]!;
      else if (!ran) held.set(output, { values: outputs[i]!.dataSync() as Float32Array, shape: outputs[i]!.shape });
    });
    ran = true;
    if (result == null) throw new Error(`no gradient named ${name}`);
    return result;
  };
  return Object.fromEntries(names.map((name) => [name, () => take(name)]));
}

/**
 * The engine's own entry for an op with a gradient per input (tf.customGrad
 * calls it, and computes every input's gradient eagerly through it): here
 * each input's gradient is a function, run only if the input needs one,
 * as for registered kernels (a network's first layer needs no dx). A
 * registered kernel cannot serve: its gradient would be handed zeros for
 * the outputs nothing differentiates (BatchNorm's z, a pool's input).
 */
export interface LazyGradientOp {
  inputs: tf.NamedTensorMap;
  forwardFunc: (backend: unknown, save: tf.GradSaveFunc) => tf.Tensor;
  backwardsFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => Record<string, () => tf.Tensor>;
}

export function runLazyGradientOp(op: LazyGradientOp): tf.Tensor {
  return (tf.engine() as unknown as { runKernelFunc(op: LazyGradientOp): tf.Tensor }).runKernelFunc(op);
}

/**
 * tfjs's conv2d gradient from dy: dx by Conv2DBackpropInput, the filter's
 * by Conv2DBackpropFilter, each only if asked for.
 */
export function composedGradients(x: tf.Tensor4D, filter: tf.Tensor4D, dy: tf.Tensor4D, attrs: Conv2DBiasReluAttrs): Record<string, () => tf.Tensor> {
  const { strides, pad } = attrs;
  return {
    x: () => tf.conv2dTranspose(dy, filter, x.shape, strides, pad),
    filter: () =>
      tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, {
        strides,
        pad,
        dataFormat: 'NHWC',
        dimRoundingMode: undefined,
        filterShape: filter.shape,
      } as unknown as tf.NamedAttrMap) as tf.Tensor,
  };
}

/** Runs a gradient kernel of this module: its outputs, dx first where asked for. */
function runGradientKernel(kernel: string, inputs: tf.NamedTensorMap, attrs: Conv2DBiasReluAttrs, inputGradient: boolean): tf.Tensor[] {
  const gradientAttrs: ConvGradientAttrs = { strides: attrs.strides, pad: attrs.pad, inputGradient };
  return tf.engine().runKernel(kernel, inputs, gradientAttrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
}

/**
 * The gradients of relu(conv2d(x, filter) + bias) from its inputs x and
 * filter and its output y. ReLU's gradient comes from y: y > 0 exactly
 * where its input was. Each input's gradient is computed only if asked for
 * (a network's first layer needs no dx).
 */
function gradients(dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap): Record<string, () => tf.Tensor> {
  const [x, filter, y] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
  const convAttrs = attrs as unknown as Conv2DBiasReluAttrs;
  if (oneCallReady(CONV2D_BIAS_RELU_GRAD, convAttrs.strides)) {
    const inputs = { x, filter, y, dy: dy as tf.Tensor };
    return oneCallGradients((inputGradient) => runGradientKernel(CONV2D_BIAS_RELU_GRAD, inputs, convAttrs, inputGradient), ['x', 'filter', 'bias']);
  }
  const gated = tf.mul(dy as tf.Tensor, tf.step(y)) as tf.Tensor4D;
  return { ...composedGradients(x, filter, gated, convAttrs), bias: () => tf.sum(gated, [0, 1, 2]) };
}

/** The gradients of `conv2d` below: one kernel call where the backend has it, else tfjs's. */
function plainGradients(dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap): Record<string, () => tf.Tensor> {
  const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
  const convAttrs = attrs as unknown as Conv2DBiasReluAttrs;
  if (oneCallReady(CONV2D_GRAD, convAttrs.strides)) {
    const inputs = { x, filter, dy: dy as tf.Tensor };
    return oneCallGradients((inputGradient) => runGradientKernel(CONV2D_GRAD, inputs, convAttrs, inputGradient), ['x', 'filter']);
  }
  return composedGradients(x, filter, dy as tf.Tensor4D, convAttrs);
}

// Registered once per tfjs instance; a second copy of this module (a bundler's or a test runner's) finds it there.
if (tf.getGradient(CONV2D_BIAS_RELU) == null) {
  tf.registerGradient({ kernelName: CONV2D_BIAS_RELU, inputsToSave: ['x', 'filter'], outputsToSave: [true], gradFunc: gradients });
}
if (tf.getGradient(CONV2D) == null) {
  tf.registerGradient({ kernelName: CONV2D, inputsToSave: ['x', 'filter'], gradFunc: plainGradients });
}

/**
 * conv2d(x, filter, strides, pad), NHWC: as tfjs's conv2d, whose kernel
 * the backend's serves (the same bits), with its gradient in one call
 * where the active backend has both kernels (stride 1), else tf.conv2d.
 */
export function conv2d(x: tf.Tensor4D, filter: tf.Tensor4D, strides: number | [number, number], pad: 'same' | 'valid'): tf.Tensor4D {
  const backend = tf.getBackend();
  if (!unitStrides(strides) || !kernelReady(CONV2D, backend) || !kernelReady(CONV2D_GRAD, backend)) return tf.conv2d(x, filter, strides, pad);
  const attrs: Conv2DAttrs = { strides, pad, dataFormat: 'NHWC', dilations: 1 };
  return tf.engine().runKernel(CONV2D, { x, filter }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
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

/**
 * tf.maxPool(conv2dBiasRelu(x, filter, bias, strides, pad), 2, 2, 'valid'):
 * forward, the same two kernels; where the active backend has the kernel
 * (stride 1), the gradient of both is one call from the pool's dy
 * (CONV2D_BIAS_RELU_MAX_POOL_GRAD): the pool's gradient, which tfjs would
 * run as MaxPoolGrad with its input and dx copied between our module and
 * tfjs's heap, stays in our memory. Elsewhere, exactly the two ops.
 */
export function conv2dBiasReluMaxPool(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  bias: tf.Tensor1D,
  strides: number | [number, number],
  pad: 'same' | 'valid',
): tf.Tensor4D {
  const pool = (y: tf.Tensor4D): tf.Tensor4D => tf.maxPool(y, 2, 2, 'valid');
  if (!kernelReady(CONV2D_BIAS_RELU, tf.getBackend()) || !oneCallReady(CONV2D_BIAS_RELU_MAX_POOL_GRAD, strides)) {
    return pool(conv2dBiasRelu(x, filter, bias, strides, pad));
  }
  const attrs: Conv2DBiasReluAttrs = { strides, pad };
  return runLazyGradientOp({
    inputs: { x, filter, bias },
    forwardFunc: (_backend, save) => {
      const y = tf.engine().runKernel(CONV2D_BIAS_RELU, { x, filter, bias }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
      save([x, filter, y]);
      return pool(y);
    },
    backwardsFunc: (dy, saved) => {
      const [x, filter, y] = saved;
      const inputs = { x: x!, filter: filter!, y: y!, dy };
      return oneCallGradients((inputGradient) => runGradientKernel(CONV2D_BIAS_RELU_MAX_POOL_GRAD, inputs, attrs, inputGradient), ['x', 'filter', 'bias']);
    },
  }) as tf.Tensor4D;
}
