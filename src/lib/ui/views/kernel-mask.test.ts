import { describe, expect, it } from 'vitest';
import { hexToRgb, kernelColor, kernelPalette, kernelPixels, kernelSurvival } from './kernel-mask';

/** A [h, w, in, out] mask built from a function of (y, x, input, filter). */
function mask(shape: number[], keep: (y: number, x: number, input: number, filter: number) => boolean): Uint8Array {
  const [h, w, inputs, filters] = shape;
  const out = new Uint8Array(h * w * inputs * filters);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < inputs; c++) for (let o = 0; o < filters; o++) out[((y * w + x) * inputs + c) * filters + o] = keep(y, x, c, o) ? 1 : 0;
  return out;
}

describe('kernel survival', () => {
  it('counts each (input, filter) kernel’s surviving weights in the tfjs [h, w, in, out] layout', () => {
    const shape = [3, 3, 2, 3];
    // Filter 0: input 0 keeps its centre only, input 1 keeps all 9. Filter 1: nothing. Filter 2: input 1 keeps the top row.
    const keep = mask(shape, (y, x, c, o) => (o === 0 && (c === 1 || (y === 1 && x === 1))) || (o === 2 && c === 1 && y === 0));
    const survival = kernelSurvival(shape, keep);
    expect(survival.kernelSize).toBe(9);
    expect([...survival.kept]).toEqual([1, 0, 0, 9, 0, 3]);
    expect(survival.kernelsAlive).toBe(3);
    expect(survival.weightsAlive).toBe(13);
    expect(survival.filtersAlive).toBe(2);
    expect([...survival.deadFilters]).toEqual([0, 1, 0]);
  });

  it('handles a Conv-6-sized layer (256×256 kernels) in one pass', () => {
    const shape = [3, 3, 256, 256];
    const keep = new Uint8Array(3 * 3 * 256 * 256).fill(1);
    const survival = kernelSurvival(shape, keep);
    expect(survival.kernelsAlive).toBe(65536);
    expect(survival.weightsAlive).toBe(keep.length);
    expect(survival.filtersAlive).toBe(256);
  });

  it('rejects a mask that is not a conv kernel', () => {
    expect(() => kernelSurvival([10, 5], new Uint8Array(50))).toThrow(/4 axes/);
    expect(() => kernelSurvival([3, 3, 1, 1], new Uint8Array(8))).toThrow(/does not fit/);
  });
});

describe('kernel colours', () => {
  const light = kernelPalette('#ffffff', '#1f2328');
  const dark = kernelPalette('#15181d', '#e6e8eb');

  it('keep pruned kernels, dead filters and surviving kernels apart, in both themes', () => {
    for (const palette of [light, dark]) {
      const pruned = kernelColor(0, 9, false, palette);
      const dead = kernelColor(0, 9, true, palette);
      const one = kernelColor(1, 9, false, palette);
      const full = kernelColor(9, 9, false, palette);
      expect(new Set([pruned, dead, one, full].map(String)).size).toBe(4);
      expect(full).toEqual(palette.alive);
      // More survivors, further from the page background.
      const distance = (c: number[]) => c.reduce((sum, v, i) => sum + Math.abs(v - palette.background[i]), 0);
      expect(distance(full)).toBeGreaterThan(distance(one));
      expect(distance(one)).toBeGreaterThan(distance(pruned));
    }
  });

  it('paint one pixel per kernel, whole columns for dead filters', () => {
    const shape = [1, 1, 2, 2];
    const survival = kernelSurvival(shape, Uint8Array.from([1, 0, 0, 0])); // input 0 → filter 0 kept; filter 1 dead
    const pixels = kernelPixels(survival, light);
    const at = (k: number) => [...pixels.slice(4 * k, 4 * k + 3)];
    expect(at(0)).toEqual(light.alive);
    expect(at(1)).toEqual(light.deadFilter);
    expect(at(2)).toEqual(light.prunedKernel);
    expect(at(3)).toEqual(light.deadFilter);
  });

  it('read hex colours', () => {
    expect(hexToRgb('#1f2328')).toEqual([31, 35, 40]);
    expect(hexToRgb('#fff')).toEqual([255, 255, 255]);
    expect(hexToRgb('rgba(1,2,3,0.5)')).toEqual([128, 128, 128]);
  });
});
