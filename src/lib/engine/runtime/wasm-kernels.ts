/**
 * Training kernels for the tfjs 4.22 wasm backend.
 *
 * Out of the box that backend cannot train a conv net: it has no
 * `Conv2DBackpropFilter` kernel at all, and its `Conv2DBackpropInput`,
 * `MaxPoolGrad`, transposed `BatchMatMul` and `Sum` over leading axes run as
 * scalar loops that are several times slower than the XNNPACK forward
 * convolution and plain matmul it also ships.
 *
 * Two kinds of kernel are registered here:
 * - compositions of kernels the wasm backend already has (Conv2D, Transpose,
 *   PadV2, Reshape, Slice, Reverse and the non-transposed BatchMatMul),
 *   called directly through their kernel functions so that no tensors are
 *   created and the engine never sees the intermediates. Every intermediate
 *   is freed with `backend.disposeData` before returning;
 * - our own SIMD kernels (simd/kernels.c) for the filter gradient, the
 *   max-pool gradient and leading-axis sums, once `loadSimdKernels` has
 *   compiled them. Where wasm SIMD is missing they stay unloaded, and the
 *   filter gradient falls back to a composition while the other two keep
 *   tfjs's own kernels.
 *
 * Some kernels are new, not replacements, and offered only while our SIMD
 * module is loaded: BatchNorm + ReLU in training and its gradient
 * (BATCH_NORM_RELU, used by fused-batch-norm.ts), a conv layer's
 * convolution + bias + ReLU (CONV2D_BIAS_RELU, used by fused-conv.ts) and
 * its gradient in one call (CONV2D_BIAS_RELU_GRAD, and with the 2x2 max
 * pool after it, CONV2D_BIAS_RELU_MAX_POOL_GRAD), a plain convolution
 * with its gradient in one call (CONV2D and CONV2D_GRAD, fused-conv.ts's
 * `conv2d`), a conv layer's convolution then BatchNorm + ReLU and its
 * gradient in one call (CONV2D_BATCH_NORM_RELU and its _GRAD, and
 * _MAX_POOL_GRAD with the 2x2 max pool after the layer, used by
 * fused-conv-batch-norm.ts), and Adam's update of one variable (ADAM_UPDATE,
 * used by fused-optimizers.ts).
 */
import * as tf from '@tensorflow/tfjs';
// Imported for its side effect: the stock wasm kernels must be registered
// before we can look up and wrap the ones we replace.
import '@tensorflow/tfjs-backend-wasm';
import { getThreadsCount, type BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BATCH_NORM_RELU, BATCH_NORM_RELU_GRAD, KERNEL_READY, type BatchNormReluAttrs } from './fused-batch-norm';
import {
  CONV2D,
  CONV2D_BIAS_RELU,
  CONV2D_BIAS_RELU_GRAD,
  CONV2D_BIAS_RELU_MAX_POOL_GRAD,
  CONV2D_GRAD,
  type Conv2DBiasReluAttrs,
  type ConvGradientAttrs,
} from './fused-conv';
import {
  CONV2D_BATCH_NORM_RELU,
  CONV2D_BATCH_NORM_RELU_GRAD,
  CONV2D_BATCH_NORM_RELU_MAX_POOL_GRAD,
  type Conv2DBatchNormReluAttrs,
  type Conv2DBatchNormReluGradAttrs,
} from './fused-conv-batch-norm';
import { ADAM_UPDATE, type AdamUpdateAttrs } from './fused-optimizers';
import { oneCallGradientsCover, simdKernels, type ConvGradients } from './simd/simd-kernels';

type TensorInfo = tf.TensorInfo;

interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: BackendWasm;
  attrs?: tf.NamedAttrMap;
}

/**
 * Marks our configs in the global kernel registry. `Symbol.for` is shared by
 * every copy of this module (a bundler or test runner may load two), so a
 * second copy sees the kernels as already replaced instead of wrapping its
 * own replacement.
 */
const REPLACEMENT_MARK = Symbol.for('lottery-lab.wasm-training-kernel');

type MarkedKernelConfig = tf.KernelConfig & { [REPLACEMENT_MARK]?: true; [KERNEL_READY]?: () => boolean };

const WASM = 'wasm';

/** The stock kernels we delegate to, captured when we replace them. */
let originalBatchMatMul: tf.KernelConfig | null = null;
let originalConv2DBackpropInput: tf.KernelConfig | null = null;
let originalConv2D: tf.KernelConfig | null = null;
let originalMaxPoolGrad: tf.KernelConfig | null = null;
let originalSum: tf.KernelConfig | null = null;
let originalIdentity: tf.KernelConfig | null = null;

function onlyOutput(result: TensorInfo | TensorInfo[]): TensorInfo {
  if (Array.isArray(result)) {
    if (result.length !== 1) throw new Error(`expected one output, got ${result.length}`);
    return result[0];
  }
  return result;
}

/** Runs a wasm kernel function directly, outside the engine. */
function runKernel(
  config: tf.KernelConfig,
  backend: BackendWasm,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap = {},
): TensorInfo {
  return onlyOutput(config.kernelFunc({ inputs, backend, attrs }));
}

function requireInput(inputs: tf.NamedTensorInfoMap, name: string): TensorInfo {
  const info = inputs[name];
  if (info == null) throw new Error(`missing kernel input '${name}'`);
  return info;
}

function wasmKernel(name: string): tf.KernelConfig {
  const config = tf.getKernel(name, WASM);
  if (config == null) throw new Error(`the wasm backend has no '${name}' kernel`);
  return config;
}

/**
 * Collects the intermediate tensors of one kernel call so they are all freed,
 * also when a step throws halfway.
 */
class Scratch {
  private readonly held: TensorInfo[] = [];

  constructor(private readonly backend: BackendWasm) {}

  keep(info: TensorInfo): TensorInfo {
    this.held.push(info);
    return info;
  }

  run(name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): TensorInfo {
    return this.keep(runKernel(wasmKernel(name), this.backend, inputs, attrs));
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run(tf.Transpose, { x }, { perm });
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run(tf.Reshape, { x }, { shape });
  }

  freeAll(): void {
    for (const info of this.held) this.backend.disposeData(info.dataId);
    this.held.length = 0;
  }
}

/** Runs `body` with a scratch area and frees whatever it kept. */
function withScratch(backend: BackendWasm, body: (scratch: Scratch) => TensorInfo): TensorInfo {
  const scratch = new Scratch(backend);
  try {
    return body(scratch);
  } finally {
    scratch.freeAll();
  }
}

interface SignedPads {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/**
 * Forward NHWC Conv2D whose paddings may be negative: a negative pad means
 * the rows or columns on that side are never reached by the output, so they
 * are cropped away with Slice and the rest is zero-padded explicitly.
 * Returns a fresh tensor owned by the caller.
 */
function conv2dWithSignedPads(
  scratch: Scratch,
  backend: BackendWasm,
  x: TensorInfo,
  filter: TensorInfo,
  pads: SignedPads,
  dilations: [number, number],
): TensorInfo {
  const cropTop = Math.max(0, -pads.top);
  const cropBottom = Math.max(0, -pads.bottom);
  const cropLeft = Math.max(0, -pads.left);
  const cropRight = Math.max(0, -pads.right);
  let input = x;
  if (cropTop + cropBottom + cropLeft + cropRight > 0) {
    const [n, h, w, c] = x.shape;
    input = scratch.run(
      tf.Slice,
      { x },
      { begin: [0, cropTop, cropLeft, 0], size: [n, h - cropTop - cropBottom, w - cropLeft - cropRight, c] },
    );
  }
  const explicitPad: tf.NamedAttrMap['pad'] = [
    [0, 0],
    [Math.max(0, pads.top), Math.max(0, pads.bottom)],
    [Math.max(0, pads.left), Math.max(0, pads.right)],
    [0, 0],
  ];
  return runKernel(
    wasmKernel(tf.Conv2D),
    backend,
    { x: input, filter },
    { strides: [1, 1], dilations, pad: explicitPad, dataFormat: 'NHWC', dimRoundingMode: undefined } as unknown as tf.NamedAttrMap,
  );
}

function assertShape(actual: number[], expected: number[], what: string): void {
  if (actual.length !== expected.length || actual.some((d, i) => d !== expected[i])) {
    throw new Error(`${what}: produced shape [${actual}] but expected [${expected}]`);
  }
}

function hasUnitDilations(attrs: tf.NamedAttrMap): boolean {
  const dilations = (attrs as { dilations?: number | number[] }).dilations ?? 1;
  return (typeof dilations === 'number' ? [dilations] : dilations).every((d) => d === 1);
}

function assertUnitDilations(attrs: tf.NamedAttrMap, kernel: string): void {
  if (!hasUnitDilations(attrs)) {
    const dilations = (attrs as { dilations?: unknown }).dilations;
    throw new Error(`${kernel} on wasm supports dilations of 1 only, got ${String(dilations)}`);
  }
}

type Shape4D = [number, number, number, number];

/** The geometry of an NHWC convolution with unit dilations, from a conv kernel's attributes. */
function nhwcConvInfo(
  xShape: Shape4D,
  filterShape: Shape4D,
  attrs: { strides: number | [number, number]; pad: tf.Conv2DAttrs['pad']; dimRoundingMode?: 'floor' | 'round' | 'ceil' },
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(xShape, filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
}

/**
 * dW[kh,kw,ci,co] = Σ_{n,oh,ow} x[n, oh·s−padTop+kh, ow·s−padLeft+kw, ci] · dy[n,oh,ow,co].
 *
 * Our SIMD kernel computes it directly. Without it: read with the batch axis
 * as the reduction axis this is itself a forward convolution: x as a batch
 * of Ci single images [Ci,H,W,N] with N channels, dy as an OH×OW filter
 * [OH,OW,N,Co] applied with dilation = stride, giving [Ci,KH,KW,Co]. One
 * XNNPACK convolution then stands in for the missing kernel, at about half
 * the speed of the SIMD one (XNNPACK repacks the 4M-element dy "filter" on
 * every call).
 */
function conv2dBackpropFilter(args: KernelArgs): TensorInfo {
  const { inputs, backend } = args;
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const x = requireInput(inputs, 'x');
  const dy = requireInput(inputs, 'dy');
  if (attrs.dataFormat !== 'NHWC') {
    throw new Error(`Conv2DBackpropFilter on wasm supports NHWC only, got ${attrs.dataFormat}`);
  }
  assertUnitDilations(args.attrs ?? {}, tf.Conv2DBackpropFilter);
  const info = nhwcConvInfo(x.shape as Shape4D, attrs.filterShape, attrs);
  const { inHeight, inWidth, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth } = info;
  assertShape(dy.shape, [info.batchSize, outHeight, outWidth, info.outChannels], 'Conv2DBackpropFilter dy');
  const simd = simdKernels();
  if (simd != null) return simd.conv2dBackpropFilter(backend, x, dy, info);

  return withScratch(backend, (scratch) => {
    // The padded input must be exactly as tall as the dilated dy "filter"
    // plus KH−1 rows, so the conv yields KH rows; bottom/right follow from
    // that and are negative when trailing input rows are never read.
    const pads: SignedPads = {
      top: info.padInfo.top,
      left: info.padInfo.left,
      bottom: (outHeight - 1) * strideHeight + filterHeight - info.padInfo.top - inHeight,
      right: (outWidth - 1) * strideWidth + filterWidth - info.padInfo.left - inWidth,
    };
    const imagesPerChannel = scratch.transpose(x, [3, 1, 2, 0]); // [Ci,H,W,N]
    const dyAsFilter = scratch.transpose(dy, [1, 2, 0, 3]); // [OH,OW,N,Co]
    const perChannel = scratch.keep(
      conv2dWithSignedPads(scratch, backend, imagesPerChannel, dyAsFilter, pads, [strideHeight, strideWidth]),
    ); // [Ci,KH,KW,Co]
    const dW = runKernel(wasmKernel(tf.Transpose), backend, { x: perChannel }, { perm: [1, 2, 0, 3] });
    assertShape(dW.shape, attrs.filterShape, 'Conv2DBackpropFilter');
    return dW;
  });
}

/**
 * dx is the forward convolution of dy — with zeros inserted between its rows
 * and columns when the stride is above 1 — by the filter rotated 180° with
 * its in/out channels swapped, padded KH−1−padTop on top (and so on).
 */
function conv2dBackpropInput(args: KernelArgs): TensorInfo {
  const { inputs, backend } = args;
  const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  if (attrs.dataFormat !== 'NHWC') {
    // Never reached in training (wasm Conv2D itself is NHWC only), so the
    // stock scalar kernel is good enough here.
    if (originalConv2DBackpropInput == null) throw new Error('original Conv2DBackpropInput is missing');
    return runKernel(originalConv2DBackpropInput, backend, inputs, args.attrs);
  }
  assertUnitDilations(args.attrs ?? {}, tf.Conv2DBackpropInput);
  const dy = requireInput(inputs, 'dy');
  const filter = requireInput(inputs, 'filter');
  const info = nhwcConvInfo(attrs.inputShape, filter.shape as Shape4D, attrs);
  const { batchSize, inHeight, inWidth, outHeight, outWidth, outChannels, filterHeight, filterWidth } = info;
  const { strideHeight, strideWidth } = info;
  assertShape(dy.shape, [batchSize, outHeight, outWidth, outChannels], 'Conv2DBackpropInput dy');

  return withScratch(backend, (scratch) => {
    let spread: TensorInfo = dy;
    if (strideHeight > 1 || strideWidth > 1) {
      // Zero insertion: give each dy pixel a (s−1)-wide block of zeros below
      // and to the right, then fold the blocks back into the spatial axes.
      const blocks = scratch.reshape(dy, [batchSize, outHeight, 1, outWidth, 1, outChannels]);
      const padded = scratch.run(
        tf.PadV2,
        { x: blocks },
        {
          paddings: [[0, 0], [0, 0], [0, strideHeight - 1], [0, 0], [0, strideWidth - 1], [0, 0]],
          constantValue: 0,
        },
      );
      spread = scratch.reshape(padded, [batchSize, outHeight * strideHeight, outWidth * strideWidth, outChannels]);
    }
    const rotated = scratch.run(tf.Reverse, { x: filter }, { dims: [0, 1] });
    const swapped = scratch.transpose(rotated, [0, 1, 3, 2]); // [KH,KW,Co,Ci]
    const spreadHeight = spread.shape[1];
    const spreadWidth = spread.shape[2];
    const top = filterHeight - 1 - info.padInfo.top;
    const left = filterWidth - 1 - info.padInfo.left;
    // Output height = spreadHeight + top + bottom − KH + 1 must equal H.
    const pads: SignedPads = {
      top,
      left,
      bottom: inHeight - spreadHeight + filterHeight - 1 - top,
      right: inWidth - spreadWidth + filterWidth - 1 - left,
    };
    const dx = conv2dWithSignedPads(scratch, backend, spread, swapped, pads, [1, 1]);
    assertShape(dx.shape, attrs.inputShape, 'Conv2DBackpropInput');
    return dx;
  });
}

/** XNNPACK's thread count; 1 when the backend does not say. */
function xnnpackThreads(): number {
  try {
    return getThreadsCount();
  } catch {
    return 1;
  }
}

/**
 * The forward convolution, on our SIMD kernel when it is loaded and runs on
 * as many threads as XNNPACK. On Conv-2 ours was about 10% faster than
 * XNNPACK's on one thread each (no repack of a filter that is new every
 * step), but XNNPACK on more threads than ours beats it: so where our
 * helper threads cannot start (a page's main thread) XNNPACK keeps it.
 * Also serves the input gradient, which is a convolution too.
 */
function conv2d(args: KernelArgs): TensorInfo {
  const { inputs, backend } = args;
  const attrs = args.attrs as unknown as tf.Conv2DAttrs;
  const x = requireInput(inputs, 'x');
  const filter = requireInput(inputs, 'filter');
  const simd = simdKernels();
  const lessParallel = !ourConvolutionPreferred();
  const unitDilations = hasUnitDilations(args.attrs ?? {});
  if (simd == null || lessParallel || attrs.dataFormat !== 'NHWC' || !unitDilations || x.dtype !== 'float32') {
    if (originalConv2D == null) throw new Error('original Conv2D is missing');
    return runKernel(originalConv2D, backend, inputs, args.attrs);
  }
  const info = nhwcConvInfo(x.shape as Shape4D, filter.shape as Shape4D, attrs);
  return simd.conv2d(backend, x, filter, info);
}

/** Whether our SIMD convolution is loaded and runs on as many threads as XNNPACK (see `conv2d`). */
function ourConvolutionPreferred(): boolean {
  const simd = simdKernels();
  return simd != null && simd.threadCount >= xnnpackThreads();
}

/**
 * relu(conv2d(x, filter) + bias) on our SIMD kernel, offered where our
 * convolution is preferred (fused-conv.ts asks first). float32 NHWC only.
 */
function conv2dBiasRelu(args: KernelArgs): TensorInfo {
  const { inputs, backend } = args;
  const attrs = args.attrs as unknown as Conv2DBiasReluAttrs;
  const [x, filter, bias] = ['x', 'filter', 'bias'].map((name) => requireInput(inputs, name)) as [TensorInfo, TensorInfo, TensorInfo];
  if ([x, filter, bias].some((info) => info.dtype !== 'float32')) throw new Error(`${CONV2D_BIAS_RELU} takes float32 tensors only`);
  const info = nhwcConvInfo(x.shape as Shape4D, filter.shape as Shape4D, attrs);
  assertShape(bias.shape, [info.outChannels], `${CONV2D_BIAS_RELU} bias`);
  return requireSimd(CONV2D_BIAS_RELU).conv2d(backend, x, filter, info, bias);
}

/**
 * relu(batchNorm(conv2d(x, filter))) with the batch's statistics on our
 * SIMD kernels, offered where our convolution is preferred (as
 * conv2dBiasRelu, so it runs the convolution the composed path would):
 * outputs z, y, mean, variance. float32 NHWC only.
 */
function conv2dBatchNormRelu(args: KernelArgs): TensorInfo[] {
  const { inputs, backend } = args;
  const attrs = args.attrs as unknown as Conv2DBatchNormReluAttrs;
  const [x, filter, gamma, beta] = ['x', 'filter', 'gamma', 'beta'].map((name) => requireInput(inputs, name)) as [
    TensorInfo, TensorInfo, TensorInfo, TensorInfo,
  ];
  if ([x, filter, gamma, beta].some((info) => info.dtype !== 'float32')) {
    throw new Error(`${CONV2D_BATCH_NORM_RELU} takes float32 tensors only`);
  }
  const info = nhwcConvInfo(x.shape as Shape4D, filter.shape as Shape4D, attrs);
  assertShape(gamma.shape, [info.outChannels], `${CONV2D_BATCH_NORM_RELU} gamma`);
  assertShape(beta.shape, [info.outChannels], `${CONV2D_BATCH_NORM_RELU} beta`);
  return requireSimd(CONV2D_BATCH_NORM_RELU).conv2dBatchNormRelu(backend, x, filter, gamma, beta, info, attrs.epsilon);
}

/**
 * The inputs `names` of one of our one-call gradient kernels, each checked
 * float32, and the stride-1 convolution they differentiate: its geometry
 * and its output's shape.
 */
function oneCallGradientInputs(
  args: KernelArgs,
  kernel: string,
  names: readonly string[],
): { tensors: Map<string, TensorInfo>; info: tf.backend_util.Conv2DInfo; outShape: Shape4D } {
  const tensors = new Map(names.map((name) => [name, requireInput(args.inputs, name)]));
  if ([...tensors.values()].some((info) => info.dtype !== 'float32')) throw new Error(`${kernel} takes float32 tensors only`);
  const [x, filter] = [tensors.get('x')!, tensors.get('filter')!];
  const info = nhwcConvInfo(x.shape as Shape4D, filter.shape as Shape4D, args.attrs as unknown as ConvGradientAttrs);
  if (!oneCallGradientsCover(info)) throw new Error(`${kernel} takes stride-1 convolutions only`);
  return { tensors, info, outShape: [info.batchSize, info.outHeight, info.outWidth, info.outChannels] };
}

/** The 2x2 'valid' max pool of a layer output of `outShape`, with `dy` checked as its gradient. */
function twoByTwoPoolOf(kernel: string, outShape: Shape4D, dy: TensorInfo): tf.backend_util.Conv2DInfo {
  const poolInfo = tf.backend_util.computePool2DInfo(outShape, 2, 2, 1, 'valid');
  assertShape(dy.shape, [poolInfo.batchSize, poolInfo.outHeight, poolInfo.outWidth, poolInfo.outChannels], `${kernel} dy`);
  return poolInfo;
}

/**
 * The gradients of conv2dBatchNormRelu in one call on our SIMD kernels
 * (stride 1): outputs dx (where attrs.inputGradient), dfilter, dgamma,
 * dbeta. Offered where our convolution is preferred, as the forward kernel
 * (the composed gradient's dx is a Conv2D, ours there). With `pooled`
 * (CONV2D_BATCH_NORM_RELU_MAX_POOL_GRAD), dy is the gradient of a 2x2 max
 * pool ('valid') of the layer's output, the further input y.
 */
function conv2dBatchNormReluGrad(args: KernelArgs, pooled: boolean): TensorInfo[] {
  const kernel = pooled ? CONV2D_BATCH_NORM_RELU_MAX_POOL_GRAD : CONV2D_BATCH_NORM_RELU_GRAD;
  const names = ['x', 'filter', 'z', 'dy', 'mean', 'variance', 'gamma', 'beta', ...(pooled ? ['y'] : [])];
  const { tensors, info, outShape } = oneCallGradientInputs(args, kernel, names);
  const [x, filter, z, dy, mean, variance, gamma, beta] = names.map((name) => tensors.get(name)!);
  assertShape(z!.shape, outShape, `${kernel} z`);
  const { epsilon, inputGradient } = args.attrs as unknown as Conv2DBatchNormReluGradAttrs;
  const request = { x: x!, filter: filter!, z: z!, dy: dy!, mean: mean!, variance: variance!, gamma: gamma!, beta: beta!, epsilon, info, inputGradient };
  const simd = requireSimd(kernel);
  if (!pooled) {
    assertShape(dy!.shape, outShape, `${kernel} dy`);
    return simd.conv2dBatchNormReluBackprop(args.backend, request);
  }
  const y = tensors.get('y')!;
  assertShape(y.shape, outShape, `${kernel} y`);
  return simd.conv2dBatchNormReluPooledBackprop(args.backend, { ...request, y, poolInfo: twoByTwoPoolOf(kernel, outShape, dy!) });
}

/**
 * A convolution's gradients in one call of our SIMD module (stride 1):
 * [dx (where attrs.inputGradient), dfilter], and with `relu` (the input y,
 * relu(conv + bias)) dy gated by it and dbias after them. With `pooled`
 * (CONV2D_BIAS_RELU_MAX_POOL_GRAD, relu too), dy is the gradient of a 2x2
 * max pool ('valid') of y. Offered where our convolution is preferred, as
 * the forward kernels they differentiate.
 */
function convGradients(args: KernelArgs, kernel: string, relu: boolean, pooled = false): TensorInfo[] {
  const { tensors, info, outShape } = oneCallGradientInputs(args, kernel, relu ? ['x', 'filter', 'dy', 'y'] : ['x', 'filter', 'dy']);
  const [x, filter, dy, y] = [tensors.get('x')!, tensors.get('filter')!, tensors.get('dy')!, tensors.get('y')];
  if (y != null) assertShape(y.shape, outShape, `${kernel} y`);
  const { inputGradient } = args.attrs as unknown as ConvGradientAttrs;
  const simd = requireSimd(kernel);
  let gradients: ConvGradients;
  if (pooled) {
    const poolInfo = twoByTwoPoolOf(kernel, outShape, dy);
    gradients = simd.conv2dPooledGradients(args.backend, { x, filter, info, reluOutput: y!, pooledDy: dy, poolInfo, inputGradient });
  } else {
    assertShape(dy.shape, outShape, `${kernel} dy`);
    gradients = simd.conv2dGradients(args.backend, { x, filter, dy, info, reluOutput: y, inputGradient });
  }
  const { dx, dw, db } = gradients;
  return [dx, dw, db].filter((output): output is TensorInfo => output != null);
}

/** The max-pool gradient, on our SIMD kernel when it is loaded. */
function maxPoolGrad(args: KernelArgs): TensorInfo {
  const { inputs, backend } = args;
  const attrs = args.attrs as unknown as tf.MaxPoolGradAttrs;
  const simd = simdKernels();
  const x = requireInput(inputs, 'input');
  if (simd == null || x.dtype !== 'float32') {
    if (originalMaxPoolGrad == null) throw new Error('original MaxPoolGrad is missing');
    return runKernel(originalMaxPoolGrad, backend, inputs, args.attrs);
  }
  const info = tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  return simd.maxPoolBackprop(backend, x, requireInput(inputs, 'dy'), info);
}

/**
 * Sum over leading axes (as in a bias gradient, dy summed over [0,1,2]) on
 * our SIMD kernel; tfjs's own kernel would first transpose the reduced axes
 * to the end. Every other sum goes to tfjs's kernel.
 */
function sum(args: KernelArgs): TensorInfo {
  const { inputs, backend } = args;
  const attrs = args.attrs as unknown as tf.SumAttrs;
  const x = requireInput(inputs, 'x');
  const axes = tf.util.parseAxisParam(attrs.axis, x.shape).sort((a, b) => a - b);
  const leading = axes.length > 0 && axes.length < x.shape.length && axes.every((axis, i) => axis === i);
  const simd = simdKernels();
  if (simd == null || !leading || x.dtype !== 'float32') {
    if (originalSum == null) throw new Error('original Sum is missing');
    return runKernel(originalSum, backend, inputs, args.attrs);
  }
  const rows = elementCount(x.shape.slice(0, axes.length));
  const kept = x.shape.slice(axes.length);
  const shape = attrs.keepDims ? [...axes.map(() => 1), ...kept] : kept;
  return simd.sumRows(backend, x, rows, elementCount(kept), shape);
}

/**
 * A tensor's identity, sharing its data. tfjs runs Identity for every clone,
 * and the engine clones each tensor a gradient needs (saved at every kernel
 * of a training step's forward pass); the stock wasm kernel copies the
 * data each time, which cost 4% of a Conv-4-BN ×0.25 step. Backends hold
 * tensor data immutable (a variable's assign takes new data), so sharing
 * it, counted like Reshape's, is what the cpu and WebGL backends do.
 */
function identity(args: KernelArgs): TensorInfo {
  const { inputs, backend } = args;
  const x = requireInput(inputs, 'x');
  if (x.dtype === 'string') {
    if (originalIdentity == null) throw new Error('original Identity is missing');
    return runKernel(originalIdentity, backend, inputs, args.attrs);
  }
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function requireSimd(kernel: string): NonNullable<ReturnType<typeof simdKernels>> {
  const simd = simdKernels();
  if (simd == null) throw new Error(`${kernel} needs our SIMD kernels, which are not loaded`);
  return simd;
}

function batchNormRelu(args: KernelArgs): TensorInfo[] {
  const { inputs, backend } = args;
  const { epsilon } = args.attrs as unknown as BatchNormReluAttrs;
  const x = requireInput(inputs, 'x');
  return requireSimd(BATCH_NORM_RELU).batchNormRelu(backend, x, requireInput(inputs, 'gamma'), requireInput(inputs, 'beta'), epsilon);
}

function batchNormReluGrad(args: KernelArgs): TensorInfo[] {
  const { inputs, backend } = args;
  const { epsilon } = args.attrs as unknown as BatchNormReluAttrs;
  const [x, dy, mean, variance, gamma, beta] = ['x', 'dy', 'mean', 'variance', 'gamma', 'beta'].map((name) => requireInput(inputs, name));
  return requireSimd(BATCH_NORM_RELU_GRAD).batchNormReluBackprop(backend, x!, dy!, mean!, variance!, gamma!, beta!, epsilon);
}

/** The value of a one-element float32 tensor. */
function scalarValue(backend: BackendWasm, info: TensorInfo): number {
  if (info.dtype !== 'float32' || elementCount(info.shape) !== 1) throw new Error(`expected a float32 scalar, got ${info.dtype} [${info.shape}]`);
  return (backend.typedArrayFromHeap(info) as Float32Array)[0]!;
}

/**
 * The scalars as tfjs's AdamOptimizer makes them: JS numbers (1 − β
 * computed in double) that become float32 tensors, and the bias
 * corrections 1 − βᵗ already float32 tensors.
 */
function adamUpdate(args: KernelArgs): TensorInfo[] {
  const { inputs, backend } = args;
  const { beta1, beta2, epsilon, learningRate } = args.attrs as unknown as AdamUpdateAttrs;
  const [value, gradient, firstMoment, secondMoment, bias1, bias2] = [
    'value', 'gradient', 'firstMoment', 'secondMoment', 'oneMinusAccBeta1', 'oneMinusAccBeta2',
  ].map((name) => requireInput(inputs, name));
  return requireSimd(ADAM_UPDATE).adamUpdate(backend, value!, gradient!, firstMoment!, secondMoment!, {
    beta1: Math.fround(beta1),
    oneMinusBeta1: Math.fround(1 - beta1),
    beta2: Math.fround(beta2),
    oneMinusBeta2: Math.fround(1 - beta2),
    bias1: scalarValue(backend, bias1!),
    bias2: scalarValue(backend, bias2!),
    epsilon: Math.fround(epsilon),
    negativeRate: Math.fround(-learningRate),
  });
}

/** Swaps the last two axes. */
function lastTwoAxesSwapped(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
}

const elementCount = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * The product of two untransposed operands. Unbatched float32 products go
 * to our SIMD kernel: XNNPACK's fully connected operator, which the stock
 * kernel uses, repacks its right operand (the "weights") whenever it is a
 * new tensor, and with strided reads: for a dense layer's 16384×256 kernel,
 * new every step, the repack alone takes several times the product. Batched
 * ones stay on the stock kernel.
 */
function plainProduct(backend: BackendWasm, a: TensorInfo, b: TensorInfo, attrs: tf.NamedAttrMap): TensorInfo {
  const simd = simdKernels();
  if (simd == null || !simdProduct(a, b)) return runKernel(originalBatchMatMul!, backend, { a, b }, attrs);
  const [m, k] = a.shape.slice(-2) as [number, number];
  const n = b.shape[b.shape.length - 1]!;
  return simd.matMul(backend, a, b, m, k, n, [...batchShape(a, b), m, n]);
}

function batchShape(a: TensorInfo, b: TensorInfo): number[] {
  return tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
}

function simdProduct(a: TensorInfo, b: TensorInfo): boolean {
  const unbatched = (info: TensorInfo): boolean => elementCount(info.shape.slice(0, -2)) === 1;
  return simdKernels() != null && a.dtype === 'float32' && b.dtype === 'float32' && unbatched(a) && unbatched(b);
}

/**
 * The stock kernel handles transposeA/B with a blocked scalar loop, so we
 * first make the product untransposed, and pick whichever of
 *
 *   op(A)·op(B)   or   (op(B)ᵀ·op(A)ᵀ)ᵀ
 *
 * moves fewer elements: those transposed, plus those XNNPACK packs as
 * weights where the product goes to it (batched ones) rather than to our
 * SIMD kernel. For backprop through a wide dense layer (dy·Wᵀ with W of
 * 16384×256 and dy of 64×256) the swapped form transposes the small dy and
 * the output instead of the big W. Our SIMD product transposes in its own
 * memory, in tiles; the others take tfjs's Transposes, whose strided side
 * is untiled (1.9 ms for a Conv-4 ×0.25 dense kernel of 2048×64, most of
 * that layer's gradient).
 */
function batchMatMul(args: KernelArgs): TensorInfo {
  const { inputs, backend } = args;
  const attrs = (args.attrs ?? {}) as unknown as tf.BatchMatMulAttrs;
  if (originalBatchMatMul == null) throw new Error('original BatchMatMul is missing');
  const a = requireInput(inputs, 'a');
  const b = requireInput(inputs, 'b');
  const noTranspose = { ...args.attrs, transposeA: false, transposeB: false };
  if (!attrs.transposeA && !attrs.transposeB) return plainProduct(backend, a, b, noTranspose);
  const sizeA = elementCount(a.shape);
  const sizeB = elementCount(b.shape);
  const rows = a.shape[a.shape.length - (attrs.transposeA ? 1 : 2)]!;
  const cols = b.shape[b.shape.length - (attrs.transposeB ? 2 : 1)]!;
  const batch = Math.max(elementCount(a.shape.slice(0, -2)), elementCount(b.shape.slice(0, -2)));
  const sizeOut = batch * rows * cols;
  const packed = simdProduct(a, b) ? 0 : 1;
  const directCost = (attrs.transposeA ? sizeA : 0) + (attrs.transposeB ? sizeB : 0) + packed * sizeB;
  const swappedCost = (attrs.transposeB ? 0 : sizeB) + (attrs.transposeA ? 0 : sizeA) + packed * sizeA + sizeOut;
  const simd = simdKernels();
  if (simd != null && packed === 0) {
    const depth = a.shape[a.shape.length - (attrs.transposeA ? 2 : 1)]!;
    const shape = [...batchShape(a, b), rows, cols];
    return directCost <= swappedCost
      ? simd.matMul(backend, a, b, rows, depth, cols, shape, { a: attrs.transposeA, b: attrs.transposeB })
      : simd.matMul(backend, b, a, cols, depth, rows, shape, { a: !attrs.transposeB, b: !attrs.transposeA, result: true });
  }
  return withScratch(backend, (scratch) => {
    if (directCost <= swappedCost) {
      const plainA = attrs.transposeA ? scratch.transpose(a, lastTwoAxesSwapped(a.shape.length)) : a;
      const plainB = attrs.transposeB ? scratch.transpose(b, lastTwoAxesSwapped(b.shape.length)) : b;
      return plainProduct(backend, plainA, plainB, noTranspose);
    }
    const left = attrs.transposeB ? b : scratch.transpose(b, lastTwoAxesSwapped(b.shape.length));
    const right = attrs.transposeA ? a : scratch.transpose(a, lastTwoAxesSwapped(a.shape.length));
    const productT = scratch.keep(plainProduct(backend, left, right, noTranspose));
    return runKernel(wasmKernel(tf.Transpose), backend, { x: productT }, { perm: lastTwoAxesSwapped(productT.shape.length) });
  });
}

function isOurs(config: tf.KernelConfig | undefined): boolean {
  return config != null && (config as MarkedKernelConfig)[REPLACEMENT_MARK] === true;
}

/**
 * Replaces (or adds) one wasm kernel and returns the config it replaced.
 * The original's setupFunc is carried over: tfjs runs setup functions only
 * for registered configs when the backend is set, and the stock kernel we
 * delegate to needs its wasm function bindings.
 */
function replaceKernel(
  kernelName: string,
  kernelFunc: (args: KernelArgs) => TensorInfo | TensorInfo[],
  ready?: () => boolean,
): tf.KernelConfig | null {
  const original = tf.getKernel(kernelName, WASM) ?? null;
  if (original != null) tf.unregisterKernel(kernelName, WASM);
  const replacement: MarkedKernelConfig = {
    kernelName,
    backendName: WASM,
    kernelFunc: kernelFunc as unknown as tf.KernelFunc,
    setupFunc: original?.setupFunc,
    disposeFunc: original?.disposeFunc,
    [REPLACEMENT_MARK]: true,
    ...(ready ? { [KERNEL_READY]: ready } : {}),
  };
  tf.registerKernel(replacement);
  return original;
}

/**
 * Registers the wasm training kernels. Idempotent, and safe to call before
 * or after `tf.setBackend('wasm')`.
 */
export function registerWasmTrainingKernels(): void {
  if (isOurs(tf.getKernel(tf.BatchMatMul, WASM))) return;
  const matMul = replaceKernel(tf.BatchMatMul, batchMatMul);
  if (matMul == null) throw new Error('the wasm backend has no BatchMatMul kernel to wrap');
  originalBatchMatMul = matMul;
  originalConv2DBackpropInput = replaceKernel(tf.Conv2DBackpropInput, conv2dBackpropInput);
  replaceKernel(tf.Conv2DBackpropFilter, conv2dBackpropFilter);
  originalConv2D = replaceKernel(tf.Conv2D, conv2d);
  originalMaxPoolGrad = replaceKernel(tf.MaxPoolGrad, maxPoolGrad);
  originalSum = replaceKernel(tf.Sum, sum);
  originalIdentity = replaceKernel(tf.Identity, identity);
  // Offered only while our SIMD module is loaded (fused-batch-norm.ts asks).
  const simdLoaded = (): boolean => simdKernels() != null;
  replaceKernel(BATCH_NORM_RELU, batchNormRelu, simdLoaded);
  replaceKernel(BATCH_NORM_RELU_GRAD, batchNormReluGrad, simdLoaded);
  replaceKernel(CONV2D_BIAS_RELU, conv2dBiasRelu, ourConvolutionPreferred);
  replaceKernel(CONV2D_BATCH_NORM_RELU, conv2dBatchNormRelu, ourConvolutionPreferred);
  replaceKernel(CONV2D_BATCH_NORM_RELU_GRAD, (args) => conv2dBatchNormReluGrad(args, false), ourConvolutionPreferred);
  replaceKernel(CONV2D_BATCH_NORM_RELU_MAX_POOL_GRAD, (args) => conv2dBatchNormReluGrad(args, true), ourConvolutionPreferred);
  replaceKernel(CONV2D_BIAS_RELU_GRAD, (args) => convGradients(args, CONV2D_BIAS_RELU_GRAD, true), ourConvolutionPreferred);
  replaceKernel(CONV2D_BIAS_RELU_MAX_POOL_GRAD, (args) => convGradients(args, CONV2D_BIAS_RELU_MAX_POOL_GRAD, true, true), ourConvolutionPreferred);
  replaceKernel(CONV2D, conv2d, ourConvolutionPreferred);
  replaceKernel(CONV2D_GRAD, (args) => convGradients(args, CONV2D_GRAD, false), ourConvolutionPreferred);
  replaceKernel(ADAM_UPDATE, adamUpdate, simdLoaded);
}

/** True once our kernels are the ones registered for wasm. */
export function wasmTrainingKernelsRegistered(): boolean {
  return (
    isOurs(tf.getKernel(tf.BatchMatMul, WASM)) &&
    isOurs(tf.getKernel(tf.Conv2DBackpropInput, WASM)) &&
    isOurs(tf.getKernel(tf.Conv2DBackpropFilter, WASM)) &&
    isOurs(tf.getKernel(tf.Conv2D, WASM)) &&
    isOurs(tf.getKernel(tf.MaxPoolGrad, WASM)) &&
    isOurs(tf.getKernel(tf.Sum, WASM)) &&
    isOurs(tf.getKernel(tf.Identity, WASM)) &&
    isOurs(tf.getKernel(BATCH_NORM_RELU, WASM)) &&
    isOurs(tf.getKernel(BATCH_NORM_RELU_GRAD, WASM)) &&
    isOurs(tf.getKernel(CONV2D_BIAS_RELU, WASM)) &&
    isOurs(tf.getKernel(CONV2D_BATCH_NORM_RELU, WASM)) &&
    isOurs(tf.getKernel(CONV2D_BATCH_NORM_RELU_GRAD, WASM)) &&
    isOurs(tf.getKernel(CONV2D_BATCH_NORM_RELU_MAX_POOL_GRAD, WASM)) &&
    isOurs(tf.getKernel(CONV2D_BIAS_RELU_GRAD, WASM)) &&
    isOurs(tf.getKernel(CONV2D_BIAS_RELU_MAX_POOL_GRAD, WASM)) &&
    isOurs(tf.getKernel(CONV2D, WASM)) &&
    isOurs(tf.getKernel(CONV2D_GRAD, WASM)) &&
    isOurs(tf.getKernel(ADAM_UPDATE, WASM))
  );
}
