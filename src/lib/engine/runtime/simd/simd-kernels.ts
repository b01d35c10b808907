/**
 * Our own wasm SIMD kernels (kernels.c), run beside tfjs's wasm backend for
 * the training steps it has no fast kernel for: the convolution and its
 * filter gradient, the max-pool gradient, sums over leading axes (bias
 * gradients) and matrix products whose right operand is new each call
 * (XNNPACK repacks it every time, slowly).
 *
 * The module has its own memory. Each call copies its operands out of the
 * backend's heap into ours, runs one C function and copies the result into
 * a fresh backend tensor. The copies are memory-speed (a few ms for a
 * Conv-2 batch) against the hundreds of ms the replaced kernels took.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { SIMD_KERNELS_WASM_BASE64 } from './kernels-wasm';

type TensorInfo = tf.TensorInfo;

interface KernelExports {
  memory: WebAssembly.Memory;
  __heap_base: WebAssembly.Global;
  conv2d_backprop_filter(
    xp: number, dy: number, dw: number, n: number, hp: number, wp: number, ci: number,
    oh: number, ow: number, co: number, kh: number, kw: number, sh: number, sw: number,
  ): void;
  conv2d(
    xp: number, w: number, y: number, n: number, hp: number, wp: number, ci: number,
    oh: number, ow: number, co: number, kh: number, kw: number, sh: number, sw: number,
  ): void;
  max_pool_backprop(
    x: number, dy: number, dx: number, n: number, h: number, w: number, c: number, oh: number, ow: number,
    fh: number, fw: number, sh: number, sw: number, padTop: number, padLeft: number,
  ): void;
  sum_rows(x: number, out: number, partial: number, rows: number, cols: number): void;
  matmul(a: number, b: number, c: number, m: number, k: number, n: number): void;
}

const FLOAT_BYTES = 4;
const PAGE_BYTES = 65536;
/** Every block starts on a 16-byte boundary, as v128 loads like. */
const ALIGN = 16;

/** Float32 blocks laid out one after another above __heap_base for one call. */
class CallLayout {
  private end: number;

  constructor(private readonly kernels: KernelExports) {
    this.end = kernels.__heap_base.value as number;
  }

  /** Reserves `floats` floats; returns their byte address. */
  block(floats: number): number {
    const address = Math.ceil(this.end / ALIGN) * ALIGN;
    this.end = address + floats * FLOAT_BYTES;
    return address;
  }

  /** Grows the memory to hold every block; call before taking views. */
  commit(): void {
    const memory = this.kernels.memory;
    const missing = this.end - memory.buffer.byteLength;
    if (missing > 0) memory.grow(Math.ceil(missing / PAGE_BYTES));
  }

  view(address: number, floats: number): Float32Array {
    return new Float32Array(this.kernels.memory.buffer, address, floats);
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

export class SimdKernels {
  constructor(private readonly kernels: KernelExports) {}

  /**
   * Copies x into `layout` zero-padded (and cropped) to exactly the rows and
   * columns the filter taps of `info` reach, as kernels.c expects.
   */
  private paddedInput(layout: CallLayout, backend: BackendWasm, x: TensorInfo, info: tf.backend_util.Conv2DInfo): PaddedInput {
    const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow } = info;
    const top = info.padInfo.top;
    const left = info.padInfo.left;
    const hp = (oh - 1) * info.strideHeight + info.filterHeight;
    const wp = (ow - 1) * info.strideWidth + info.filterWidth;
    const at = layout.block(n * hp * wp * ci);
    const fill = (): void => {
      const xp = layout.view(at, n * hp * wp * ci);
      xp.fill(0);
      const source = heap(backend, x);
      const firstCol = Math.max(0, left);
      const lastCol = Math.min(wp, w + left); // exclusive, in padded columns
      if (lastCol <= firstCol) return;
      for (let b = 0; b < n; b++) {
        for (let row = Math.max(0, top); row < Math.min(hp, h + top); row++) {
          const from = ((b * h + row - top) * w + firstCol - left) * ci;
          xp.set(source.subarray(from, from + (lastCol - firstCol) * ci), ((b * hp + row) * wp + firstCol) * ci);
        }
      }
    };
    return { at, hp, wp, fill };
  }

  /** A convolution with unit dilations (`info` from computeConv2DInfo, channels last). */
  conv2d(backend: BackendWasm, x: TensorInfo, filter: TensorInfo, info: tf.backend_util.Conv2DInfo): TensorInfo {
    const { batchSize: n, inChannels: ci, outHeight: oh, outWidth: ow, outChannels: co } = info;
    const { filterHeight: kh, filterWidth: kw } = info;
    const layout = new CallLayout(this.kernels);
    const xp = this.paddedInput(layout, backend, x, info);
    const wAt = layout.block(kh * kw * ci * co);
    const yAt = layout.block(n * oh * ow * co);
    layout.commit();
    xp.fill();
    layout.view(wAt, kh * kw * ci * co).set(heap(backend, filter));
    this.kernels.conv2d(xp.at, wAt, yAt, n, xp.hp, xp.wp, ci, oh, ow, co, kh, kw, info.strideHeight, info.strideWidth);
    return output(backend, [n, oh, ow, co], layout.view(yAt, n * oh * ow * co));
  }

  /** The filter gradient of `conv2d` for the same `info`. */
  conv2dBackpropFilter(backend: BackendWasm, x: TensorInfo, dy: TensorInfo, info: tf.backend_util.Conv2DInfo): TensorInfo {
    const { batchSize: n, inChannels: ci, outHeight: oh, outWidth: ow, outChannels: co } = info;
    const { filterHeight: kh, filterWidth: kw } = info;
    const layout = new CallLayout(this.kernels);
    const xp = this.paddedInput(layout, backend, x, info);
    const dyAt = layout.block(n * oh * ow * co);
    const dwAt = layout.block(kh * kw * ci * co);
    layout.commit();
    xp.fill();
    layout.view(dyAt, n * oh * ow * co).set(heap(backend, dy));
    this.kernels.conv2d_backprop_filter(xp.at, dyAt, dwAt, n, xp.hp, xp.wp, ci, oh, ow, co, kh, kw, info.strideHeight, info.strideWidth);
    return output(backend, [kh, kw, ci, co], layout.view(dwAt, kh * kw * ci * co));
  }

  /** dx of a max pool (`info` from computePool2DInfo). */
  maxPoolBackprop(backend: BackendWasm, x: TensorInfo, dy: TensorInfo, info: tf.backend_util.Conv2DInfo): TensorInfo {
    const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
    const xSize = n * h * w * c;
    const dySize = n * oh * ow * c;
    const layout = new CallLayout(this.kernels);
    const xAt = layout.block(xSize);
    const dyAt = layout.block(dySize);
    const dxAt = layout.block(xSize);
    layout.commit();
    layout.view(xAt, xSize).set(heap(backend, x));
    layout.view(dyAt, dySize).set(heap(backend, dy));
    this.kernels.max_pool_backprop(
      xAt, dyAt, dxAt, n, h, w, c, oh, ow,
      info.effectiveFilterHeight, info.effectiveFilterWidth, info.strideHeight, info.strideWidth,
      info.padInfo.top, info.padInfo.left,
    );
    return output(backend, x.shape, layout.view(dxAt, xSize));
  }

  /** a·b for a viewed as [m, k] and b as [k, n]; the result takes `shape`. */
  matMul(backend: BackendWasm, a: TensorInfo, b: TensorInfo, m: number, k: number, n: number, shape: number[]): TensorInfo {
    const layout = new CallLayout(this.kernels);
    const aAt = layout.block(m * k);
    const bAt = layout.block(k * n);
    const cAt = layout.block(m * n);
    layout.commit();
    layout.view(aAt, m * k).set(heap(backend, a));
    layout.view(bAt, k * n).set(heap(backend, b));
    this.kernels.matmul(aAt, bAt, cAt, m, k, n);
    return output(backend, shape, layout.view(cAt, m * n));
  }

  /** Sums x, viewed as [rows, cols], over its rows; the result takes `shape`. */
  sumRows(backend: BackendWasm, x: TensorInfo, rows: number, cols: number, shape: number[]): TensorInfo {
    const layout = new CallLayout(this.kernels);
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

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * Compiles the module once per realm (asynchronously: a page's main thread
 * may not compile over 4 KB synchronously). False where wasm SIMD is
 * missing, and then the callers keep tfjs's own kernels.
 */
export function loadSimdKernels(): Promise<boolean> {
  loading ??= WebAssembly.instantiate(decodeBase64(SIMD_KERNELS_WASM_BASE64) as BufferSource).then(
    ({ instance }) => {
      loaded = new SimdKernels(instance.exports as unknown as KernelExports);
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
