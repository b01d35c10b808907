import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/lib/engine/config';
import { CONFIRM_RUNS_ABOVE, expandSweep, parseSweep } from '../src/lib/engine/sweep/spec';

const dir = path.dirname(new URL(import.meta.url).pathname);

/**
 * Shipped configs by folder, and the name each file's config must carry: the classroom presets' names say they are presets.
 * The ownership configs keep the names their measured results in docs/measured/ were saved under, so only their validity is checked.
 */
const FOLDERS: { folder: string; expectedName?: (base: string) => string }[] = [
  { folder: '.', expectedName: (base) => base },
  { folder: 'presets', expectedName: (base) => `preset-${base}` },
  { folder: 'ownership' },
];

describe('shipped experiment configs', () => {
  for (const { folder, expectedName } of FOLDERS) {
    const files = readdirSync(path.join(dir, folder)).filter((f) => f.endsWith('.json'));
    it(`exist in ${folder}`, () => expect(files.length).toBeGreaterThan(0));
    for (const file of files) {
      it(`${path.join(folder, file)} is valid, named as its folder requires, and says how it was scaled`, () => {
        const config = parseConfig(JSON.parse(readFileSync(path.join(dir, folder, file), 'utf8')));
        if (expectedName) expect(config.name).toBe(expectedName(path.basename(file, '.json')));
        expect(config.description?.length ?? 0).toBeGreaterThan(40);
      });
    }
  }
});

describe('the EarlyBird and WORM configs, described as the paper\'s setting', () => {
  it('train with the reference augmentation (4-pixel padded crops and flips)', () => {
    const files = readdirSync(dir).filter((f) => /^(earlybird|worm)-.*\.json$/.test(f));
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const file of files) expect(parseConfig(JSON.parse(readFileSync(path.join(dir, file), 'utf8'))).data.augment, file).toBe(true);
  });
});

describe('shipped sweeps (experiments/sweeps)', () => {
  const files = readdirSync(path.join(dir, 'sweeps')).filter((f) => f.endsWith('.json'));
  for (const file of files) {
    it(`${file} is a valid sweep of at least two methods over seeds, named after its file, and says how it was scaled`, () => {
      const spec = parseSweep(JSON.parse(readFileSync(path.join(dir, 'sweeps', file), 'utf8')));
      expect(spec.name).toBe(path.basename(file, '.json'));
      expect(spec.description?.length ?? 0).toBeGreaterThan(40);
      expect(spec.arms.length).toBeGreaterThanOrEqual(2);
      expect(spec.seeds.length).toBeGreaterThanOrEqual(3);
      expect(expandSweep(spec).length).toBeLessThanOrEqual(CONFIRM_RUNS_ABOVE);
    });
  }
});
