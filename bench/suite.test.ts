/**
 * Smoke test of the benchmark suite: Node, wasm, quick mode, tiny models.
 * Checks the shape of the report, never the speed: timings and their ratios
 * are what `npm run bench` reports. Not part of `npm run test:unit`:
 *
 *   npm run bench:check
 */
import { describe, expect, it } from 'vitest';
import { benchBackend, benchPruning, caseRounds, defaultOptions, isStat, type BenchOptions, type Measurement } from './suite';

const options: BenchOptions = {
  ...defaultOptions(true, () => {}),
  cases: [
    { arch: 'lenet-300-100', width: 0.1, batch: 8, optimizer: 'adam', masked: true },
    { arch: 'conv-4-bn', width: 0.0625, batch: 4, optimizer: 'sgd', masked: false },
  ],
};

function expectPositiveStat(m: Measurement | null): void {
  expect(isStat(m)).toBe(true);
  if (!isStat(m)) return;
  expect(m.samples).toBeGreaterThan(0);
  expect(m.min).toBeGreaterThan(0);
  expect(m.min).toBeLessThanOrEqual(m.median);
  expect(m.median).toBeLessThanOrEqual(m.max);
}

describe('bench suite', () => {
  it('measures training, masking, evaluation and memory on wasm', async () => {
    const report = await benchBackend('wasm', options);
    expect(report.skipped).toBeNull();
    expect(report.info?.backend).toBe('wasm');
    expect(report.cases).toHaveLength(2);
    const [lenet, conv] = report.cases;
    for (const c of report.cases) {
      expectPositiveStat(c.trainImagesPerSecond);
      // Node has a process CPU clock.
      expectPositiveStat(c.trainCpuImagesPerSecond);
      expectPositiveStat(c.evalImagesPerSecond);
      expect(c.evalImages).toBeGreaterThanOrEqual(c.batch);
      expect(c.memory?.peakBytes).toBeGreaterThan(0);
      expect(c.memory?.peakTensors).toBeGreaterThan(0);
    }
    expectPositiveStat(lenet.maskedImagesPerSecond);
    expectPositiveStat(lenet.maskedOverDense);
    expectPositiveStat(lenet.maskCostOverDense);
    expect(conv.maskedOverDense).toBeNull();
    expect(conv.maskCostOverDense).toBeNull();
  });

  it('times rounds of a case for the paired PyTorch comparison', async () => {
    await benchBackend('wasm', { ...options, cases: [] });
    const rounds = await caseRounds(options.cases[1]);
    try {
      const timing = await rounds.round(3);
      expect(timing.steps).toBe(3);
      expect(timing.seconds).toBeGreaterThan(0);
      expect(timing.cpuSeconds).toBeGreaterThan(0);
    } finally {
      rounds.dispose();
    }
  });

  it('times global and layer-wise pruning', async () => {
    const report = await benchPruning('lenet-300-100', 0.1, options);
    expect(report.weights).toBeGreaterThan(0);
    expectPositiveStat(report.globalMs);
    expectPositiveStat(report.layerwiseMs);
  });
});
