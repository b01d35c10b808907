import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../config';
import { loadDataset } from '../../data/dataset';
import { runExperiment } from '../../experiment';
import { saveModel } from '../../io/saved';
import { createModel } from '../../models/registry';
import { resultsOf, type EngineEvent } from '../../results';
import { initBackend } from '../../runtime/backend';
import { train } from '../../train/trainer';
import { freezeOutside } from './index';
import { changesOutsideSelection, rowLayers, selectRandom } from './rows';

beforeAll(async () => {
  await initBackend('wasm');
});

const tiny = {
  method: 'kslottery',
  data: { syntheticTrain: 150, syntheticTest: 60, validation: 0 },
  model: { arch: 'conv-2', width: 0.0625 },
  train: { lr: 0.01, batchSize: 20, iterations: 6, evalEvery: 6 },
  kslottery: { source: [0, 1, 2], target: [3, 4, 5], probeIterations: 4, k: [0.1, 3] },
};

async function run(config: object): Promise<{ events: EngineEvent[]; results: Awaited<ReturnType<typeof runExperiment>> }> {
  const events: EngineEvent[] = [];
  const results = await runExperiment(config, { files: null, emit: (e) => events.push(e) });
  return { events, results };
}

describe('kslottery: partial tuning leaves every row outside the selection untouched', () => {
  it('with Adam, bit for bit, while the selected rows and the head move', async () => {
    const config = parseConfig({ ...tiny, data: { ...tiny.data, classes: [3, 4, 5] } });
    const dataset = await loadDataset(config.data, 1, null);
    const model = createModel('conv-2', 0.0625, 3, 5);
    try {
      const layers = rowLayers(model.prunable, 'filters');
      const selection = selectRandom(layers, 6, 'global', 3);
      const before = await saveModel(model);
      const freeze = freezeOutside(model, layers, selection, 'dense_3');
      try {
        await train({ model, dataset, train: { ...config.train, iterations: 5 }, dataSeed: 1, to: 5, gradientHook: freeze.hook });
      } finally {
        freeze.dispose();
      }
      const after = await saveModel(model);
      expect(changesOutsideSelection(before, after, layers, selection, ['dense_3/kernel', 'dense_3/bias'])).toEqual([]);
      // The head and the selected rows did train: with nothing frozen, the check would list them.
      const none = new Map([...selection].map(([name, flags]) => [name, new Uint8Array(flags.length)]));
      const moved = changesOutsideSelection(before, after, layers, none, []);
      expect(moved.some((line) => line.startsWith('dense_3/kernel'))).toBe(true);
      expect(moved.filter((line) => !line.startsWith('dense_3')).length).toBeGreaterThan(0);
    } finally {
      model.dispose();
      dataset.dispose();
    }
  });
});

describe('kslottery run', () => {
  it('pre-trains, probes, tests every row and reports the arms in the issue’s shape', async () => {
    const { events, results } = await run(tiny);
    const out = resultsOf(results, 'kslottery').kslottery;
    // conv-2 at width 0.0625: conv 4 + 4 filters, dense 16 + 16 units; the head is not a row.
    expect(out.perLayer.map((l) => [l.name, l.rows])).toEqual([
      ['conv_1', 4],
      ['conv_2', 4],
      ['dense_1', 16],
      ['dense_2', 16],
    ]);
    expect(out.rowsTotal).toBe(40);
    expect(out.source).toEqual([0, 1, 2]);
    expect(out.target).toEqual([3, 4, 5]);
    expect(out.rowsSignificant).toBe(out.perLayer.reduce((n, l) => n + l.significant, 0));
    for (const rule of ['ks', 'l2', 'random'] as const) {
      expect(out.arms[rule].map((p) => p.k)).toEqual([4, 3]);
      for (const p of out.arms[rule]) {
        expect(p.perLayer.reduce((a, b) => a + b, 0)).toBe(p.k);
        for (const accuracy of [p.partialTuning, p.partialTransfer]) expect(accuracy).toBeGreaterThanOrEqual(0);
      }
    }
    expect(out.jaccardKsL2).toHaveLength(2);
    expect(out.arms.full).toBe(out.probeAccuracy);
    expect(out.frozenRowsUnchanged).toBe(true);
    // One training each: source, probe, head only, p < α (when any row is significant), three rules at two K.
    const series = results.rounds.length;
    expect(series).toBe(3 + (out.arms.significant ? 1 : 0) + 6);
    expect(events.some((e) => e.type === 'view' && e.view === 'kslottery-accuracy')).toBe(true);
    expect(events.some((e) => e.type === 'view' && e.view === 'kslottery-rows')).toBe(true);
  });

  it('reuses θ0 for the same pre-training setting, with the same results, and trains it again when the source changes', async () => {
    const trainedSource = (events: EngineEvent[]) => events.some((e) => e.type === 'progress' && e.series === 'source');
    const first = await run({ ...tiny, seed: 31 });
    const again = await run({ ...tiny, seed: 31, kslottery: { ...tiny.kslottery, k: [2] } });
    expect(trainedSource(first.events)).toBe(true);
    expect(trainedSource(again.events)).toBe(false);
    expect(again.events.some((e) => e.type === 'status' && e.message.startsWith('kslottery: reusing the pre-trained θ0'))).toBe(true);
    const a = resultsOf(first.results, 'kslottery');
    const b = resultsOf(again.results, 'kslottery');
    expect(b.rounds[0]).toEqual(a.rounds[0]);
    // Same θ0 and probe: the same rows test the same.
    expect(b.kslottery.rowStats.map((l) => l.d)).toEqual(a.kslottery.rowStats.map((l) => l.d));
    const other = await run({ ...tiny, seed: 31, kslottery: { ...tiny.kslottery, source: [0, 1, 6] } });
    expect(trainedSource(other.events)).toBe(true);
  });

  it('tests the embedding-faithful rows: the first dense layer’s input rows, probing only that layer and the head', async () => {
    const { results, events } = await run({ ...tiny, kslottery: { ...tiny.kslottery, rows: 'embedding', k: [0.05] } });
    const out = resultsOf(results, 'kslottery').kslottery;
    // conv-2 x0.0625: 16x16x4 = 1024 flattened inputs, each a row of 16 values.
    expect(out.perLayer).toEqual([{ name: 'dense_1', rows: 1024, rowLength: 16, significant: out.rowsSignificant }]);
    expect(out.arms.ks[0].k).toBe(51);
    // The embedding probe is not full fine-tuning, so full fine-tuning trains on its own.
    const trained = events.flatMap((e) => (e.type === 'round' ? [e.series] : []));
    expect(trained.slice(0, 4)).toEqual(['source', 'probe', 'head-only', 'full']);
    expect(out.arms.full).not.toBeNull();
    expect(out.rowKind).toBe('embedding');
  });
});

describe('kslottery refuses bad input before any training', () => {
  const cases: [string, object, RegExp][] = [
    ['α = 0', { alpha: 0 }, /kslottery\.alpha: α must be inside \(0, 1\)/],
    ['α = 1', { alpha: 1 }, /kslottery\.alpha: α must be inside \(0, 1\)/],
    ['a probe of zero iterations', { probeIterations: 0 }, /kslottery\.probeIterations: the probe needs at least one iteration/],
    ['K larger than the row count', { k: [0.1, 41] }, /kslottery\.k\[1\]: K = 41 rows is more than the 40 filters rows of conv-2/],
    ['a K above 1 that is not whole', { k: [2.5] }, /kslottery\.k\.0: K from 1 up counts rows/],
    ['two K giving the same rows', { k: [0.1, 4] }, /kslottery\.k\[1\]: K = 4 gives 4 rows, as kslottery\.k\[0\] does/],
    ['overlapping tasks', { target: [2, 3, 4] }, /kslottery\.source and kslottery\.target both hold class 2/],
    ['a class the data lacks', { target: [3, 4, 10] }, /kslottery\.target: class 10 is not in synthetic/],
  ];
  for (const [what, block, message] of cases) {
    it(what, async () => {
      const events: EngineEvent[] = [];
      await expect(runExperiment({ ...tiny, kslottery: { ...tiny.kslottery, ...block } }, { files: null, emit: (e) => events.push(e) })).rejects.toThrow(message);
      expect(events.filter((e) => e.type === 'progress' || e.type === 'round')).toEqual([]);
    });
  }

  it('an overlap the config asks for is run', async () => {
    const { results } = await run({ ...tiny, train: { ...tiny.train, iterations: 2 }, kslottery: { ...tiny.kslottery, target: [2, 3, 4], allowOverlap: true, probeIterations: 1, k: [2] } });
    expect(resultsOf(results, 'kslottery').kslottery.target).toEqual([2, 3, 4]);
  });

  it('weight decay, which would move frozen rows', async () => {
    await expect(runExperiment({ ...tiny, train: { ...tiny.train, weightDecay: 1e-4 } }, { files: null })).rejects.toThrow(/train\.weightDecay: kslottery freezes rows/);
  });
});
