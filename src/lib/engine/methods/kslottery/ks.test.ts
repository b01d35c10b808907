import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../rng';
import { effectiveSize, kolmogorovSf, ksStatistic, ksTwoSample, roundHalfEven } from './ks';

const sines = (n: number, step: number, shift: number) => Array.from({ length: n }, (_, i) => Math.sin(i * step) + shift);

const shuffled = (values: Float32Array, rng: Rng) => rng.shuffle(values.slice());

function normals(n: number, rng: Rng, mean = 0, std = 1): Float32Array {
  return Float32Array.from({ length: n }, () => mean + std * rng.normal());
}

describe('two-sample KS statistic', () => {
  it('is 0 for a row that did not change', () => {
    const row = normals(288, new Rng(3));
    expect(ksStatistic(row, row.slice())).toBe(0);
    expect(ksTwoSample(row, row).pValue).toBe(1);
  });

  it('does not move when a row’s values are shuffled: it sees the distribution, not which coordinate moved', () => {
    const rng = new Rng(5);
    const before = normals(288, rng);
    const after = normals(288, rng, 0.1, 1.2);
    const d = ksStatistic(before, after);
    expect(d).toBeGreaterThan(0);
    expect(ksStatistic(shuffled(before, rng), shuffled(after, rng))).toBe(d);
    // A row whose values were permuted has not "shifted" at all.
    expect(ksStatistic(before, shuffled(before, rng))).toBe(0);
  });

  it('counts ties as SciPy does (right-continuous CDFs)', () => {
    expect(ksStatistic([1, 1, 2, 2], [1, 2, 2, 2])).toBe(0.25);
    expect(ksStatistic([0, 0, 0], [1, 1])).toBe(1);
  });
});

describe('p-value: SciPy ks_2samp(method="asymp"), two-sided', () => {
  it('rounds the effective size half to even, as NumPy', () => {
    expect(roundHalfEven(13.5)).toBe(14);
    expect(roundHalfEven(12.5)).toBe(12);
    expect(effectiveSize(27, 27)).toBe(14);
    expect(effectiveSize(300, 200)).toBe(120);
  });

  // Reference values printed by SciPy 1.17.1: ks_2samp(a, b, method='asymp') on these vectors.
  const references: [n1: number, n2: number, shift: number, d: number, p: number][] = [
    [27, 27, 0.0, 0.07407407407407413, 0.9999807216913166],
    [27, 27, 0.4, 0.33333333333333337, 0.06888095312126863],
    [288, 288, 0.1, 0.1423611111111111, 0.005213205229702385],
    [300, 200, 0.15, 0.17500000000000004, 0.0011009976788251712],
    [2048, 2048, 0.05, 0.10400390625, 4.254076787203892e-10],
    [9, 4, 0.5, 0.5, 0.3333333333333333],
  ];
  for (const [n1, n2, shift, d, p] of references) {
    it(`matches the fixed SciPy reference for n = ${n1}, m = ${n2}, shift ${shift}`, () => {
      const result = ksTwoSample(sines(n1, 1.7, 0), sines(n2, 1.3, shift));
      expect(result.statistic).toBeCloseTo(d, 12);
      expect(Math.abs(result.pValue - p)).toBeLessThan(1e-9);
    });
  }

  it('covers each region of the Kolmogorov distribution (Ruben-Gambino, Durbin, Smirnov, Pelz-Good)', () => {
    // SciPy 1.17.1 kstwo.sf(x, n).
    expect(Math.abs(kolmogorovSf(14, 0.05) - 0.9999999999789402)).toBeLessThan(1e-12);
    expect(Math.abs(kolmogorovSf(14, 0.06) - 0.999999964539845)).toBeLessThan(1e-12);
    expect(Math.abs(kolmogorovSf(144, 0.2) - 1.5915512157346206e-5)).toBeLessThan(1e-12);
    expect(Math.abs(kolmogorovSf(1024, 0.03) - 0.3092041034877807)).toBeLessThan(1e-9);
    expect(Math.abs(kolmogorovSf(2048, 0.01) - 0.9853756270721316)).toBeLessThan(1e-9);
    expect(Math.abs(kolmogorovSf(5, 0.9) - 1.9999999999999978e-5)).toBeLessThan(1e-15);
  });

  const python = spawnSync('python3', ['-c', 'import scipy.stats'], { encoding: 'utf8' });
  if (python.status !== 0) {
    it.skip('python3 with SciPy is not available here, so the live comparison with scipy.stats.ks_2samp is skipped (the fixed references above still run)', () => {});
  } else {
    it('agrees with scipy.stats.ks_2samp on exported rows to 1e-6', () => {
      const rng = new Rng(11);
      // Row lengths of the lab's rows: first conv (27), conv at width 0.5 (288), dense (hundreds to thousands); unequal pairs too.
      const cases: [number[], number[]][] = [];
      for (const n of [27, 54, 144, 288, 576, 1024]) {
        for (const shift of [0, 0.02, 0.1, 0.3]) {
          const before = normals(n, rng, 0, 0.1);
          const after = Float32Array.from(before, (v) => v + shift * 0.1 * (rng.next() - 0.3));
          cases.push([Array.from(before), Array.from(after)]);
        }
      }
      cases.push([Array.from(normals(300, rng)), Array.from(normals(200, rng, 0.2))]);
      const dir = mkdtempSync(join(tmpdir(), 'ks-'));
      try {
        const file = join(dir, 'rows.json');
        writeFileSync(file, JSON.stringify(cases));
        const script =
          'import json, sys\nfrom scipy.stats import ks_2samp\n' +
          "print(json.dumps([[float(r.statistic), float(r.pvalue)] for r in (ks_2samp(a, b, method='asymp') for a, b in json.load(open(sys.argv[1])))]))";
        const run = spawnSync('python3', ['-c', script, file], { encoding: 'utf8' });
        expect(run.status, run.stderr).toBe(0);
        const scipy = JSON.parse(run.stdout) as [number, number][];
        cases.forEach(([a, b], i) => {
          const ours = ksTwoSample(a, b);
          expect(ours.statistic).toBeCloseTo(scipy[i][0], 12);
          expect(Math.abs(ours.pValue - scipy[i][1]), `case ${i}: ours ${ours.pValue}, SciPy ${scipy[i][1]}`).toBeLessThan(1e-6);
        });
        // The cases span significant and non-significant rows.
        expect(scipy.some(([, p]) => p < 0.05) && scipy.some(([, p]) => p > 0.5)).toBe(true);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
