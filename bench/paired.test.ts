/**
 * The paired lab/PyTorch comparison: ratios taken within pairs on fake
 * timings, the alternation of the rounds, and the PyTorch server's protocol
 * end to end on a tiny network where /usr/bin/python3 (or $PYTHON) has torch.
 * Part of `npm run bench:check`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { comparePairs, pairCase, runPairs, TorchServer, torchPython, type RoundPair, type TorchCaseSpec } from './paired';
import type { CaseRounds, RoundTiming } from './suite';

const BATCH = 10;

/** A round of `steps` steps at `imagesPerSecond` (and as many per CPU-second, times `cpuShare`). */
function timing(steps: number, imagesPerSecond: number, cpuShare: number | null = 1): RoundTiming {
  const seconds = (steps * BATCH) / imagesPerSecond;
  return { steps, seconds, cpuSeconds: cpuShare == null ? null : seconds * cpuShare };
}

/**
 * Pairs whose machine speed (a factor on both sides of a pair) drifts from
 * 0.6 to 1.4, with lab/PyTorch ratios `ratios`, PyTorch at 60 img/s at
 * speed 1; the lab's CPU-seconds are its wall seconds, PyTorch's 1.5 times.
 */
function driftingPairs(ratios: number[]): RoundPair[] {
  const speeds = [1, 0.6, 1.4, 0.8, 1.2, 0.7, 1.3, 0.9];
  return ratios.map((ratio, i) => ({
    labFirst: i % 2 === 0,
    lab: timing(3, 60 * ratio * speeds[i % speeds.length]),
    torch: timing(6, 60 * speeds[i % speeds.length], 1.5),
  }));
}

describe('comparePairs', () => {
  it('takes each ratio within its pair, so drift shared by a pair cancels', () => {
    const result = comparePairs(BATCH, 2, 1, driftingPairs([0.5, 0.5, 0.5, 0.5, 0.5, 0.5]));
    // Every pair's ratio is 0.5 whatever the speed; across pairs the rates moved by 2.3x.
    expect(result.ratio.median).toBeCloseTo(0.5, 12);
    expect(result.ratio.min).toBeCloseTo(0.5, 12);
    expect(result.ratio.max).toBeCloseTo(0.5, 12);
    expect(result.ratio.samples).toBe(6);
    expect(result.labImagesPerSecond.max / result.labImagesPerSecond.min).toBeCloseTo(1.4 / 0.6, 9);
    // Per CPU-second PyTorch used 1.5 CPU-s per wall second, so its CPU rate is 2/3 of its wall rate.
    expect(result.cpuRatio?.median).toBeCloseTo(0.75, 12);
    expect(result.labSteps).toBe(3);
    expect(result.torchSteps).toBe(6);
    expect(result.threads).toBe(2);
  });

  it('reports the median of the per-pair ratios with their min and max', () => {
    const result = comparePairs(BATCH, 1, 1, driftingPairs([0.4, 0.9, 0.5, 0.6, 0.45]));
    expect(result.ratio.median).toBeCloseTo(0.5, 12);
    expect(result.ratio.min).toBeCloseTo(0.4, 12);
    expect(result.ratio.max).toBeCloseTo(0.9, 12);
    const even = comparePairs(BATCH, 1, 1, driftingPairs([0.4, 0.9, 0.5, 0.6]));
    expect(even.ratio.median).toBeCloseTo(0.55, 12);
  });

  it('has no CPU ratio when a side has no CPU clock', () => {
    const pairs = driftingPairs([0.5, 0.5]);
    pairs[1] = { ...pairs[1], lab: { ...pairs[1].lab, cpuSeconds: null } };
    expect(comparePairs(BATCH, 1, 1, pairs).cpuRatio).toBeNull();
  });

  it('refuses no pairs', () => {
    expect(() => comparePairs(BATCH, 1, 1, [])).toThrow(/at least one pair/);
  });
});

describe('runPairs', () => {
  it('alternates which side goes first and keeps each pair its own two rounds', async () => {
    const calls: string[] = [];
    let clock = 0;
    const side = (name: string) => async (): Promise<RoundTiming> => {
      calls.push(name);
      return { steps: 1, seconds: ++clock, cpuSeconds: null };
    };
    const pairs = await runPairs(4, side('lab'), side('torch'));
    expect(calls).toEqual(['lab', 'torch', 'torch', 'lab', 'lab', 'torch', 'torch', 'lab']);
    expect(pairs.map((p) => p.labFirst)).toEqual([true, false, true, false]);
    // The seconds are the call numbers: pair i holds calls 2i+1 and 2i+2, in its order.
    expect(pairs.map((p) => [p.lab.seconds, p.torch.seconds])).toEqual([
      [1, 2],
      [4, 3],
      [5, 6],
      [8, 7],
    ]);
  });
});

const python = torchPython();
const torchMissing = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0;

/** Conv-4-BN-like in miniature: conv with BatchNorm, pool, dense. */
const TINY: TorchCaseSpec = {
  name: 'tiny@1',
  batch: 4,
  optimizer: 'sgd',
  layers: [{ type: 'conv', filters: 4, batchNorm: true }, { type: 'maxPool' }, { type: 'flatten' }, { type: 'dense', units: 10, relu: false }],
};

describe('the PyTorch server (torch_reference.py --serve)', () => {
  if (torchMissing) it.skip(`${python} has no torch, so the PyTorch server's protocol is not tested`, () => {});

  it.skipIf(torchMissing)('times rounds on request, survives a bad command, and pairs with the lab', async () => {
    const server = await TorchServer.start(python);
    try {
      expect(server.version).toMatch(/^\d+\.\d+/);
      const warm = await server.round(TINY, 1, 0);
      expect(warm.steps).toBe(0);
      const timed = await server.round(TINY, 1, 3);
      expect(timed.steps).toBe(3);
      // The round times the steps themselves: three of them (autograd alone costs tens of µs a
      // step) last far longer than the microseconds of an empty round.
      expect(timed.seconds).toBeGreaterThan(1e-4);
      expect(timed.seconds).toBeGreaterThan(10 * warm.seconds);
      expect(timed.cpuSeconds).toBeGreaterThan(0);
      await expect(server.round({ ...TINY, optimizer: 'lion' }, 1, 1)).rejects.toThrow(/could not run tiny@1: ValueError: unknown optimizer 'lion'/);
      // A fake lab at a fixed 1000 img/s: its rounds' steps and the pairs' count come back as asked.
      const lab: CaseRounds = {
        round: async (steps) => ({ steps, seconds: (steps * TINY.batch) / 1000, cpuSeconds: (steps * TINY.batch) / 1000 }),
        dispose: () => {},
      };
      const paired = await pairCase(lab, server, TINY, 1, 3, 0.02);
      expect(paired.pairs).toHaveLength(3);
      expect(paired.labSteps).toBe(5); // 0.02 s at 1000 img/s, batch 4
      expect(paired.torchSteps).toBeGreaterThanOrEqual(1);
      expect(paired.ratio.samples).toBe(3);
      expect(paired.ratio.median).toBeGreaterThan(0);
      expect(paired.cpuRatio?.median).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });

  it('stops a server that never answers a round and says so', async () => {
    // A stand-in "python" that greets like the server and then hangs.
    const folder = mkdtempSync(path.join(tmpdir(), 'lab-torch-'));
    const silent = path.join(folder, 'silent-python');
    writeFileSync(silent, '#!/bin/sh\necho \'{"torch": "0.0"}\'\nexec sleep 60\n', { mode: 0o755 });
    try {
      const server = await TorchServer.start(silent, 300);
      await expect(server.round(TINY, 1, 1)).rejects.toThrow(/gave no answer for tiny@1 within 0.3 s and was stopped/);
      await server.close();
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('says why when Python cannot start', async () => {
    await expect(TorchServer.start('/nonexistent/python3')).rejects.toThrow(/the PyTorch reference failed: .*ENOENT/);
  });
});
