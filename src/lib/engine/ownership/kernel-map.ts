/**
 * A conv layer's kernel connectivity map: one bit per 3x3 kernel, on when
 * any of its mask entries is kept. Row = output filter, column = input
 * channel, as K[o, i] in Chen et al. Masks keep tfjs's kernel layout
 * [h, w, in, out], so kernel (o, i) is every (kh, kw) at index
 * ((kh * w + kw) * in + i) * out + o.
 */
import type { SavedMask } from '../checkpoint';

export interface KernelMap {
  /** Output filters. */
  rows: number;
  /** Input channels. */
  cols: number;
  /** Row-major, 1 = the kernel keeps at least one weight. */
  on: Uint8Array;
}

export function isConvMask(mask: SavedMask): boolean {
  return mask.shape.length === 4;
}

/** Index of weight (kh*w + kw) of kernel (o, i) in the mask. */
export function weightIndex(shape: readonly number[], o: number, i: number, tap: number): number {
  const [, , inChannels, outChannels] = shape;
  return (tap * inChannels + i) * outChannels + o;
}

export function tapsOf(shape: readonly number[]): number {
  return shape[0] * shape[1];
}

/** Kept weights of kernel (o, i). */
export function keptInKernel(mask: SavedMask, o: number, i: number): number {
  let kept = 0;
  for (let tap = 0; tap < tapsOf(mask.shape); tap++) kept += mask.keep[weightIndex(mask.shape, o, i, tap)];
  return kept;
}

export function kernelMap(mask: SavedMask): KernelMap {
  if (!isConvMask(mask)) throw new Error(`A kernel map needs a conv mask [h, w, in, out], got shape [${mask.shape.join(', ')}]`);
  const [, , cols, rows] = mask.shape;
  const on = new Uint8Array(rows * cols);
  const taps = tapsOf(mask.shape);
  for (let tap = 0; tap < taps; tap++) {
    for (let i = 0; i < cols; i++) {
      const base = (tap * cols + i) * rows;
      for (let o = 0; o < rows; o++) if (mask.keep[base + o]) on[o * cols + i] = 1;
    }
  }
  return { rows, cols, on };
}

/**
 * The size x size window of `map` at (row, col) as QR modules: 1 = dark =
 * the kernel is pruned.
 */
export function darkWindow(map: KernelMap, row: number, col: number, size: number): Uint8Array {
  const dark = new Uint8Array(size * size);
  for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) dark[r * size + c] = map.on[(row + r) * map.cols + col + c] ? 0 : 1;
  return dark;
}
