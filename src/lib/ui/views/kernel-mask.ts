/**
 * Kernel-level view of a conv layer's mask: how many of each (input
 * channel, output filter) kernel's h×w weights survive. One pass over the
 * mask, so Conv-6's 256×256-kernel layers cost a few hundred thousand adds.
 */

export interface KernelSurvival {
  /** Weights per kernel (h × w). */
  kernelSize: number;
  inputs: number;
  filters: number;
  /** Surviving weights per kernel, laid out [input][filter] like the kernel's last two axes. */
  kept: Uint16Array;
  /** Output filters with at least one surviving weight. */
  filtersAlive: number;
  /** 1 where every weight of the output filter is pruned, by filter. */
  deadFilters: Uint8Array;
  kernelsAlive: number;
  weightsAlive: number;
}

/** `shape` is the tfjs conv kernel layout [h, w, in, out]; `keep` is 1 for a surviving weight. */
export function kernelSurvival(shape: number[], keep: Uint8Array): KernelSurvival {
  if (shape.length !== 4) throw new Error(`A conv kernel mask has 4 axes [h, w, in, out], not [${shape.join(', ')}]`);
  const [height, width, inputs, filters] = shape;
  const kernels = inputs * filters;
  const kernelSize = height * width;
  if (keep.length !== kernelSize * kernels) throw new Error(`Mask of ${keep.length} weights does not fit shape [${shape.join(', ')}]`);

  const kept = new Uint16Array(kernels);
  for (let position = 0; position < kernelSize; position++) {
    const offset = position * kernels;
    for (let k = 0; k < kernels; k++) kept[k] += keep[offset + k];
  }

  const filterWeights = new Uint32Array(filters);
  let kernelsAlive = 0;
  let weightsAlive = 0;
  for (let k = 0; k < kernels; k++) {
    const count = kept[k];
    if (count === 0) continue;
    kernelsAlive++;
    weightsAlive += count;
    filterWeights[k % filters] += count;
  }
  const deadFilters = filterWeights.map((count) => (count === 0 ? 1 : 0));
  const filtersAlive = filters - deadFilters.reduce((a, b) => a + b, 0);
  return { kernelSize, inputs, filters, kept, filtersAlive, deadFilters: Uint8Array.from(deadFilters), kernelsAlive, weightsAlive };
}

export type Rgb = [number, number, number];

export interface KernelPalette {
  background: Rgb;
  /** A kernel with all its weights. */
  alive: Rgb;
  /** A kernel with no weights left, in a filter that still has some. */
  prunedKernel: Rgb;
  /** Every kernel of a filter with no weights left at all. */
  deadFilter: Rgb;
}

function mix(from: Rgb, to: Rgb, amount: number): Rgb {
  return [0, 1, 2].map((i) => Math.round(from[i] + (to[i] - from[i]) * amount)) as Rgb;
}

/** "#1f2328" or "#fff" → [31, 35, 40]; anything else → mid grey, which reads on both themes. */
export function hexToRgb(color: string): Rgb {
  const hex = color.trim().replace(/^#/, '');
  const full = hex.length === 3 ? [...hex].map((c) => c + c).join('') : hex;
  if (!/^[0-9a-f]{6}$/i.test(full)) return [128, 128, 128];
  return [0, 2, 4].map((i) => parseInt(full.slice(i, i + 2), 16)) as Rgb;
}

/** A kernel's colour: pruned and dead-filter colours are distinct; any survivor shows at least a quarter of the alive colour. */
export function kernelColor(keptWeights: number, kernelSize: number, filterDead: boolean, palette: KernelPalette): Rgb {
  if (filterDead) return palette.deadFilter;
  if (keptWeights === 0) return palette.prunedKernel;
  return mix(palette.background, palette.alive, 0.25 + (0.75 * keptWeights) / kernelSize);
}

/** One pixel per kernel (x: output filter, y: input channel), for scaling up onto the view's canvas. */
export function kernelPixels(survival: KernelSurvival, palette: KernelPalette): Uint8ClampedArray<ArrayBuffer> {
  const { inputs, filters, kept, kernelSize, deadFilters } = survival;
  const pixels = new Uint8ClampedArray(inputs * filters * 4);
  // Kernels share a few colours: look each (count, dead) pair up once.
  const shades = Array.from({ length: kernelSize + 1 }, (_, count) => kernelColor(count, kernelSize, false, palette));
  for (let k = 0; k < kept.length; k++) {
    const [r, g, b] = deadFilters[k % filters] ? palette.deadFilter : shades[kept[k]];
    pixels[4 * k] = r;
    pixels[4 * k + 1] = g;
    pixels[4 * k + 2] = b;
    pixels[4 * k + 3] = 255;
  }
  return pixels;
}

/** The palette for a theme: mixes with the page background so cells read on light and dark pages alike. */
export function kernelPalette(background: string, text: string): KernelPalette {
  const page = hexToRgb(background);
  return {
    background: page,
    alive: hexToRgb('#2f7fe0'),
    prunedKernel: mix(page, hexToRgb(text), 0.12),
    deadFilter: mix(page, hexToRgb('#d64545'), 0.8),
  };
}

export function rgbCss([r, g, b]: Rgb): string {
  return `rgb(${r}, ${g}, ${b})`;
}
