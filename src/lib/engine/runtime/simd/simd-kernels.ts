/**
 * Our own wasm SIMD kernels (kernels.c), run beside tfjs's wasm backend for
 * the training steps it has no fast kernel for: the convolution and its
 * filter gradient (and a conv layer's convolution + bias + ReLU in one
 * kernel), the max-pool gradient, sums over leading axes (bias
 * gradients), matrix products whose right operand is new each call
 * (XNNPACK repacks it every time, slowly), BatchNorm + ReLU in training,
 * forward and backward, one kernel each way, and Adam's update of one
 * variable in one pass.
 *
 * The module has its own memory. Each call copies its operands out of the
 * backend's heap into ours, runs one C function and copies the result into
 * a fresh backend tensor. The copies are memory-speed (a few ms for a
 * Conv-2 batch) against the hundreds of ms the replaced kernels took.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { canBlock, controlBytes, KernelThreads, type Slice } from './kernel-threads';
import { SIMD_KERNELS_SHARED_WASM_BASE64, SIMD_KERNELS_WASM_BASE64 } from './kernels-wasm';

type TensorInfo = tf.TensorInfo;

interface KernelExports {
  __heap_base: WebAssembly.Global;
  conv2d_backprop_filter(
    xp: number, dy: number, dw: number, n: number, group: number, hp: number, wp: number, ci: number,
    oh: number, ow: number, co: number, kh: number, kw: number, sh: number, sw: number,
  ): void;
  conv2d(
    xp: number, w: number, y: number, n: number, hp: number, wp: number, ci: number,
    oh: number, ow: number, co: number, kh: number, kw: number, sh: number, sw: number,
  ): void;
  conv2d_bias_relu(
    xp: number, w: number, bias: number, y: number, n: number, hp: number, wp: number, ci: number,
    oh: number, ow: number, co: number, kh: number, kw: number, sh: number, sw: number,
  ): void;
  conv2d_padded_channels(
    xp: number, w: number, bias: number, yPadded: number, y: number, n: number, hp: number, wp: number, ci: number,
    oh: number, ow: number, co: number, kh: number, kw: number, sh: number, sw: number,
  ): void;
  conv2d_backprop_filter_padded_channels(
    xp: number, dy: number, dyPadded: number, dw: number, n: number, group: number, hp: number, wp: number, ci: number,
    oh: number, ow: number, co: number, kh: number, kw: number, sh: number, sw: number,
  ): void;
  /** One slice of SimdKernels.conv2dGradients: images [first, end) of the call whose words start at `params`. */
  conv2d_gradients(params: number, first: number, end: number): void;
  widen_columns(src: number, dst: number, rows: number, cols: number, stride: number): void;
  narrow_columns(src: number, dst: number, rows: number, cols: number, stride: number): void;
  max_pool_backprop(
    x: number, dy: number, dx: number, n: number, h: number, w: number, c: number, oh: number, ow: number,
    fh: number, fw: number, sh: number, sw: number, padTop: number, padLeft: number,
  ): void;
  sum_rows(x: number, out: number, partial: number, rows: number, cols: number): void;
  pad_images(x: number, xp: number, n: number, h: number, w: number, c: number, hp: number, wp: number, top: number, left: number): void;
  matmul(a: number, b: number, c: number, m: number, k: number, n: number): void;
  transpose(src: number, dst: number, rows: number, cols: number): void;
  batch_norm_relu(
    x: number, gamma: number, beta: number, y: number, mean: number, variance: number, scratch: number,
    rows: number, cols: number, epsilon: number,
  ): void;
  batch_norm_relu_backprop(
    x: number, dy: number, mean: number, variance: number, gamma: number, beta: number, dx: number, dgamma: number,
    dbeta: number, scratch: number, rows: number, cols: number, epsilon: number,
  ): void;
  adam_update(
    w: number, g: number, m: number, v: number, count: number, beta1: number, oneMinusBeta1: number, beta2: number,
    oneMinusBeta2: number, bias1: number, bias2: number, epsilon: number, negativeRate: number,
  ): void;
}

/** Which of a product's operands are held transposed, and whether its result is wanted transposed (SimdKernels.matMul). */
export interface ProductTransposes {
  a?: boolean;
  b?: boolean;
  result?: boolean;
}

/** Adam's scalars for one step, each rounded to float32 as tfjs's scalar tensors hold it (see adam_update in kernels.c). */
export interface AdamScalars {
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  /** 1 − β1ᵗ and 1 − β2ᵗ, the bias corrections. */
  bias1: number;
  bias2: number;
  epsilon: number;
  negativeRate: number;
}

const FLOAT_BYTES = 4;
const PAGE_BYTES = 65536;
/** Images per partial sum of the filter gradient (see conv2d_backprop_filter in kernels.c). */
const FILTER_GRADIENT_GROUP = 8;
/**
 * Multiply-adds below which a call runs all its slices on the calling
 * thread. Waking a helper costs tens of µs on an idle machine and
 * milliseconds on a busy one (the helper waits for a core): a Conv-4 ×0.25
 * step's small dense-layer products took 3-9 ms each when shared, for
 * 0.3 MFLOP. The slices are the same either way, so results do not change.
 */
export const THREADED_MIN_MULTIPLY_ADDS = 1 << 21;
/**
 * Multiply-adds one element of the padding pass (pad_images) is counted as
 * against the threshold for sharing: it is bound by memory, not by
 * arithmetic, as the max-pool gradient's comparisons are.
 */
const ELEMENT_PASS_WEIGHT = 4;
/** Every block starts on a 16-byte boundary, as v128 loads like. */
const ALIGN = 16;
/**
 * The convolutions' register blocks take output channels eight at a time;
 * other counts run padded with zero channels to the next multiple (see
 * conv2d_padded_channels in kernels.c).
 */
const CHANNEL_BLOCK = 8;

const paddedChannels = (channels: number): number => Math.ceil(channels / CHANNEL_BLOCK) * CHANNEL_BLOCK;

/** The 32-bit words of struct conv_gradients (kernels.c): ten addresses, eleven sizes. */
const CONV_GRADIENTS_WORDS = 21;

/** Floats a kernel already wrote into our memory: at byte address `at`, a block of `layout`. */
export interface ResidentFloats {
  layout: CallLayout;
  at: number;
}

/** What `SimdKernels.conv2dGradients` computes. */
export interface ConvGradientsRequest {
  x: TensorInfo;
  filter: TensorInfo;
  /** The gradient of the convolution's output (of the ReLU's, with `reluOutput`): a backend tensor, or already in our memory. */
  dy: TensorInfo | ResidentFloats;
  /** The convolution's geometry, from computeConv2DInfo (channels last). */
  info: tf.backend_util.Conv2DInfo;
  /** For relu(conv + bias): its output, which gates dy (tfjs's Step, then Multiply); the bias gradient is then summed too. A backend tensor, or already in our memory (in dy's layout). */
  reluOutput?: TensorInfo | ResidentFloats;
  /** Whether dx is wanted (a network's first layer needs none). */
  inputGradient: boolean;
}

/** The gradients of a convolution's input, filter and (with a ReLU output given) bias. */
export interface ConvGradients {
  dx: TensorInfo | null;
  dw: TensorInfo;
  db: TensorInfo | null;
}

/** What `SimdKernels.conv2dBatchNormReluBackprop` computes from. */
export interface ConvBatchNormGradientsRequest {
  x: TensorInfo;
  filter: TensorInfo;
  /** The convolution's output, BatchNorm's input. */
  z: TensorInfo;
  /** The gradient of the layer's output (after the ReLU): a backend tensor, or already in our memory. */
  dy: TensorInfo | ResidentFloats;
  /** BatchNorm's batch statistics, and its scale and offset. */
  mean: TensorInfo;
  variance: TensorInfo;
  gamma: TensorInfo;
  beta: TensorInfo;
  epsilon: number;
  /** The convolution's geometry, as for `conv2dGradients` (stride 1). */
  info: tf.backend_util.Conv2DInfo;
  /** Whether dx is wanted (a network's first layer needs none). */
  inputGradient: boolean;
}

/** Whether `SimdKernels.conv2dGradients` takes a convolution: stride 1 and unit dilations. */
export function oneCallGradientsCover(info: tf.backend_util.Conv2DInfo): boolean {
  return info.strideHeight === 1 && info.strideWidth === 1 && info.dilationHeight === 1 && info.dilationWidth === 1;
}

/** Whether `floats` already sit in our memory (else they are a backend tensor, to be copied in). */
function inOurMemory(floats: TensorInfo | ResidentFloats): floats is ResidentFloats {
  return !('dataId' in floats);
}

/** Float32 blocks laid out one after another above the control block for one call. */
export class CallLayout {
  private end: number;

  constructor(
    private readonly memory: WebAssembly.Memory,
    start: number,
  ) {
    this.end = start;
  }

  /** Reserves `floats` floats; returns their byte address. */
  block(floats: number): number {
    const address = Math.ceil(this.end / ALIGN) * ALIGN;
    this.end = address + floats * FLOAT_BYTES;
    return address;
  }

  /** Grows the memory to hold every block; call before taking views. */
  commit(): void {
    const memory = this.memory;
    const missing = this.end - memory.buffer.byteLength;
    if (missing > 0) memory.grow(Math.ceil(missing / PAGE_BYTES));
  }

  view(address: number, floats: number): Float32Array {
    return new Float32Array(this.memory.buffer, address, floats);
  }
}

interface PaddedInput {
  /** Byte address of the padded copy. */
  at: number;
  hp: number;
  wp: number;
  /** Writes the copy; call after `layout.commit()`. */
  fill(): void;
}

function heap(backend: BackendWasm, info: TensorInfo): Float32Array {
  if (info.dtype !== 'float32') throw new Error(`expected a float32 tensor, got ${info.dtype}`);
  return backend.typedArrayFromHeap(info) as Float32Array;
}

/** A new backend tensor of `shape` holding `values`. */
function output(backend: BackendWasm, shape: number[], values: Float32Array): TensorInfo {
  const out = backend.makeOutput(shape, 'float32');
  heap(backend, out).set(values);
  return out;
}

const elementCount = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** A block of our memory reserved for a tensor, whose copy `fill` makes once the layout is committed. */
interface PendingCopy {
  at: number;
  fill(): void;
}

/** Reserves a block of `layout` for `info`'s values, to be copied in by `fill` after `layout.commit()`. */
function copiedInLater(layout: CallLayout, backend: BackendWasm, info: TensorInfo): PendingCopy {
  const size = elementCount(info.shape);
  const at = layout.block(size);
  return { at, fill: () => layout.view(at, size).set(heap(backend, info)) };
}

/** `count` items cut into `parts` contiguous [start, end) shares, as even as can be. */
function shares(count: number, parts: number): Array<[number, number]> {
  return Array.from({ length: parts }, (_, i) => [Math.floor((count * i) / parts), Math.floor((count * (i + 1)) / parts)]);
}

export class SimdKernels {
  /** Where each call's blocks start: above __heap_base and the threads' control block. */
  private readonly callStart: number;

  constructor(
    private readonly kernels: KernelExports,
    private readonly memory: WebAssembly.Memory,
    private readonly threads: KernelThreads | null,
    /** Calls with fewer multiply-adds stay on the calling thread (tests lower it to share small calls). */
    private readonly threadedMinMultiplyAdds = THREADED_MIN_MULTIPLY_ADDS,
  ) {
    const heapBase = kernels.__heap_base.value as number;
    this.callStart = heapBase + controlBytes(this.threadCount);
  }

  /** Threads a large call is shared among, this one included. */
  get threadCount(): number {
    return this.threads?.size ?? 1;
  }

  /**
   * A new call's blocks. A kernel that writes an operand into our memory
   * itself (as `conv2dGradients` takes dy) reserves it here and hands the
   * layout on, so that the next method places its blocks after it.
   */
  layout(): CallLayout {
    return new CallLayout(this.memory, this.callStart);
  }

  /**
   * One slice per thread, run at once on the helpers when the call has
   * `multiplyAdds` enough to pay for waking them, else one after another
   * here; returns when all are done.
   */
  private run(slices: Slice[], multiplyAdds: number): void {
    if (this.threads != null && multiplyAdds >= this.threadedMinMultiplyAdds) this.threads.run(slices);
    else for (const { fn, args } of slices) (this.kernels[fn] as (...values: number[]) => void)(...args);
  }

  /**
   * Copies x into `layout` zero-padded (and cropped) to exactly the rows and
   * columns the filter taps of `info` reach, as kernels.c expects: one copy
   * of x as it is, then the padded images written by the threads.
   */
  private paddedInput(layout: CallLayout, backend: BackendWasm, x: TensorInfo, info: tf.backend_util.Conv2DInfo): PaddedInput {
    const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow } = info;
    const { top, left } = info.padInfo;
    const hp = (oh - 1) * info.strideHeight + info.filterHeight;
    const wp = (ow - 1) * info.strideWidth + info.filterWidth;
    const xAt = layout.block(n * h * w * ci);
    const at = layout.block(n * hp * wp * ci);
    const fill = (): void => {
      layout.view(xAt, n * h * w * ci).set(heap(backend, x));
      this.run(
        shares(n, this.threadCount).map(([first, end]) => ({
          fn: 'pad_images',
          args: [xAt + first * h * w * ci * FLOAT_BYTES, at + first * hp * wp * ci * FLOAT_BYTES, end - first, h, w, ci, hp, wp, top, left],
        })),
        ELEMENT_PASS_WEIGHT * n * hp * wp * ci,
      );
    };
    return { at, hp, wp, fill };
  }

  /**
   * A convolution with unit dilations (`info` from computeConv2DInfo,
   * channels last); with `bias`, relu(conv + bias), each slice applying
   * the bias and ReLU to its own images as it finishes them.
   */
  conv2d(backend: BackendWasm, x: TensorInfo, filter: TensorInfo, info: tf.backend_util.Conv2DInfo, bias?: TensorInfo): TensorInfo {
    const layout = this.layout();
    const yAt = this.convolve(layout, backend, x, filter, info, bias);
    const shape = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
    return output(backend, shape, layout.view(yAt, elementCount(shape)));
  }

  /** `conv2d`'s work, its output left in `layout`: returns its byte address. */
  private convolve(
    layout: CallLayout,
    backend: BackendWasm,
    x: TensorInfo,
    filter: TensorInfo,
    info: tf.backend_util.Conv2DInfo,
    bias?: TensorInfo,
  ): number {
    const { batchSize: n, inChannels: ci, outHeight: oh, outWidth: ow, outChannels: co } = info;
    const { filterHeight: kh, filterWidth: kw } = info;
    const stride = paddedChannels(co);
    const padded = stride !== co;
    const xp = this.paddedInput(layout, backend, x, info);
    const wAt = layout.block(kh * kw * ci * co);
    const biasAt = bias == null ? null : layout.block(co);
    const yAt = layout.block(n * oh * ow * co);
    // Other counts: w, bias and y with `stride` channels, w and bias widened from the copies above.
    const wPaddedAt = padded ? layout.block(kh * kw * ci * stride) : wAt;
    const biasPaddedAt = padded && biasAt != null ? layout.block(stride) : biasAt;
    const yPaddedAt = padded ? layout.block(n * oh * ow * stride) : yAt;
    layout.commit();
    xp.fill();
    layout.view(wAt, kh * kw * ci * co).set(heap(backend, filter));
    if (bias != null && biasAt != null) layout.view(biasAt, co).set(heap(backend, bias));
    if (padded) {
      this.kernels.widen_columns(wAt, wPaddedAt, kh * kw * ci, co, stride);
      if (biasAt != null && biasPaddedAt != null) this.kernels.widen_columns(biasAt, biasPaddedAt, 1, co, stride);
    }
    const { hp, wp } = xp;
    this.run(
      shares(n, this.threadCount).map(([first, end]) => {
        const xAt = xp.at + first * hp * wp * ci * FLOAT_BYTES;
        const sliceYAt = yAt + first * oh * ow * co * FLOAT_BYTES;
        const geometry = [end - first, hp, wp, ci, oh, ow, co, kh, kw, info.strideHeight, info.strideWidth];
        if (padded) {
          const sliceYPaddedAt = yPaddedAt + first * oh * ow * stride * FLOAT_BYTES;
          return { fn: 'conv2d_padded_channels', args: [xAt, wPaddedAt, biasPaddedAt ?? 0, sliceYPaddedAt, sliceYAt, ...geometry] };
        }
        return biasAt == null
          ? { fn: 'conv2d', args: [xAt, wAt, sliceYAt, ...geometry] }
          : { fn: 'conv2d_bias_relu', args: [xAt, wAt, biasAt, sliceYAt, ...geometry] };
      }),
      n * oh * ow * stride * kh * kw * ci,
    );
    return yAt;
  }

  /** The filter gradient of `conv2d` for the same `info`. */
  conv2dBackpropFilter(backend: BackendWasm, x: TensorInfo, dy: TensorInfo, info: tf.backend_util.Conv2DInfo): TensorInfo {
    const { batchSize: n, inChannels: ci, outHeight: oh, outWidth: ow, outChannels: co } = info;
    const { filterHeight: kh, filterWidth: kw } = info;
    const stride = paddedChannels(co);
    const padded = stride !== co;
    const layout = this.layout();
    const xp = this.paddedInput(layout, backend, x, info);
    const dyAt = layout.block(n * oh * ow * co);
    // Other counts: dy widened to `stride` channels (each slice its own images), dw summed so and narrowed.
    const dyPaddedAt = padded ? layout.block(n * oh * ow * stride) : dyAt;
    const size = kh * kw * ci * co;
    const paddedSize = kh * kw * ci * stride;
    // Fixed groups of images, each summed into its own dw and added up in
    // order after: threads take whole groups, so the result does not
    // depend on how many threads there are.
    const groups = Math.ceil(n / FILTER_GRADIENT_GROUP);
    const partsAt = layout.block(groups * paddedSize);
    const dwPaddedAt = layout.block(paddedSize);
    const scratchAt = layout.block(paddedSize);
    const dwAt = padded ? layout.block(size) : dwPaddedAt;
    layout.commit();
    xp.fill();
    layout.view(dyAt, n * oh * ow * co).set(heap(backend, dy));
    const { hp, wp } = xp;
    this.run(
      shares(groups, this.threadCount).map(([firstGroup, endGroup]) => {
        const first = firstGroup * FILTER_GRADIENT_GROUP;
        const end = Math.min(n, endGroup * FILTER_GRADIENT_GROUP);
        const sliceXAt = xp.at + first * hp * wp * ci * FLOAT_BYTES;
        const sliceDyAt = dyAt + first * oh * ow * co * FLOAT_BYTES;
        const slicePartsAt = partsAt + firstGroup * paddedSize * FLOAT_BYTES;
        const geometry = [Math.max(0, end - first), FILTER_GRADIENT_GROUP, hp, wp, ci, oh, ow, co, kh, kw, info.strideHeight, info.strideWidth];
        return padded
          ? {
              fn: 'conv2d_backprop_filter_padded_channels',
              args: [sliceXAt, sliceDyAt, dyPaddedAt + first * oh * ow * stride * FLOAT_BYTES, slicePartsAt, ...geometry],
            }
          : { fn: 'conv2d_backprop_filter', args: [sliceXAt, sliceDyAt, slicePartsAt, ...geometry] };
      }),
      n * oh * ow * stride * kh * kw * ci,
    );
    this.kernels.sum_rows(partsAt, dwPaddedAt, scratchAt, groups, paddedSize);
    if (padded) this.kernels.narrow_columns(dwPaddedAt, dwAt, kh * kw * ci, co, stride);
    return output(backend, [kh, kw, ci, co], layout.view(dwAt, size));
  }

  /**
   * A convolution's gradients from dy in one call (`info` as for
   * `conv2d`; see `oneCallGradientsCover`): dy and x are copied in once,
   * and one threaded run, each thread on whole groups of images, gates dy
   * by the ReLU (with `request.reluOutput`), pads x and dy, and computes
   * dx (where wanted) and the filter gradient's group sums; then the
   * groups are summed in order and the bias gradient summed from the gated
   * dy. Each value is computed by the same C functions in the same order
   * as by `conv2d` with the rotated filter (dx), `conv2dBackpropFilter` and
   * `sumRows` with tfjs's Step and Multiply before them, so the bits are
   * theirs, on any number of threads.
   */
  conv2dGradients(backend: BackendWasm, request: ConvGradientsRequest): ConvGradients {
    const { x, filter, dy, info, reluOutput, inputGradient } = request;
    if (!oneCallGradientsCover(info)) throw new Error('conv2dGradients takes stride-1 convolutions with unit dilations only');
    const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow, outChannels: co } = info;
    const { filterHeight: kh, filterWidth: kw } = info;
    const ciStride = paddedChannels(ci);
    const coStride = paddedChannels(co);
    const resident = inOurMemory(dy);
    const layout = resident ? dy.layout : this.layout();
    const dySize = n * oh * ow * co;
    const dyAt = resident ? dy.at : layout.block(dySize);
    const yAt = reluOutput == null ? 0 : inOurMemory(reluOutput) ? reluOutput.at : layout.block(dySize);
    const xAt = layout.block(n * h * w * ci);
    // x padded for the filter gradient, dy padded for dx (a convolution of dy with the rotated filter).
    const xpAt = layout.block(n * (oh + kh - 1) * (ow + kw - 1) * ci);
    const dyWideAt = coStride === co ? 0 : layout.block(n * oh * ow * coStride);
    const dypAt = inputGradient ? layout.block(n * (h + kh - 1) * (w + kw - 1) * co) : 0;
    const rotatedAt = inputGradient ? layout.block(kh * kw * co * ciStride) : 0;
    const dxWideAt = inputGradient && ciStride !== ci ? layout.block(n * h * w * ciStride) : 0;
    const dxAt = inputGradient ? layout.block(n * h * w * ci) : 0;
    const groups = Math.ceil(n / FILTER_GRADIENT_GROUP);
    const size = kh * kw * ci * co;
    const paddedSize = kh * kw * ci * coStride;
    const partsAt = layout.block(groups * paddedSize);
    const dwPaddedAt = layout.block(paddedSize);
    const scratchAt = layout.block(paddedSize);
    const dwAt = coStride === co ? dwPaddedAt : layout.block(size);
    const dbAt = reluOutput == null ? 0 : layout.block(co);
    const paramsAt = layout.block(CONV_GRADIENTS_WORDS);
    layout.commit();
    if (!resident) layout.view(dyAt, dySize).set(heap(backend, dy));
    if (reluOutput != null && !inOurMemory(reluOutput)) layout.view(yAt, dySize).set(heap(backend, reluOutput));
    layout.view(xAt, n * h * w * ci).set(heap(backend, x));
    if (inputGradient) {
      // rotated[t][u][o][c] = filter[kh−1−t][kw−1−u][c][o], zero for c ≥ ci.
      const source = heap(backend, filter);
      const rotated = layout.view(rotatedAt, kh * kw * co * ciStride);
      for (let t = 0; t < kh; t++) {
        for (let u = 0; u < kw; u++) {
          const from = ((kh - 1 - t) * kw + (kw - 1 - u)) * ci * co;
          for (let o = 0; o < co; o++) {
            const to = ((t * kw + u) * co + o) * ciStride;
            for (let c = 0; c < ci; c++) rotated[to + c] = source[from + c * co + o]!;
            rotated.fill(0, to + ci, to + ciStride);
          }
        }
      }
    }
    // struct conv_gradients in kernels.c, word by word.
    new Int32Array(this.memory.buffer, paramsAt, CONV_GRADIENTS_WORDS).set([
      xAt, xpAt, dyAt, yAt, dyWideAt, dypAt, rotatedAt, dxWideAt, dxAt, partsAt,
      FILTER_GRADIENT_GROUP, h, w, ci, oh, ow, co, kh, kw, info.padInfo.top, info.padInfo.left,
    ]);
    // Whole groups per thread, the same images for dx: the filter
    // gradient's groups are summed below in order, whoever computed them.
    this.run(
      shares(groups, this.threadCount).map(([firstGroup, endGroup]) => ({
        fn: 'conv2d_gradients',
        args: [paramsAt, firstGroup * FILTER_GRADIENT_GROUP, Math.min(n, endGroup * FILTER_GRADIENT_GROUP)],
      })),
      n * oh * ow * coStride * kh * kw * ci + (inputGradient ? n * h * w * ciStride * kh * kw * co : 0),
    );
    this.kernels.sum_rows(partsAt, dwPaddedAt, scratchAt, groups, paddedSize);
    if (coStride !== co) this.kernels.narrow_columns(dwPaddedAt, dwAt, kh * kw * ci, co, coStride);
    if (reluOutput != null) this.kernels.sum_rows(dyAt, dbAt, scratchAt, n * oh * ow, co);
    return {
      dx: inputGradient ? output(backend, x.shape, layout.view(dxAt, n * h * w * ci)) : null,
      dw: output(backend, [kh, kw, ci, co], layout.view(dwAt, size)),
      db: reluOutput == null ? null : output(backend, [co], layout.view(dbAt, co)),
    };
  }

  /**
   * relu(conv + bias)'s gradients in one call when a max pool (`poolInfo`,
   * from computePool2DInfo) follows it, from the pool's dy: y (the ReLU's
   * output, the pool's input) and the pooled dy are copied in once, the
   * pooled dy routed to its windows' winners as `maxPoolBackprop` does,
   * and the full-size dy gated and differentiated as `conv2dGradients`
   * does, all in our memory: the MaxPoolGrad call, its copy of dx out and
   * that copy back in as the convolution's dy are gone. The same functions
   * on the same values, so the same bits.
   */
  conv2dPooledGradients(
    backend: BackendWasm,
    request: Omit<ConvGradientsRequest, 'dy' | 'reluOutput'> & { reluOutput: TensorInfo; pooledDy: TensorInfo; poolInfo: tf.backend_util.Conv2DInfo },
  ): ConvGradients {
    const { reluOutput, pooledDy, poolInfo } = request;
    const layout = this.layout();
    const y = copiedInLater(layout, backend, reluOutput);
    const dyAt = this.poolBackprop(layout, backend, y, pooledDy, poolInfo);
    return this.conv2dGradients(backend, { ...request, dy: { layout, at: dyAt }, reluOutput: { layout, at: y.at } });
  }

  /**
   * `maxPoolBackprop`'s work in `layout`, the pool's input x at `x.at`
   * (written by `x.fill` once the blocks are committed): dx's byte address.
   */
  private poolBackprop(
    layout: CallLayout,
    backend: BackendWasm,
    x: PendingCopy,
    dy: TensorInfo,
    info: tf.backend_util.Conv2DInfo,
  ): number {
    const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
    const xSize = n * h * w * c;
    const dySize = n * oh * ow * c;
    const dyAt = layout.block(dySize);
    const dxAt = layout.block(xSize);
    layout.commit();
    x.fill();
    layout.view(dyAt, dySize).set(heap(backend, dy));
    const { effectiveFilterHeight: fh, effectiveFilterWidth: fw } = info;
    // Images are independent, so the batch is shared. Each window value is
    // loaded, compared and selected twice (finding the winner, then routing
    // dy): counted as four multiply-adds against the threshold for sharing.
    this.run(
      shares(n, this.threadCount).map(([first, end]) => ({
        fn: 'max_pool_backprop',
        args: [
          x.at + first * h * w * c * FLOAT_BYTES, dyAt + first * oh * ow * c * FLOAT_BYTES, dxAt + first * h * w * c * FLOAT_BYTES,
          end - first, h, w, c, oh, ow, fh, fw, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left,
        ],
      })),
      4 * dySize * fh * fw,
    );
    return dxAt;
  }

  /** dx of a max pool (`info` from computePool2DInfo), the batch shared among threads. */
  maxPoolBackprop(backend: BackendWasm, x: TensorInfo, dy: TensorInfo, info: tf.backend_util.Conv2DInfo): TensorInfo {
    const layout = this.layout();
    const dxAt = this.poolBackprop(layout, backend, copiedInLater(layout, backend, x), dy, info);
    return output(backend, x.shape, layout.view(dxAt, elementCount(x.shape)));
  }

  /**
   * op(a)·op(b) for op(a) viewed as [m, k] and op(b) as [k, n], where op
   * transposes the operands `transposes` names (a held as [k, m], b as
   * [n, k]); with `transposes.result`, the product's transpose [n, m]. The
   * result takes `shape`. Transposes are made in our memory, on this thread.
   */
  matMul(
    backend: BackendWasm,
    a: TensorInfo,
    b: TensorInfo,
    m: number,
    k: number,
    n: number,
    shape: number[],
    transposes: ProductTransposes = {},
  ): TensorInfo {
    const layout = this.layout();
    const aAt = layout.block(m * k);
    const bAt = layout.block(k * n);
    const cAt = layout.block(m * n);
    const aHeldAt = transposes.a ? layout.block(m * k) : aAt;
    const bHeldAt = transposes.b ? layout.block(k * n) : bAt;
    const outAt = transposes.result ? layout.block(m * n) : cAt;
    layout.commit();
    layout.view(aHeldAt, m * k).set(heap(backend, a));
    layout.view(bHeldAt, k * n).set(heap(backend, b));
    if (transposes.a) this.kernels.transpose(aHeldAt, aAt, k, m);
    if (transposes.b) this.kernels.transpose(bHeldAt, bAt, n, k);
    this.run(
      shares(m, this.threadCount).map(([first, end]) => ({
        fn: 'matmul',
        args: [aAt + first * k * FLOAT_BYTES, bAt, cAt + first * n * FLOAT_BYTES, end - first, k, n],
      })),
      m * k * n,
    );
    if (transposes.result) this.kernels.transpose(cAt, outAt, m, n);
    return output(backend, shape, layout.view(outAt, m * n));
  }

  /**
   * relu(batchNorm(x)) with the batch's own statistics, over the last axis:
   * [y, mean, variance] (the variance biased, as tfjs's moments). One
   * thread: three passes over memory, each far shorter than the copies a
   * handshake with helpers would save.
   */
  batchNormRelu(backend: BackendWasm, x: TensorInfo, gamma: TensorInfo, beta: TensorInfo, epsilon: number): TensorInfo[] {
    const size = elementCount(x.shape);
    const layout = this.layout();
    const xAt = layout.block(size);
    layout.commit();
    layout.view(xAt, size).set(heap(backend, x));
    return this.normalise(layout, backend, xAt, x.shape, gamma, beta, epsilon);
  }

  /**
   * A conv layer's convolution (as `conv2d`, no bias), then `batchNormRelu`
   * of its output z where the convolution left it in our memory, instead
   * of copying z out and in again between two calls: [z, y, mean,
   * variance], z kept for the gradient. The same functions on the same
   * values as those two calls, so the same bits.
   */
  conv2dBatchNormRelu(
    backend: BackendWasm,
    x: TensorInfo,
    filter: TensorInfo,
    gamma: TensorInfo,
    beta: TensorInfo,
    info: tf.backend_util.Conv2DInfo,
    epsilon: number,
  ): TensorInfo[] {
    const layout = this.layout();
    const zAt = this.convolve(layout, backend, x, filter, info);
    const shape = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
    const z = output(backend, shape, layout.view(zAt, elementCount(shape)));
    return [z, ...this.normalise(layout, backend, zAt, shape, gamma, beta, epsilon)];
  }

  /** `batchNormRelu` of x of `shape` already at `xAt` in `layout`: [y, mean, variance]. */
  private normalise(
    layout: CallLayout,
    backend: BackendWasm,
    xAt: number,
    shape: number[],
    gamma: TensorInfo,
    beta: TensorInfo,
    epsilon: number,
  ): TensorInfo[] {
    const cols = shape[shape.length - 1]!;
    const size = elementCount(shape);
    const gammaAt = layout.block(cols);
    const betaAt = layout.block(cols);
    const yAt = layout.block(size);
    const meanAt = layout.block(cols);
    const varianceAt = layout.block(cols);
    const scratchAt = layout.block(2 * cols);
    layout.commit();
    layout.view(gammaAt, cols).set(heap(backend, gamma));
    layout.view(betaAt, cols).set(heap(backend, beta));
    this.kernels.batch_norm_relu(xAt, gammaAt, betaAt, yAt, meanAt, varianceAt, scratchAt, size / cols, cols, epsilon);
    return [
      output(backend, shape, layout.view(yAt, size)),
      output(backend, [cols], layout.view(meanAt, cols)),
      output(backend, [cols], layout.view(varianceAt, cols)),
    ];
  }

  /**
   * The gradients [dx, dgamma, dbeta] of `batchNormRelu`, from its input x,
   * dy, its batch statistics and its gamma and beta: where its ReLU passed
   * is recomputed from x, so its output need not be copied in.
   */
  batchNormReluBackprop(
    backend: BackendWasm,
    x: TensorInfo,
    dy: TensorInfo,
    mean: TensorInfo,
    variance: TensorInfo,
    gamma: TensorInfo,
    beta: TensorInfo,
    epsilon: number,
  ): TensorInfo[] {
    const cols = x.shape[x.shape.length - 1]!;
    const size = elementCount(x.shape);
    const layout = this.layout();
    const { dxAt, dgammaAt, dbetaAt } = this.normaliseBackprop(layout, backend, x, dy, mean, variance, gamma, beta, epsilon);
    return [
      output(backend, x.shape, layout.view(dxAt, size)),
      output(backend, [cols], layout.view(dgammaAt, cols)),
      output(backend, [cols], layout.view(dbetaAt, cols)),
    ];
  }

  /**
   * The gradients of `conv2dBatchNormRelu` in one call, from its input x,
   * filter, z (its convolution's output), dy, its batch statistics and its
   * gamma and beta: BatchNorm + ReLU's (as `batchNormReluBackprop`), whose
   * dz stays in our memory for the convolution's (`conv2dGradients`, dz
   * resident) instead of crossing to tfjs's heap and back for two more
   * calls: [dx (where `inputGradient`), dw, dgamma, dbeta]. The same
   * functions on the same values as those calls, so the same bits.
   */
  conv2dBatchNormReluBackprop(backend: BackendWasm, request: ConvBatchNormGradientsRequest): TensorInfo[] {
    const { x, filter, z, dy, mean, variance, gamma, beta, epsilon, info, inputGradient } = request;
    const cols = z.shape[z.shape.length - 1]!;
    const layout = inOurMemory(dy) ? dy.layout : this.layout();
    const { dxAt: dzAt, dgammaAt, dbetaAt } = this.normaliseBackprop(layout, backend, z, dy, mean, variance, gamma, beta, epsilon);
    const dgamma = output(backend, [cols], layout.view(dgammaAt, cols));
    const dbeta = output(backend, [cols], layout.view(dbetaAt, cols));
    const { dx, dw } = this.conv2dGradients(backend, { x, filter, dy: { layout, at: dzAt }, info, inputGradient });
    return [...(dx == null ? [] : [dx]), dw, dgamma, dbeta];
  }

  /**
   * `conv2dBatchNormReluBackprop` when a max pool (`poolInfo`, from
   * computePool2DInfo) follows the layer, from the pool's dy and the
   * layer's output y (the pool's input): the pooled dy routed to its
   * windows' winners as `maxPoolBackprop` does, in our memory, then the
   * same work on it. The same functions on the same values, so the same bits.
   */
  conv2dBatchNormReluPooledBackprop(
    backend: BackendWasm,
    request: ConvBatchNormGradientsRequest & { dy: TensorInfo; y: TensorInfo; poolInfo: tf.backend_util.Conv2DInfo },
  ): TensorInfo[] {
    const { y, dy, poolInfo } = request;
    const layout = this.layout();
    const dyAt = this.poolBackprop(layout, backend, copiedInLater(layout, backend, y), dy, poolInfo);
    return this.conv2dBatchNormReluBackprop(backend, { ...request, dy: { layout, at: dyAt } });
  }

  /** `batchNormReluBackprop`'s work, its results left in `layout`: their byte addresses. */
  private normaliseBackprop(
    layout: CallLayout,
    backend: BackendWasm,
    x: TensorInfo,
    dy: TensorInfo | ResidentFloats,
    mean: TensorInfo,
    variance: TensorInfo,
    gamma: TensorInfo,
    beta: TensorInfo,
    epsilon: number,
  ): { dxAt: number; dgammaAt: number; dbetaAt: number } {
    const cols = x.shape[x.shape.length - 1]!;
    const size = elementCount(x.shape);
    const xAt = layout.block(size);
    const dyAt = inOurMemory(dy) ? dy.at : layout.block(size);
    const [meanAt, varianceAt, gammaAt, betaAt] = [mean, variance, gamma, beta].map(() => layout.block(cols)) as [number, number, number, number];
    const dxAt = layout.block(size);
    const dgammaAt = layout.block(cols);
    const dbetaAt = layout.block(cols);
    const scratchAt = layout.block(3 * cols);
    layout.commit();
    layout.view(xAt, size).set(heap(backend, x));
    if (!inOurMemory(dy)) layout.view(dyAt, size).set(heap(backend, dy));
    for (const [at, info] of [[meanAt, mean], [varianceAt, variance], [gammaAt, gamma], [betaAt, beta]] as const) {
      layout.view(at, cols).set(heap(backend, info));
    }
    this.kernels.batch_norm_relu_backprop(
      xAt, dyAt, meanAt, varianceAt, gammaAt, betaAt, dxAt, dgammaAt, dbetaAt, scratchAt, size / cols, cols, epsilon,
    );
    return { dxAt, dgammaAt, dbetaAt };
  }

  /**
   * Adam's update of one variable: [w', m', v'] from the variable w, its
   * gradient g and moments m and v (all of one shape). One thread: one
   * pass over memory, far shorter than a handshake with helpers.
   */
  adamUpdate(backend: BackendWasm, w: TensorInfo, g: TensorInfo, m: TensorInfo, v: TensorInfo, s: AdamScalars): TensorInfo[] {
    const count = elementCount(w.shape);
    const layout = this.layout();
    const [wAt, gAt, mAt, vAt] = [w, g, m, v].map(() => layout.block(count)) as [number, number, number, number];
    layout.commit();
    for (const [at, info] of [[wAt, w], [gAt, g], [mAt, m], [vAt, v]] as const) layout.view(at, count).set(heap(backend, info));
    this.kernels.adam_update(
      wAt, gAt, mAt, vAt, count, s.beta1, s.oneMinusBeta1, s.beta2, s.oneMinusBeta2, s.bias1, s.bias2, s.epsilon, s.negativeRate,
    );
    return [wAt, mAt, vAt].map((at) => output(backend, w.shape, layout.view(at, count)));
  }

  /** Sums x, viewed as [rows, cols], over its rows; the result takes `shape`. */
  sumRows(backend: BackendWasm, x: TensorInfo, rows: number, cols: number, shape: number[]): TensorInfo {
    const layout = this.layout();
    const xAt = layout.block(rows * cols);
    const outAt = layout.block(cols);
    const partialAt = layout.block(cols);
    layout.commit();
    layout.view(xAt, rows * cols).set(heap(backend, x));
    this.kernels.sum_rows(xAt, outAt, partialAt, rows, cols);
    return output(backend, shape, layout.view(outAt, cols));
  }
}

let loaded: SimdKernels | null = null;
let loading: Promise<boolean> | null = null;

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Pages the memory starts with: above the module's static area (its 64 KiB stack, unused). */
const INITIAL_PAGES = 16;
/** The shared build's maximum (2 GiB), which its memory must declare too. */
const SHARED_MAX_PAGES = 32768;

/** A shared memory, or null where this realm cannot make one (not cross-origin isolated). */
function sharedMemory(): WebAssembly.Memory | null {
  try {
    return new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: SHARED_MAX_PAGES, shared: true });
  } catch {
    return null;
  }
}

/**
 * A new instance of our kernels sharing large calls among `threads` threads
 * (fewer where helper threads cannot start); calls of fewer than
 * `threadedMinMultiplyAdds` multiply-adds stay on the calling thread. Most
 * callers want the one `loadSimdKernels` keeps for the realm.
 */
export async function createSimdKernels(threads: number, threadedMinMultiplyAdds = THREADED_MIN_MULTIPLY_ADDS): Promise<SimdKernels> {
  const memory = threads > 1 && canBlock() ? sharedMemory() : null;
  if (memory == null) {
    const plain = new WebAssembly.Memory({ initial: INITIAL_PAGES });
    const module = await WebAssembly.compile(decodeBase64(SIMD_KERNELS_WASM_BASE64));
    const instance = await WebAssembly.instantiate(module, { env: { memory: plain } });
    return new SimdKernels(instance.exports as unknown as KernelExports, plain, null);
  }
  const module = await WebAssembly.compile(decodeBase64(SIMD_KERNELS_SHARED_WASM_BASE64));
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const kernels = instance.exports as unknown as KernelExports;
  const controlAt = kernels.__heap_base.value as number;
  try {
    const pool = await KernelThreads.start(module, memory, controlAt, threads, ({ fn, args }) =>
      (kernels[fn] as (...values: number[]) => void)(...args),
    );
    return new SimdKernels(kernels, memory, pool, threadedMinMultiplyAdds);
  } catch (error) {
    console.warn(`Our SIMD kernels run on one thread: ${error instanceof Error ? error.message : String(error)}`);
    return new SimdKernels(kernels, memory, null);
  }
}

/**
 * Compiles the module once per realm (asynchronously: a page's main thread
 * may not compile over 4 KB synchronously), sharing large calls among
 * `threads` threads where helper threads are possible: a shared memory
 * (cross-origin isolation in a browser) and a thread that may block (a
 * worker, or Node). The first call's `threads` (and threshold, as for
 * `createSimdKernels`) holds for the realm. False
 * where wasm SIMD is missing, and then the callers keep tfjs's own kernels.
 */
export function loadSimdKernels(threads = 1, threadedMinMultiplyAdds = THREADED_MIN_MULTIPLY_ADDS): Promise<boolean> {
  loading ??= createSimdKernels(Math.max(1, Math.floor(threads)), threadedMinMultiplyAdds).then(
    (kernels) => {
      loaded = kernels;
      return true;
    },
    () => false,
  );
  return loading;
}

/** The loaded kernels, or null before `loadSimdKernels` resolved true. */
export function simdKernels(): SimdKernels | null {
  return loaded;
}
