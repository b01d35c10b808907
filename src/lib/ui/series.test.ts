import { describe, expect, it } from 'vitest';
import { parseConfig, type ExperimentConfigInput } from '../engine/config';
import type { RoundResult } from '../engine/results';
import { accuracyLines } from './series';

function round(index: number, testAccuracy: number): RoundResult {
  return {
    round: index,
    sparsity: 1 - 0.8 ** index,
    layers: [],
    testAccuracy,
    earlyStopIteration: 10,
    testAccuracyAtEarlyStop: testAccuracy - 0.01,
    trainSeconds: 1,
    iterations: 10,
    imagesPerSecond: 100,
    curve: [],
  };
}

function run(id: string, config: ExperimentConfigInput, ticket: number[], randomReinit?: number[]) {
  const rounds: Record<string, RoundResult[]> = { ticket: ticket.map((a, i) => round(i, a)) };
  if (randomReinit) rounds.randomReinit = randomReinit.map((a, i) => round(i, a));
  return { id, name: config.name ?? id, config: parseConfig(config), rounds };
}

describe('accuracyLines', () => {
  it('draws each run and series as its own line, labelled by run and series', () => {
    const lines = accuracyLines([
      run('a', { name: 'first', method: 'imp' }, [0.3, 0.32], [0.3, 0.25]),
      run('b', { name: 'second', method: 'imp', prune: { rounds: 3 } }, [0.4]),
    ]);
    expect(lines.filter((l) => l.measure === 'final').map((l) => l.label)).toEqual(['first · Ticket', 'first · Random reinit', 'second · Ticket']);
    const earlyStop = lines.find((l) => l.label === 'first · Ticket (early stop)')!.points.map((p) => p.y);
    expect(earlyStop[0]).toBeCloseTo(29);
    expect(earlyStop[1]).toBeCloseTo(31);
    expect(new Set(lines.filter((l) => l.measure === 'final').map((l) => l.color)).size).toBe(3);
    expect(lines.every((l) => l.band === null)).toBe(true);
  });

  it('tells apart runs of the same name that are different settings', () => {
    const lines = accuracyLines([run('a', { name: 'same', method: 'imp' }, [0.3]), run('b', { name: 'same', method: 'dense' }, [0.4])]);
    expect(lines.filter((l) => l.measure === 'final').map((l) => l.label)).toEqual(['same · Ticket', 'same #2 · Ticket']);
  });

  it('averages seeds of one setting into a mean line with a min-max band', () => {
    const lines = accuracyLines([
      run('s1', { name: 'sweep-1', method: 'imp', seed: 1 }, [0.2, 0.3]),
      run('s2', { name: 'sweep-2', method: 'imp', seed: 2 }, [0.4, 0.5]),
      run('s3', { name: 'sweep-3', method: 'imp', seed: 3 }, [0.3]),
    ]);
    const [final, earlyStop] = lines;
    expect(lines).toHaveLength(2);
    expect(final.label).toBe('sweep-1 (mean of 3 seeds) · Ticket');
    expect(final.runIds).toEqual(['s1', 's2', 's3']);
    expect(final.points[0].y).toBeCloseTo(30);
    expect(final.points[1].y).toBeCloseTo(40);
    expect(final.points[1].x).toBeCloseTo(80);
    expect(final.band?.min.map((p) => Math.round(p.y))).toEqual([20, 30]);
    expect(final.band?.max.map((p) => Math.round(p.y))).toEqual([40, 50]);
    expect(earlyStop.band).toBeNull();
  });

  it('keeps a repeat of a seed (the same experiment run again, or elsewhere) on a line of its own', () => {
    const lines = accuracyLines([
      run('lab', { name: 'quick', method: 'imp', seed: 1 }, [0.49, 0.47]),
      run('torch', { name: 'quick', method: 'imp', seed: 1 }, [0.48, 0.47]),
      run('seed2', { name: 'quick', method: 'imp', seed: 2 }, [0.5, 0.45]),
    ]);
    const final = lines.filter((l) => l.measure === 'final');
    expect(final.map((l) => l.label)).toEqual(['quick (mean of 2 seeds) · Ticket', 'quick #2 · Ticket']);
    expect(final.map((l) => l.runIds)).toEqual([['lab', 'seed2'], ['torch']]);
    expect(final[1].band).toBeNull();
  });
});

describe('a run without early stop (no validation split)', () => {
  it('draws its final line and no early-stop line, and keeps the series colours', () => {
    const plain = run('a', { name: 'no-validation', method: 'imp', data: { validation: 0 } }, [0.3, 0.32], [0.3, 0.25]);
    for (const results of Object.values(plain.rounds)) for (const r of results) Object.assign(r, { earlyStopIteration: null, testAccuracyAtEarlyStop: null });
    const lines = accuracyLines([plain]);
    expect(lines.map((l) => l.label)).toEqual(['no-validation · Ticket', 'no-validation · Random reinit']);
    expect(lines[0].points.map((p) => p.y)).toEqual([30, 32]);
    expect(lines[0].color).not.toBe(lines[1].color);
  });
});
