/**
 * Strong tickets by edge-popup (Ramanujan et al., CVPR 2020): a mask is
 * searched on frozen random weights by training one score per weight
 * (train/score-masks.ts); each layer keeps the top k of |S| on every step.
 * One search per k (the ticket's k, then `sweep`), all on the same random
 * weights and initial scores, and a dense baseline trained from those
 * weights on the same budget.
 */
import type { ExperimentConfig } from '../../config';
import { createTicket, saveModel } from '../../io/saved';
import { subSeed } from '../../rng';
import type { PruningMethod } from '../method';
import { recordCompleted } from '../round';
import { edgepopupSpec } from './config';
import type { AccuracyVsKView, EdgePopupOutput, EdgePopupState, MaskChangeView } from './results';
import { edgepopupModel, searchTicket, taskIterations, trainDense } from './search';
import { checkTransfer, runTransfer, TRANSFER_ARMS } from './transfer';

export { initialiseFrozenWeights, maskChange, searchTicket } from './search';

function searchedKs(config: ExperimentConfig): number[] {
  return [config.edgepopup.k, ...config.edgepopup.sweep];
}

/** Rounds of training: one search per k, the dense baseline, and the five transfer arms. */
function plannedRounds(config: ExperimentConfig): number {
  return searchedKs(config).length + (config.edgepopup.denseBaseline ? 1 : 0) + (config.edgepopup.transfer ? TRANSFER_ARMS.length : 0);
}

export const edgepopup: PruningMethod<typeof edgepopupSpec, EdgePopupOutput, EdgePopupState> = {
  ...edgepopupSpec,
  plannedRounds,

  async run(ctx) {
    const { config } = ctx;
    checkTransfer(config);
    const settings = config.edgepopup;
    const ks = searchedKs(config);
    const state: EdgePopupState = ctx.resume?.state ?? { rounds: [], searches: [], dense: null, transfer: {} };
    let ticket = ctx.resume?.ticket ?? null;
    recordCompleted(ctx, [...state.rounds, ...(state.dense ? [state.dense] : []), ...Object.values(state.transfer)]);
    // With a transfer test the searches and the baseline run on the source task.
    const source = settings.transfer ? ctx.dataset.classSubset(settings.transfer.source) : ctx.dataset;
    ctx.progress.add(taskIterations(config, source) * plannedRounds(config));

    const emitViews = () => {
      const accuracy: AccuracyVsKView = {
        chance: 1 / source.numClasses,
        dense: state.dense?.testAccuracy ?? null,
        points: state.searches.map((s) => ({ k: s.k, testAccuracy: s.testAccuracy, untrainedMaskAccuracy: s.untrainedMaskAccuracy })),
      };
      ctx.emit({ type: 'view', view: 'accuracy-vs-k', data: accuracy });
      const change: MaskChangeView = { series: state.searches.map((s) => ({ k: s.k, perEpoch: s.maskChangePerEpoch })) };
      ctx.emit({ type: 'view', view: 'mask-change', data: change });
    };
    const completedRounds = () => state.rounds.length + (state.dense ? 1 : 0) + Object.keys(state.transfer).length;
    const saveCheckpoint = () => ctx.checkpoint({ round: completedRounds(), state: structuredClone(state), tensors: {}, masks: {}, ticket });

    try {
      if (state.searches.length > 0) emitViews();
      for (let i = state.searches.length; i < ks.length; i++) {
        await ctx.control.checkpoint();
        const model = edgepopupModel(ctx, source.numClasses);
        try {
          const { result, search, masks, scores } = await searchTicket(ctx, model, {
            series: 'ticket',
            round: i,
            k: ks[i],
            dataset: source,
            scoreSeed: subSeed(config.seed, 'edgepopup-scores'),
            dataSeed: subSeed(config.seed, 'data-0'),
          });
          state.rounds.push(result);
          state.searches.push(search);
          if (i === 0) ticket = { ...createTicket(config, model, { round: 0, masks, weights: await saveModel(model), iteration: 0 }), scores };
        } finally {
          model.dispose();
        }
        emitViews();
        saveCheckpoint();
      }

      if (settings.denseBaseline && !state.dense) {
        const model = edgepopupModel(ctx, source.numClasses);
        try {
          state.dense = (await trainDense(ctx, model, 'dense', 0, source)).result;
        } finally {
          model.dispose();
        }
        emitViews();
        saveCheckpoint();
      }

      const transfer = settings.transfer
        ? await runTransfer(ctx, ticket!, state.transfer, (arm, result) => {
            state.transfer[arm] = result;
            saveCheckpoint();
          })
        : undefined;

      const [first] = state.searches;
      return {
        rounds: state.rounds,
        edgepopup: {
          k: first.k,
          weightsUnchanged: first.weightsUnchanged,
          maskChangePerEpoch: first.maskChangePerEpoch,
          weightInit: settings.weightInit,
          searches: state.searches,
          dense: state.dense?.testAccuracy ?? null,
        },
        ...(transfer ? { transfer } : {}),
      };
    } finally {
      if (source !== ctx.dataset) source.dispose();
    }
  },
};
