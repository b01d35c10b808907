import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type ArchName } from '../../config';
import { runExperiment } from '../../experiment';
import { MaskSet, countOnes } from '../../masks/mask';
import { createModel } from '../../models/registry';
import type { EngineEvent, RoundResult } from '../../results';
import { initBackend } from '../../runtime/backend';
import { pruneStep } from './index';

beforeAll(async () => {
  await initBackend('wasm');
});

/**
 * The paper's layer-wise rates (Frankle & Carbin 2019, table 1 and
 * ../shared/reference/pruning-methods.md), written out here rather than read
 * from the registry, so a wrong table there shows: conv 10% (15% on Conv-6),
 * fc 20%, the output layer at half the fc rate.
 */
const PAPER_RATES: Partial<Record<ArchName, { conv: number; dense: number }>> = {
  'lenet-300-100': { conv: 0, dense: 0.2 },
  'conv-2': { conv: 0.1, dense: 0.2 },
  'conv-4': { conv: 0.1, dense: 0.2 },
  'conv-6': { conv: 0.15, dense: 0.2 },
};

describe('layer-wise rates on the real models', () => {
  for (const [arch, rates] of Object.entries(PAPER_RATES) as [ArchName, { conv: number; dense: number }][]) {
    it(`${arch}: each layer loses its rate of the surviving weights, the output layer half the fc rate`, async () => {
      const config = parseConfig({ model: { arch, width: 0.125 } });
      const model = createModel(arch, 0.125, 10, 3);
      try {
        const expected = { conv: rates.conv, dense: rates.dense, output: rates.dense / 2 };
        let masks = MaskSet.dense(model.prunable);
        // Two steps: the second takes its rate of what the first left, and brings nothing back.
        for (let step = 0; step < 2; step++) {
          const next = await pruneStep(config, model, masks);
          for (const layer of model.prunable) {
            const before = countOnes(masks.get(layer.name).keep);
            const after = countOnes(next.get(layer.name).keep);
            expect(before - after, `${layer.name} (${layer.type}), step ${step}`).toBe(Math.round(expected[layer.type] * before));
            const previous = masks.get(layer.name).keep;
            expect(next.get(layer.name).keep.filter((bit, i) => bit && !previous[i]).length, `${layer.name} revived`).toBe(0);
          }
          masks = next;
        }
        expect(model.prunable.filter((l) => l.type === 'output')).toHaveLength(1);
      } finally {
        model.dispose();
      }
    });
  }
});

/** A small IMP run with both controls, rewinding to iteration `rewind`, and its events. */
async function impRun(rewind: number): Promise<{ ticket: RoundResult[]; controls: Record<string, RoundResult[]>; events: EngineEvent[] }> {
  const events: EngineEvent[] = [];
  const results = await runExperiment(
    {
      method: 'imp',
      seed: 5,
      data: { source: 'synthetic', syntheticTrain: 200, syntheticTest: 100, validation: 50 },
      model: { arch: 'lenet-300-100', width: 0.1 },
      train: { batchSize: 25, iterations: 12, evalEvery: 3, lr: 0.002 },
      prune: { rounds: 1, rewindIteration: rewind },
      controls: ['randomReinit', 'randomPrune'],
    },
    { files: null, emit: (e) => events.push(e) },
  );
  return { ticket: results.rounds, controls: results.controls as Record<string, RoundResult[]>, events };
}

describe('controls', () => {
  it('under late resetting train from the rewind iteration k, as the ticket does (open_lth)', async () => {
    const { ticket, controls, events } = await impRun(4);
    const evalIterations = (series: string) =>
      events.flatMap((e) => (e.type === 'eval' && e.series === series && e.round === 1 ? [e.point.iteration] : []));
    expect(ticket[1].iterations).toBe(12 - 4);
    expect(evalIterations('ticket')).toEqual([7, 10, 12]);
    for (const control of ['randomReinit', 'randomPrune']) {
      expect(controls[control][1].iterations, control).toBe(ticket[1].iterations);
      expect(evalIterations(control), control).toEqual(evalIterations('ticket'));
    }
  });

  it("random reinit trains the ticket's mask from another initialisation", async () => {
    // Rewinding to 0, the ticket and its random reinit share mask, schedule and batches: only the initialisation differs.
    const { ticket, controls } = await impRun(0);
    const reinit = controls.randomReinit[1];
    expect(reinit.layers).toEqual(ticket[1].layers);
    const losses = (r: RoundResult) => r.curve.map((p) => p.testLoss);
    expect(losses(reinit)).toHaveLength(losses(ticket[1]).length);
    for (let i = 0; i < losses(reinit).length; i++) expect(losses(reinit)[i]).not.toBe(losses(ticket[1])[i]);
  });
});
