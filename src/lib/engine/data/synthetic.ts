/**
 * The built-in data set: CIFAR-shaped images (32x32x3, 10 classes) drawn
 * procedurally from a seed, so the lab works with no download and every run
 * sees the same images for the same seed.
 *
 * The class is the shape family of one main object. Everything else is
 * nuisance that a net has to learn to ignore: position, size, aspect,
 * rotation, colours (class-tinted palettes that overlap between classes),
 * shading, textured backgrounds (including stripes, a class of their own),
 * small clutter shapes of any family, occluding bars and pixel noise. That
 * keeps accuracy climbing over many epochs instead of jumping to 100%.
 *
 * Each image has its own generator seeded from (seed, index), so the first n
 * images of a set do not depend on how many were asked for.
 */
import * as cifar from './cifar';
import { Rng, subSeed } from '../rng';
import type { RawImages } from './types';

// Module-level copies: some loaders (tsx, vitest) turn every read of an
// imported binding into a getter call, which dominates these pixel loops.
const IMAGE_SIZE = cifar.IMAGE_SIZE;
const BYTES_PER_IMAGE = cifar.BYTES_PER_IMAGE;
const PIXELS_PER_IMAGE = cifar.PIXELS_PER_IMAGE;

export const SYNTHETIC_CLASSES: readonly string[] = [
  'disc', 'ring', 'square', 'triangle', 'cross', 'stripes', 'checker', 'blob', 'star', 'crescent',
];
export const SYNTHETIC_NUM_CLASSES = SYNTHETIC_CLASSES.length;

/**
 * How much nuisance the images carry. `standard` is the set described
 * above, hard for the lab's narrow networks at classroom budgets; `easy`
 * draws the same ten shape families, larger and whole, on plain or
 * gradient backgrounds with no clutter or occluding bar and less noise, so
 * a narrow Conv-2 learns it in a minute while its colours and rotations
 * still leave pruning room to hurt.
 */
export const SYNTHETIC_DIFFICULTIES = ['standard', 'easy'] as const;
export type SyntheticDifficulty = (typeof SYNTHETIC_DIFFICULTIES)[number];

interface Nuisance {
  /** How many background textures to choose from (flat, gradient, blotches, stripes, value noise: the first n). */
  backgroundKinds: number;
  /** Range of the mix between the two background colours. */
  backgroundAmount: [number, number];
  /** Up to this many clutter shapes. */
  maxClutter: number;
  occluderChance: number;
  /** Main shape radius, pixels. */
  radius: [number, number];
  /** Centre margin as a share of the radius: below 1 the shape may be cut off by the edge. */
  margin: number;
  noise: [number, number];
}

// The standard numbers are the ones the set was first drawn with: its bytes must not change.
const NUISANCE: Record<SyntheticDifficulty, Nuisance> = {
  standard: {
    backgroundKinds: 5,
    backgroundAmount: [0.1, 0.5],
    maxClutter: 2,
    occluderChance: 0.15,
    radius: [6.5, 11.5],
    margin: 0.6,
    noise: [0.01, 0.06],
  },
  easy: {
    backgroundKinds: 2,
    backgroundAmount: [0.05, 0.3],
    maxClutter: 0,
    occluderChance: 0,
    radius: [9, 13],
    margin: 1,
    noise: [0.005, 0.02],
  },
};

const enum Family {
  Disc,
  Ring,
  Square,
  Triangle,
  Cross,
  Stripes,
  Checker,
  Blob,
  Star,
  Crescent,
}

type Rgb = [number, number, number];

interface Shape {
  family: Family;
  cx: number;
  cy: number;
  /** Half-extents in pixels along the shape's own axes. */
  rx: number;
  ry: number;
  cos: number;
  sin: number;
  color: Rgb;
  /** Second colour: the pattern's other colour, or the end of the shading ramp. */
  color2: Rgb;
  /** 0 = flat fill; otherwise how far the fill ramps toward color2. */
  shade: number;
  shadeDx: number;
  shadeDy: number;
  opacity: number;
  /** Family-specific: ring inner radius, crescent cut offset, star inner radius, pattern frequency. */
  a: number;
  b: number;
  c: number;
  d: number;
  /** Stripes / checker: the patch outline, disc (false) or square (true). */
  squarePatch: boolean;
}

function hsv(h: number, s: number, v: number): Rgb {
  const hue = ((h % 1) + 1) % 1;
  const i = Math.floor(hue * 6);
  const f = hue * 6 - i;
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  switch (i % 6) {
    case 0: return [v, t, p];
    case 1: return [q, v, p];
    case 2: return [p, v, t];
    case 3: return [p, q, v];
    case 4: return [t, p, v];
    default: return [v, p, q];
  }
}

function uniform(rng: Rng, low: number, high: number): number {
  return low + (high - low) * rng.next();
}

/** A brightness that differs from `from` by at least `gap`, so the shape stays visible. */
function contrastingValue(rng: Rng, from: number, gap: number): number {
  const canGoUp = from + gap <= 1;
  const canGoDown = from - gap >= 0;
  const up = canGoUp && (!canGoDown || rng.next() < 0.5);
  return up ? uniform(rng, from + gap, 1) : uniform(rng, 0, from - gap);
}

/**
 * A colour for a shape of `family`: the hue is centred on the class's own
 * hue but spread wide enough (and sometimes replaced by any hue) that colour
 * alone gives only a weak hint.
 */
function shapeColor(rng: Rng, family: Family, backgroundValue: number): Rgb {
  const hue = rng.next() < 0.25 ? rng.next() : family / SYNTHETIC_NUM_CLASSES + uniform(rng, -0.2, 0.2);
  return hsv(hue, uniform(rng, 0.35, 1), contrastingValue(rng, backgroundValue, 0.3));
}

/** Signed distance in the shape's unit frame (negative inside), for shapes that fit the unit disc. */
function signedDistance(shape: Shape, u: number, v: number): number {
  const au = Math.abs(u);
  const av = Math.abs(v);
  switch (shape.family) {
    case Family.Disc:
      return Math.sqrt(u * u + v * v) - 1;
    case Family.Ring: {
      const middle = (1 + shape.a) / 2;
      return Math.abs(Math.sqrt(u * u + v * v) - middle) - (1 - shape.a) / 2;
    }
    case Family.Square:
      return Math.max(au, av) - 0.82;
    case Family.Triangle: {
      // Equilateral, circumradius 1: three half-planes at inradius 0.5.
      const x = u * 0.95;
      const y = v * 0.95;
      return Math.max(-y, 0.866 * x + 0.5 * y, -0.866 * x + 0.5 * y) - 0.5;
    }
    case Family.Cross: {
      const arm = shape.a;
      return Math.min(Math.max(au - 0.95, av - arm), Math.max(au - arm, av - 0.95));
    }
    case Family.Stripes:
    case Family.Checker:
      return shape.squarePatch ? Math.max(au, av) - 0.85 : Math.sqrt(u * u + v * v) - 1;
    case Family.Blob: {
      const angle = Math.atan2(v, u);
      const radius = 0.8 * (1 + shape.a * Math.sin(2 * angle + shape.b) + shape.c * Math.sin(3 * angle + shape.d));
      return Math.sqrt(u * u + v * v) - radius;
    }
    case Family.Star: {
      const angle = Math.atan2(v, u);
      const spike = 0.5 + 0.5 * Math.cos(shape.b * angle);
      return Math.sqrt(u * u + v * v) - (shape.a + (1 - shape.a) * spike * spike);
    }
    case Family.Crescent: {
      const outer = Math.sqrt(u * u + v * v) - 1;
      const du = u - shape.a;
      const cut = Math.sqrt(du * du + v * v) - shape.b;
      return Math.max(outer, -cut);
    }
  }
}

/** How much of color2 to mix in at (u, v): the stripes/checker pattern or a shading ramp. */
function fillMix(shape: Shape, u: number, v: number, radius: number): number {
  switch (shape.family) {
    case Family.Stripes: {
      const s = 0.5 + 2 * Math.sin(u * radius * shape.a + shape.b);
      return s < 0 ? 0 : s > 1 ? 1 : s;
    }
    case Family.Checker: {
      const s = 0.5 + 2 * Math.sin(u * radius * shape.a + shape.b) * Math.sin(v * radius * shape.a + shape.c);
      return s < 0 ? 0 : s > 1 ? 1 : s;
    }
    default:
      if (shape.shade === 0) return 0;
      return shape.shade * (0.5 + 0.5 * (u * shape.shadeDx + v * shape.shadeDy));
  }
}

/** Alpha-blends an anti-aliased shape into a float RGB canvas (HWC, 0..1). */
function drawShape(canvas: Float32Array, shape: Shape): void {
  const reach = Math.max(shape.rx, shape.ry) + 1.5;
  const x0 = Math.max(0, Math.floor(shape.cx - reach));
  const x1 = Math.min(IMAGE_SIZE - 1, Math.ceil(shape.cx + reach));
  const y0 = Math.max(0, Math.floor(shape.cy - reach));
  const y1 = Math.min(IMAGE_SIZE - 1, Math.ceil(shape.cy + reach));
  // Distances come out in unit-frame lengths; the smaller half-extent turns
  // them into (roughly) pixels for a one-pixel anti-aliased edge.
  const pixelScale = Math.min(shape.rx, shape.ry);
  const [r1, g1, b1] = shape.color;
  const [r2, g2, b2] = shape.color2;
  for (let y = y0; y <= y1; y++) {
    const py = y + 0.5 - shape.cy;
    for (let x = x0; x <= x1; x++) {
      const px = x + 0.5 - shape.cx;
      const u = (shape.cos * px + shape.sin * py) / shape.rx;
      const v = (-shape.sin * px + shape.cos * py) / shape.ry;
      let alpha = 0.5 - signedDistance(shape, u, v) * pixelScale;
      if (alpha <= 0) continue;
      if (alpha > 1) alpha = 1;
      alpha *= shape.opacity;
      const mix = fillMix(shape, u, v, pixelScale);
      const i = (y * IMAGE_SIZE + x) * 3;
      canvas[i] += alpha * (r1 + mix * (r2 - r1) - canvas[i]);
      canvas[i + 1] += alpha * (g1 + mix * (g2 - g1) - canvas[i + 1]);
      canvas[i + 2] += alpha * (b1 + mix * (b2 - b1) - canvas[i + 2]);
    }
  }
}

function randomShape(rng: Rng, family: Family, cx: number, cy: number, radius: number, backgroundValue: number): Shape {
  const angle = rng.next() * 2 * Math.PI;
  const aspect = Math.exp(uniform(rng, -0.18, 0.18));
  const color = shapeColor(rng, family, backgroundValue);
  const isPattern = family === Family.Stripes || family === Family.Checker;
  // Pattern shapes need a second colour that stands out from the first.
  const color2 = isPattern
    ? hsv(rng.next(), uniform(rng, 0, 1), contrastingValue(rng, Math.max(...color), 0.3))
    : hsv(rng.next(), uniform(rng, 0, 1), uniform(rng, 0, 1));
  const shadeAngle = rng.next() * 2 * Math.PI;
  const shape: Shape = {
    family,
    cx,
    cy,
    rx: radius * aspect,
    ry: radius / aspect,
    cos: Math.cos(angle),
    sin: Math.sin(angle),
    color,
    color2,
    shade: rng.next() < 0.5 ? 0 : uniform(rng, 0.2, 0.6),
    shadeDx: Math.cos(shadeAngle),
    shadeDy: Math.sin(shadeAngle),
    opacity: rng.next() < 0.8 ? 1 : uniform(rng, 0.6, 1),
    a: 0,
    b: 0,
    c: 0,
    d: 0,
    squarePatch: rng.next() < 0.5,
  };
  switch (family) {
    case Family.Ring:
      shape.a = uniform(rng, 0.4, 0.68);
      break;
    case Family.Cross:
      shape.a = uniform(rng, 0.22, 0.4);
      break;
    case Family.Stripes:
    case Family.Checker:
      // Angular frequency in pixels: periods of about 3 to 5.5 px.
      shape.a = (2 * Math.PI) / uniform(rng, 3, 5.5);
      shape.b = rng.next() * 2 * Math.PI;
      shape.c = rng.next() * 2 * Math.PI;
      break;
    case Family.Blob:
      shape.a = uniform(rng, 0.08, 0.25);
      shape.b = rng.next() * 2 * Math.PI;
      shape.c = uniform(rng, 0.05, 0.2);
      shape.d = rng.next() * 2 * Math.PI;
      break;
    case Family.Star:
      shape.a = uniform(rng, 0.35, 0.55);
      shape.b = rng.next() < 0.7 ? 5 : 6;
      break;
    case Family.Crescent:
      shape.a = uniform(rng, 0.35, 0.6);
      shape.b = uniform(rng, 0.7, 0.9);
      break;
  }
  return shape;
}

/** Fills the canvas with one of several textures mixing two background colours. */
function drawBackground(canvas: Float32Array, rng: Rng, baseValue: number, nuisance: Nuisance): void {
  const colorA = hsv(rng.next(), uniform(rng, 0, 0.7), baseValue);
  const colorB = hsv(rng.next(), uniform(rng, 0, 0.7), Math.min(1, Math.max(0, baseValue + uniform(rng, -0.25, 0.25))));
  const amount = uniform(rng, ...nuisance.backgroundAmount);
  const kind = rng.int(nuisance.backgroundKinds);
  const angle = rng.next() * 2 * Math.PI;
  const dirX = Math.cos(angle);
  const dirY = Math.sin(angle);
  const frequency = (2 * Math.PI) / uniform(rng, 3.5, 12);
  const phase = rng.next() * 2 * Math.PI;
  const angle2 = rng.next() * 2 * Math.PI;
  const frequency2 = (2 * Math.PI) / uniform(rng, 10, 30);
  const phase2 = rng.next() * 2 * Math.PI;
  // Value noise: a coarse random grid, bilinearly upsampled.
  const grid = 5;
  const cells = new Float32Array(grid * grid);
  if (kind === 4) for (let i = 0; i < cells.length; i++) cells[i] = rng.next();
  for (let y = 0; y < IMAGE_SIZE; y++) {
    for (let x = 0; x < IMAGE_SIZE; x++) {
      let t: number;
      switch (kind) {
        case 0: // flat
          t = 0;
          break;
        case 1: // linear gradient
          t = 0.5 + 0.5 * ((x - 15.5) * dirX + (y - 15.5) * dirY) / 16;
          break;
        case 2: // soft blotches
          t = 0.5 + 0.25 * (Math.sin(frequency2 * (x * dirX + y * dirY) + phase) +
            Math.sin(frequency2 * (x * Math.cos(angle2) + y * Math.sin(angle2)) + phase2));
          break;
        case 3: // stripes, so stripes alone do not give the class away
          t = 0.5 + 0.5 * Math.sin(frequency * (x * dirX + y * dirY) + phase);
          break;
        default: {
          const gx = (x / (IMAGE_SIZE - 1)) * (grid - 1);
          const gy = (y / (IMAGE_SIZE - 1)) * (grid - 1);
          const ix = Math.min(grid - 2, Math.floor(gx));
          const iy = Math.min(grid - 2, Math.floor(gy));
          const fx = gx - ix;
          const fy = gy - iy;
          const top = cells[iy * grid + ix] * (1 - fx) + cells[iy * grid + ix + 1] * fx;
          const bottom = cells[(iy + 1) * grid + ix] * (1 - fx) + cells[(iy + 1) * grid + ix + 1] * fx;
          t = top * (1 - fy) + bottom * fy;
        }
      }
      t *= amount;
      const i = (y * IMAGE_SIZE + x) * 3;
      canvas[i] = colorA[0] + t * (colorB[0] - colorA[0]);
      canvas[i + 1] = colorA[1] + t * (colorB[1] - colorA[1]);
      canvas[i + 2] = colorA[2] + t * (colorB[2] - colorA[2]);
    }
  }
}

/** Small shapes of any family: distractors behind or over the main object. */
function clutterShape(rng: Rng, backgroundValue: number): Shape {
  const family = rng.int(SYNTHETIC_NUM_CLASSES) as Family;
  return randomShape(rng, family, uniform(rng, 0, IMAGE_SIZE), uniform(rng, 0, IMAGE_SIZE), uniform(rng, 1.5, 3), backgroundValue);
}

/** A thin bar across the image, partly hiding the main object. */
function occludingBar(rng: Rng, backgroundValue: number): Shape {
  const bar = randomShape(rng, Family.Square, uniform(rng, 6, 26), uniform(rng, 6, 26), 1, backgroundValue);
  bar.rx = uniform(rng, 10, 20);
  bar.ry = uniform(rng, 0.8, 1.6);
  bar.shade = 0;
  return bar;
}

/** Renders image `index` of the set `seed` into `out` at `offset` (HWC bytes). */
function renderImage(
  seed: number,
  index: number,
  label: Family,
  nuisance: Nuisance,
  canvas: Float32Array,
  out: Uint8Array,
  offset: number,
): void {
  const rng = new Rng((Math.imul(index + 1, 0x9e3779b1) ^ seed) >>> 0);
  const backgroundValue = uniform(rng, 0.08, 0.92);
  drawBackground(canvas, rng, backgroundValue, nuisance);

  const clutterCount = rng.int(nuisance.maxClutter + 1);
  const clutterInFront = rng.next() < 0.4;
  const clutter: Shape[] = [];
  for (let i = 0; i < clutterCount; i++) clutter.push(clutterShape(rng, backgroundValue));
  if (!clutterInFront) for (const shape of clutter) drawShape(canvas, shape);

  const radius = uniform(rng, ...nuisance.radius);
  // In the standard set centres may sit close enough to the edge to cut off up to ~40% of the shape.
  const margin = radius * nuisance.margin;
  const main = randomShape(
    rng,
    label,
    uniform(rng, margin, IMAGE_SIZE - margin),
    uniform(rng, margin, IMAGE_SIZE - margin),
    radius,
    backgroundValue,
  );
  drawShape(canvas, main);

  if (clutterInFront) for (const shape of clutter) drawShape(canvas, shape);
  if (rng.next() < nuisance.occluderChance) drawShape(canvas, occludingBar(rng, backgroundValue));

  const noise = uniform(rng, ...nuisance.noise);
  const contrast = uniform(rng, 0.75, 1.15);
  const brightness = uniform(rng, -0.08, 0.08);
  finishImage(canvas, out, offset, noise, contrast, brightness, (rng.next() * 4294967296) | 1);
}

/**
 * Contrast/brightness jitter and pixel noise, then quantisation to bytes. The
 * noise comes from an inline xorshift seeded by the image's generator: 3k
 * values per image would cost more through Rng than all the drawing. The two
 * 16-bit halves of each draw sum to a triangular variate, close enough to
 * Gaussian for sensor-like noise (scaled to standard deviation `noise`).
 */
function finishImage(
  canvas: Float32Array,
  out: Uint8Array,
  offset: number,
  noise: number,
  contrast: number,
  brightness: number,
  noiseSeed: number,
): void {
  const scale = (noise * Math.sqrt(6)) / 65535;
  const shift = 0.5 + brightness - noise * Math.sqrt(6);
  let state = noiseSeed | 0;
  for (let i = 0; i < BYTES_PER_IMAGE; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const value = (canvas[i] - 0.5) * contrast + shift + ((state & 0xffff) + (state >>> 16)) * scale;
    out[offset + i] = value <= 0 ? 0 : value >= 1 ? 255 : (value * 255 + 0.5) | 0;
  }
}

/**
 * `count` synthetic images with balanced labels (image i has class i mod 10).
 * Same (count, seed, difficulty) → the same bytes. The drawing is plain JS arithmetic,
 * identical on every V8 runtime (Node, Chromium, their workers); another
 * engine's Math.sin / atan2 could round the odd pixel differently.
 */
export function generateSynthetic(count: number, seed: number, difficulty: SyntheticDifficulty = 'standard'): RawImages {
  const nuisance = NUISANCE[difficulty];
  const images = new Uint8Array(count * BYTES_PER_IMAGE);
  const labels = new Uint8Array(count);
  const canvas = new Float32Array(PIXELS_PER_IMAGE * 3);
  const setSeed = subSeed(seed, 'synthetic');
  for (let i = 0; i < count; i++) {
    const label = (i % SYNTHETIC_NUM_CLASSES) as Family;
    labels[i] = label;
    renderImage(setSeed, i, label, nuisance, canvas, images, i * BYTES_PER_IMAGE);
  }
  return { images, labels, count, numClasses: SYNTHETIC_NUM_CLASSES };
}
