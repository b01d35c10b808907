import { describe, expect, it } from 'vitest';
import type { RoundResult } from '../engine/results';
import { chartFileName, CSV_COLUMNS, resultsCsv } from './export';

function round(round: number, sparsity: number, testAccuracy: number): RoundResult {
  return {
    round,
    sparsity,
    layers: [],
    testAccuracy,
    earlyStopIteration: 50 * (round + 1),
    testAccuracyAtEarlyStop: testAccuracy - 0.01,
    trainSeconds: 12.3456789,
    iterations: 150,
    imagesPerSecond: 512.5,
    curve: [],
  };
}

describe('results CSV', () => {
  it('has the header and one row per series and round', () => {
    const csv = resultsCsv({
      ticket: [round(0, 0, 0.3), round(1, 0.2, 0.32)],
      randomReinit: [round(1, 0.2, 0.25)],
    });
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toBe(CSV_COLUMNS.join(','));
    expect(lines[0]).toBe(
      'series,round,percent_remaining,sparsity,test_accuracy,early_stop_iteration,test_accuracy_at_early_stop,train_seconds,images_per_second',
    );
    expect(lines.slice(1)).toEqual([
      'ticket,0,100,0,0.3,50,0.29,12.3457,512.5',
      'ticket,1,80,0.2,0.32,100,0.31,12.3457,512.5',
      'randomReinit,1,80,0.2,0.25,100,0.24,12.3457,512.5',
    ]);
  });

  it('quotes a series name that holds a comma or a quote', () => {
    const csv = resultsCsv({ 'odd, "name"': [round(0, 0, 0.5)] });
    expect(csv.split('\r\n')[1].startsWith('"odd, ""name""",0,')).toBe(true);
  });

  it('is only the header for a run with no rounds yet', () => {
    expect(resultsCsv({})).toBe(`${CSV_COLUMNS.join(',')}\r\n`);
  });
});

describe('chart file names', () => {
  it('say what the chart is', () => {
    expect(chartFileName('Test accuracy vs weights remaining')).toBe('lottery-lab-test-accuracy-vs-weights-remaining.png');
    expect(chartFileName("Which weights survive COLT's prune step after round 3")).toBe(
      'lottery-lab-which-weights-survive-colt-s-prune-step-after-round-3.png',
    );
    expect(chartFileName('')).toBe('lottery-lab-chart.png');
  });
});

describe('results CSV without early stop', () => {
  it('leaves the early-stop cells empty', () => {
    const csv = resultsCsv({ ticket: [{ ...round(0, 0, 0.3), earlyStopIteration: null, testAccuracyAtEarlyStop: null }] });
    expect(csv.split('\r\n')[1]).toBe('ticket,0,100,0,0.3,,,12.3457,512.5');
  });
});
