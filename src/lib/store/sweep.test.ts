import { describe, expect, it } from 'vitest';
import { parseConfig } from '../engine/config';
import { identityText } from '../engine/identity';
import { expandSweep, parseSweep } from '../engine/sweep/spec';
import { seedSweepText } from './sweep.svelte';

describe('"5 seeds" of a run', () => {
  it('is a sweep of the same experiment on its seed and the next four, which differ only in seed', () => {
    const config = parseConfig({ name: 'mine', method: 'imp', seed: 7, backend: 'wasm', model: { arch: 'lenet-300-100', width: 0.1 }, train: { lr: 0.003 } });
    const runs = expandSweep(parseSweep(JSON.parse(seedSweepText(config))));
    expect(runs.map((run) => run.seed)).toEqual([7, 8, 9, 10, 11]);
    expect(identityText(runs[0].config)).toBe(identityText(config));
    for (const run of runs) expect(identityText(run.config)).toBe(identityText({ ...config, seed: run.seed }));
  });
});
