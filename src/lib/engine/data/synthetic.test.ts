import { describe, expect, it } from 'vitest';
import { BYTES_PER_IMAGE } from './cifar';
import { createHash } from 'node:crypto';
import { SYNTHETIC_CLASSES, generateSynthetic } from './synthetic';

describe('generateSynthetic', () => {
  it('is deterministic: same seed, same bytes and labels', () => {
    const a = generateSynthetic(50, 7);
    const b = generateSynthetic(50, 7);
    expect(a.count).toBe(50);
    expect(a.images.length).toBe(50 * BYTES_PER_IMAGE);
    expect(Buffer.from(a.images).equals(Buffer.from(b.images))).toBe(true);
    expect([...a.labels]).toEqual([...b.labels]);
  });

  it('gives different images for a different seed', () => {
    const a = generateSynthetic(20, 7);
    const b = generateSynthetic(20, 8);
    let differing = 0;
    for (let i = 0; i < a.images.length; i++) if (a.images[i] !== b.images[i]) differing++;
    expect(differing / a.images.length).toBeGreaterThan(0.9);
  });

  it('keeps the first images when more are asked for', () => {
    const small = generateSynthetic(13, 3);
    const large = generateSynthetic(40, 3);
    expect(Buffer.from(large.images.subarray(0, small.images.length)).equals(Buffer.from(small.images))).toBe(true);
  });

  it('balances the ten classes', () => {
    const raw = generateSynthetic(1000, 1);
    expect(raw.numClasses).toBe(10);
    expect(SYNTHETIC_CLASSES).toHaveLength(10);
    const perClass = new Array(10).fill(0);
    for (const label of raw.labels) perClass[label]++;
    expect(perClass).toEqual(new Array(10).fill(100));
  });

  it('makes varied, non-degenerate images', () => {
    const raw = generateSynthetic(200, 2);
    // Every image uses a real range of values, and no two images are equal.
    const seen = new Set<string>();
    for (let i = 0; i < raw.count; i++) {
      const image = raw.images.subarray(i * BYTES_PER_IMAGE, (i + 1) * BYTES_PER_IMAGE);
      let min = 255;
      let max = 0;
      for (const v of image) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
      expect(max - min).toBeGreaterThan(40);
      seen.add(Buffer.from(image).toString('base64'));
    }
    expect(seen.size).toBe(raw.count);
    // The whole set spans the byte range with a mid-range mean.
    const mean = raw.images.reduce((s, v) => s + v, 0) / raw.images.length;
    expect(mean).toBeGreaterThan(70);
    expect(mean).toBeLessThan(185);
  });

  it('draws the standard set as it always did, whether or not its difficulty is named', () => {
    // SHA-256 of these bytes from the generator before difficulties existed (commit e4e34ba).
    const before = '62a8c267cddbdcc5443d6124cb3a19fd7b78742beddeed34730a6d561a5fcf19';
    const sha = (images: Uint8Array) => createHash('sha256').update(images).digest('hex');
    expect(sha(generateSynthetic(300, 12345).images)).toBe(before);
    expect(sha(generateSynthetic(300, 12345, 'standard').images)).toBe(before);
  });

  it('draws the easy set deterministically, with the same labels as the standard set but other images', () => {
    const easy = generateSynthetic(60, 7, 'easy');
    const again = generateSynthetic(60, 7, 'easy');
    const standard = generateSynthetic(60, 7);
    expect(Buffer.from(easy.images).equals(Buffer.from(again.images))).toBe(true);
    expect([...easy.labels]).toEqual([...standard.labels]);
    let differing = 0;
    for (let i = 0; i < easy.images.length; i++) if (easy.images[i] !== standard.images[i]) differing++;
    expect(differing / easy.images.length).toBeGreaterThan(0.5);
  });

  it('keeps the easy set\'s main shape whole and its noise low: neighbouring pixels differ less than in the standard set', () => {
    // Mean absolute difference between horizontal neighbours: clutter, textures, bars and noise all raise it.
    const roughness = (images: Uint8Array) => {
      let sum = 0;
      let count = 0;
      for (let i = 3; i < images.length; i++) {
        if ((i / 3) % 32 < 1) continue;
        sum += Math.abs(images[i] - images[i - 3]);
        count++;
      }
      return sum / count;
    };
    expect(roughness(generateSynthetic(200, 2, 'easy').images)).toBeLessThan(0.7 * roughness(generateSynthetic(200, 2).images));
  });
});
