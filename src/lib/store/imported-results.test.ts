import { describe, expect, it } from 'vitest';
import { importResults } from './imported-results';

const round = (n: number) => ({
  round: n,
  sparsity: n * 0.2,
  layers: [{ name: 'dense_1', weights: 10, remaining: 10 - 2 * n }],
  testAccuracy: 0.4,
  earlyStopIteration: 100,
  testAccuracyAtEarlyStop: 0.41,
  trainSeconds: 1,
});
const results = {
  config: { name: 'imp-conv-2-quick', method: 'imp', data: { source: 'cifar10', dir: '/data' } },
  backend: 'pytorch-cuda',
  adapter: 'NVIDIA H200',
  method: 'imp',
  rounds: [round(0), round(1)],
  controls: { randomReinit: [round(0), round(1)] },
  imagesPerSecond: 9000,
  startedAt: '2026-12-01T20:00:00Z',
};

describe('importing a results.json', () => {
  it('becomes a finished run with every series, named after its config and where it ran', () => {
    const run = importResults(JSON.stringify(results), 'r1');
    expect(run.name).toBe('imp-conv-2-quick (pytorch-cuda)');
    expect(run.status).toBe('done');
    expect(run.config.prune.strategy).toBe('layerwise');
    expect(Object.keys(run.rounds)).toEqual(['ticket', 'randomReinit']);
    expect(run.rounds.ticket.map((r) => r.layers[0].remaining)).toEqual([10, 8]);
    expect(run.createdAt).toBe(Date.parse('2026-12-01T20:00:00Z'));
  });

  it('names the missing key or the other version', () => {
    const without = (key: string) => JSON.stringify(Object.fromEntries(Object.entries(results).filter(([k]) => k !== key)));
    expect(() => importResults(without('rounds'), 'r')).toThrow('results.json has no "rounds"');
    expect(() => importResults(without('config'), 'r')).toThrow('results.json has no "config"');
    const { testAccuracy: _, ...partial } = round(1);
    expect(() => importResults(JSON.stringify({ ...results, rounds: [round(0), partial] }), 'r')).toThrow(
      'results.json has no "testAccuracy" in rounds[1]',
    );
    expect(() => importResults(JSON.stringify({ ...results, controls: { randomReinit: [{}] } }), 'r')).toThrow(
      'results.json has no "round" in controls.randomReinit[0]',
    );
    expect(() => importResults(JSON.stringify({ ...results, config: { ...results.config, version: 2 } }), 'r')).toThrow(
      'results.json is from config version 2; this lab reads version 1',
    );
    expect(() => importResults('{"config": ', 'r')).toThrow(/Not a results.json/);
  });
});
