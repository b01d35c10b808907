import { describe, expect, it } from 'vitest';
import type { RoundResult } from '../results';
import { runMetric, sweepEtaSeconds } from './record';
import { expandSweep, parseSweep } from './spec';
import { armDistribution, expectedBestCurve, rankings, summarizeSweep, winProbability, type SweepOutcome } from './stats';

const base = {
  method: 'imp',
  data: { source: 'synthetic', syntheticTrain: 300, syntheticTest: 100, validation: 50 },
  model: { arch: 'lenet-300-100', width: 0.1 },
  train: { lr: 0.002, iterations: 20, evalEvery: 10 },
  prune: { rounds: 1 },
};

const axisValues = (axis: object, sampleSeed = 1) => parseSweep({ base, axes: [{ path: 'train.lr', ...axis }], sampleSeed }).axes[0].values;

describe('sweep axes', () => {
  it('names an axis path the config schema lacks, and where the path runs into a value', () => {
    expect(() => parseSweep({ base, axes: [{ path: 'train.lrr', values: [1] }] })).toThrow(/axes\[0\]: "train\.lrr": train has no field "lrr"/);
    expect(() => parseSweep({ base, axes: [{ path: 'modle.width', values: [1] }] })).toThrow(/the config has no field "modle"/);
    expect(() => parseSweep({ base, axes: [{ path: 'train.lr.x', values: [1] }] })).toThrow(/train\.lr is a value, not a block/);
    expect(() => parseSweep({ base, axes: [{ path: 'train.__proto__', values: [1] }] })).toThrow(/train has no field "__proto__"/);
    expect(() => parseSweep({ base, axes: [{ path: 'seed', values: [1, 2] }] })).toThrow(/"seed" cannot be swept \(list the seeds in "seeds"\)/);
  });

  it('names a value the schema refuses with its path and value, before anything runs', () => {
    expect(() => parseSweep({ base, axes: [{ path: 'train.lr', values: [0.001, -1] }] })).toThrow(/axes\[0\]: train\.lr = -1 is refused \(method imp\): .*train\.lr:/);
    expect(() => parseSweep({ base, axes: [{ path: 'prune.rate.conv', values: [0.2, 1.5] }] })).toThrow(/prune\.rate\.conv = 1\.5 is refused/);
    expect(() => parseSweep({ base, axes: [{ path: 'model.arch', values: ['resnet'] }] })).toThrow(/model\.arch = "resnet" is refused/);
  });

  it('names other bad sweep input', () => {
    expect(() => parseSweep({ base, axes: [{ path: 'train.lr', values: [1], range: { min: 0, max: 1, steps: 2 } }] })).toThrow(/exactly one of "values", "range" or "random"/);
    expect(() => parseSweep({ base, methods: ['imp', 'magic'] })).toThrow(/methods\[1\]: unknown method "magic"/);
    expect(() => parseSweep({ base, methods: ['imp', { name: '../x', method: 'imp' }] })).toThrow(/methods\[1\]: name "\.\.\/x"/);
    expect(() => parseSweep({ base, axes: [{ path: 'train.lr', values: [1], methods: ['colt'] }] })).toThrow(/methods lists "colt", which is not one of the sweep's methods/);
    expect(() => parseSweep({ base: { ...base, model: { arch: 'x' } } })).toThrow(/base: Invalid experiment config: model\.arch/);
    expect(() => parseSweep({ base, axes: [{ path: 'train.lr', range: { min: 0, max: 1, steps: 3, scale: 'log' } }] })).toThrow(/a log scale needs min > 0/);
  });

  it('spaces a range evenly on a linear or log scale', () => {
    expect(axisValues({ range: { min: 0.001, max: 0.005, steps: 5 } })).toEqual([0.001, 0.002, 0.003, 0.004, 0.005]);
    expect(axisValues({ range: { min: 1e-4, max: 1e-2, steps: 3, scale: 'log' } })).toEqual([1e-4, 1e-3, 1e-2]);
    const rewind = parseSweep({ base, axes: [{ path: 'prune.rewindIteration', range: { min: 0, max: 3, steps: 7, integer: true } }] });
    expect(rewind.axes[0].values).toEqual([0, 1, 2, 3]);
  });

  it('draws random points from the sample seed: the same seed the same points, within the bounds', () => {
    const random = { random: { min: 1e-4, max: 1e-2, n: 4, scale: 'log' } };
    const first = axisValues(random, 7);
    expect(axisValues(random, 7)).toEqual(first);
    expect(axisValues(random, 8)).not.toEqual(first);
    expect(first).toHaveLength(4);
    for (const x of first as number[]) expect(x >= 1e-4 && x <= 1e-2).toBe(true);
  });
});

describe('sweep expansion', () => {
  it('runs every arm over its own axes and the seeds, adding the default config where the grid lacks it', () => {
    const spec = parseSweep({
      base,
      methods: ['imp', { name: 'imp-rewind', method: 'imp', set: { 'prune.rewindIteration': 5 } }],
      axes: [
        { path: 'train.lr', values: [0.001, 0.004] },
        { path: 'prune.rewindIteration', values: [5, 10], methods: ['imp-rewind'] },
      ],
      seeds: [1, 2],
    });
    const runs = expandSweep(spec);
    const imp = runs.filter((run) => run.arm === 'imp');
    // imp: the default lr 0.002 is not on the axis, so it is added: 3 points x 2 seeds.
    expect(imp.map((run) => [run.values['train.lr'], run.seed, run.isDefault])).toEqual([
      [0.002, 1, true],
      [0.002, 2, true],
      [0.001, 1, false],
      [0.001, 2, false],
      [0.004, 1, false],
      [0.004, 2, false],
    ]);
    // imp-rewind: (lr 0.002, rewind 5) is its default: 1 + 2 x 2 points, 2 seeds each.
    const rewind = runs.filter((run) => run.arm === 'imp-rewind');
    expect(rewind).toHaveLength(10);
    expect(rewind.filter((run) => run.isDefault).map((run) => run.values)).toEqual([
      { 'train.lr': 0.002, 'prune.rewindIteration': 5 },
      { 'train.lr': 0.002, 'prune.rewindIteration': 5 },
    ]);
    expect(rewind[4].config).toMatchObject({ method: 'imp', seed: 1, train: { lr: 0.001 }, prune: { rewindIteration: 10 } });
  });

  it('does not add a default point the grid already holds', () => {
    const runs = expandSweep(parseSweep({ base, axes: [{ path: 'train.lr', values: [0.001, 0.002] }], seeds: [1, 2, 3] }));
    expect(runs).toHaveLength(6);
    expect(runs.filter((run) => run.isDefault).map((run) => run.values['train.lr'])).toEqual([0.002, 0.002, 0.002]);
  });
});

const outcome = (arm: string, lr: number, seed: number, metric: number, isDefault = false): SweepOutcome => ({ arm, values: { 'train.lr': lr }, seed, metric, isDefault });

describe('sweep statistics (hand-computed)', () => {
  it('splits the spread into seed spread (pooled within configs) and hyperparameter spread (between config means)', () => {
    const arm = armDistribution('imp', [outcome('imp', 1, 1, 0.4), outcome('imp', 1, 2, 0.6), outcome('imp', 2, 1, 0.7), outcome('imp', 2, 2, 0.9)]);
    expect(arm.configs.map((c) => c.mean)).toEqual([0.5, 0.8]);
    // Within: 4 squares of 0.1 over 2 degrees of freedom; between: sd of 0.5 and 0.8.
    expect(arm.seedSpread).toBeCloseTo(Math.sqrt(0.04 / 2), 12);
    expect(arm.hyperSpread).toBeCloseTo(0.3 / Math.SQRT2, 12);
    expect([arm.min, arm.max, arm.mean]).toEqual([0.4, 0.9, 0.65]);
  });

  it('computes the expected best of n draws with replacement exactly', () => {
    // n = 2 from {1, 2, 3}: max 1 w.p. 1/9, 2 w.p. 3/9, 3 w.p. 5/9.
    const curve = expectedBestCurve([3, 1, 2], 3);
    expect(curve[0]).toBeCloseTo(2, 12);
    expect(curve[1]).toBeCloseTo(22 / 9, 12);
    expect(curve[2]).toBeCloseTo((1 * 1 + 2 * 7 + 3 * 19) / 27, 12);
  });

  it('counts P(A beats B) over all pairs, ties as a half', () => {
    expect(winProbability([1, 3], [2, 2])).toBe(0.5);
    expect(winProbability([3, 2], [2])).toBe(0.75);
    expect(winProbability([1], [2, 3])).toBe(0);
  });

  it('ranks at the default, median and best config and says where the ranking flips', () => {
    // imp: default 0.50, configs 0.50 / 0.60 / 0.70; colt: default 0.55, configs 0.55 / 0.58 / 0.65.
    const runs = [
      outcome('imp', 1, 1, 0.5, true),
      outcome('imp', 2, 1, 0.6),
      outcome('imp', 3, 1, 0.7),
      outcome('colt', 1, 1, 0.55, true),
      outcome('colt', 2, 1, 0.58),
      outcome('colt', 3, 1, 0.65),
    ];
    const summary = summarizeSweep(runs, ['imp', 'colt']);
    const ranked = summary.rankings;
    expect(ranked.default.map((r) => [r.method, r.metric])).toEqual([['colt', 0.55], ['imp', 0.5]]);
    expect(ranked.median.map((r) => [r.method, r.metric])).toEqual([['imp', 0.6], ['colt', 0.58]]);
    expect(ranked.best.map((r) => [r.method, r.metric, r.values])).toEqual([['imp', 0.7, { 'train.lr': 3 }], ['colt', 0.65, { 'train.lr': 3 }]]);
    expect(ranked.flips).toEqual([
      'The ranking flips: imp is behind colt at the default config (50.0% vs 55.0%), ahead of colt at the median config (60.0% vs 58.0%), ahead of colt at the best (tuned) config (70.0% vs 65.0%).',
    ]);
    // Pairs: imp 0.5 beats none of colt's; 0.6 beats 0.55 and 0.58; 0.7 beats all three: 5 of 9.
    expect(summary.pairwise).toHaveLength(1);
    expect(summary.pairwise[0].pAWins).toBeCloseTo(5 / 9, 12);
    expect(summary.pairwise[0].tunedGap).toBeCloseTo(0.05, 12);
    expect(summary.expectedBest.imp[0]).toBeCloseTo(0.6, 12);
    expect(summary.expectedBest.colt).toHaveLength(3);
  });

  it('says when no ranking flips', () => {
    const distributions = [armDistribution('a', [outcome('a', 1, 1, 0.7, true), outcome('a', 2, 1, 0.8)]), armDistribution('b', [outcome('b', 1, 1, 0.5, true), outcome('b', 2, 1, 0.6)])];
    const ranked = rankings(distributions);
    expect(ranked.flips).toEqual([]);
    expect(ranked.text).toMatch(/No ranking flips/);
    expect(ranked.text).toMatch(/At the default config: a 70\.0% > b 50\.0%\./);
  });
});

describe('sweep metric', () => {
  const round = (sparsity: number, testAccuracy: number, testAccuracyAtEarlyStop: number | null = null) =>
    ({ round: 0, sparsity, testAccuracy, testAccuracyAtEarlyStop }) as RoundResult;
  const rounds = [round(0, 0.4, 0.41), round(0.2, 0.5, 0.45), round(0.36, 0.45, 0.48)];

  it('reads the last round, or the round nearest the weights remaining asked for', () => {
    expect(runMetric(rounds, { earlyStop: false })).toEqual({ value: 0.45, remaining: 64 });
    expect(runMetric(rounds, { remaining: 0.75, earlyStop: false })).toEqual({ value: 0.5, remaining: 80 });
    expect(runMetric(rounds, { remaining: 0.75, earlyStop: true })).toEqual({ value: 0.45, remaining: 80 });
    expect(runMetric([], { earlyStop: false })).toBeNull();
  });
});

describe('sweep ETA', () => {
  it('is the mean time of the finished runs times the runs left, over the jobs; none before a run has finished', () => {
    expect(sweepEtaSeconds([], 5)).toBeNull();
    expect(sweepEtaSeconds([], 0)).toBe(0);
    expect(sweepEtaSeconds([10, 20], 4)).toBe(60);
    expect(sweepEtaSeconds([10, 20], 4, 2)).toBe(30);
  });
});
