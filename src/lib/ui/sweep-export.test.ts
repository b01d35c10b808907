import { describe, expect, it } from 'vitest';
import type { SweepFile } from '../engine/sweep/record';
import { sweepCsv } from './sweep-export';

describe('sweep CSV', () => {
  it('writes one row per run, one column per axis path, empty where a method does not sweep it', () => {
    const file = {
      axes: [
        { path: 'prune.fraction', values: [0.1], methods: ['imp'] },
        { path: 'earlybird.ratios', values: [[0.3]], methods: ['worm'] },
      ],
      runs: [
        { id: 'a1', method: 'imp', values: { 'prune.fraction': 0.1 }, seed: 1, default: false, metric: 0.25, remaining: 80, results: 'a1/results.json' },
        { id: 'b2', method: 'worm', values: { 'earlybird.ratios': [0.3] }, seed: 2, default: true, metric: null, remaining: null, results: null },
      ],
    } as unknown as SweepFile;
    expect(sweepCsv(file).split('\r\n')).toEqual([
      'method,id,seed,default,prune.fraction,earlybird.ratios,test_accuracy,percent_remaining,results',
      'imp,a1,1,0,0.1,,0.25,80,a1/results.json',
      'worm,b2,2,1,,[0.3],,,',
      '',
    ]);
  });
});
