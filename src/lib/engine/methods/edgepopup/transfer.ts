/**
 * The universal-ticket transfer test (Burkholz et al., ICLR 2022, in its
 * empirical form): a strong ticket found on task A, its mask and weights
 * frozen, gets a fresh linear output layer trained on task B alone. Beside
 * it, on the same budget: a random mask of the same per-layer density and
 * the dense random network, each with a trained head (random features);
 * edge-popup searched directly on B; and the dense network trained on B.
 */
import * as tf from '@tensorflow/tfjs';
import type { Ticket } from '../../checkpoint';
import type { ExperimentConfig } from '../../config';
import { ConfigError } from '../../config-error';
import type { Dataset } from '../../data/types';
import { checkClassList, checkDisjoint } from '../../data/task';
import type { Model } from '../../models/model';
import type { RoundResult, SeriesName } from '../../results';
import { Rng, subSeed } from '../../rng';
import { noiseMargin } from '../../stats';
import { ScoreMasks, topKRule, uniformScores } from '../../train/score-masks';
import { trainStep } from '../../train/trainer';
import type { MethodContext } from '../method';
import { trainRound } from '../round';
import { edgepopupModel, searchTicket, taskIterations, trainDense } from './search';
import type { TransferArm, TransferResults, TransferView } from './results';

export const TRANSFER_ARMS = ['ticketHead', 'randomMaskHead', 'denseRandomHead', 'searchedOnTarget', 'denseOnTarget'] as const satisfies readonly TransferArm[];

/** Refuses a transfer block the data cannot serve, before anything trains. */
export function checkTransfer(config: ExperimentConfig): void {
  const transfer = config.edgepopup.transfer;
  if (!transfer) return;
  if (config.data.classes) {
    throw new ConfigError('Invalid experiment config: data.classes: leave it unset with edgepopup.transfer, whose source and target name the tasks');
  }
  checkClassList('edgepopup.transfer.source', transfer.source, config.data);
  checkClassList('edgepopup.transfer.target', transfer.target, config.data);
  checkDisjoint('edgepopup.transfer.source', transfer.source, 'edgepopup.transfer.target', transfer.target);
}

/** The output layer: the head a transfer replaces. */
function outputLayer(model: Model): string {
  return model.prunable.find((layer) => layer.type === 'output')!.name;
}

/** A zero head (logistic regression on the frozen features, from the same start for every arm). */
function zeroHead(model: Model): tf.Variable[] {
  const name = outputLayer(model);
  const head = [model.kernel(name), model.params.get(`${name}/bias`)!];
  for (const variable of head) tf.tidy(() => variable.assign(tf.zerosLike(variable)));
  return head;
}

/** Trains only the head of `model` (Adam at `headLr`): every other weight, bias and BN parameter stays as it is. */
async function trainHead(ctx: MethodContext, model: Model, series: SeriesName, target: Dataset): Promise<RoundResult> {
  const head = zeroHead(model);
  const transfer = ctx.config.edgepopup.transfer!;
  const { result } = await trainRound(ctx, {
    series,
    round: 0,
    model,
    masks: null,
    to: taskIterations(ctx.config, target),
    dataSeed: subSeed(ctx.config.seed, `data-${series}`),
    dataset: target,
    train: { ...ctx.config.train, optimizer: 'adam', lr: transfer.headLr, weightDecay: 0, lrDecayEpochs: [] },
    takeStep: (optimizer, batch, iteration) =>
      trainStep({ model, optimizer, batch, numClasses: target.numClasses, weightDecay: 0, masks: null, variables: head, iteration }),
  });
  return result;
}

/** Sets every layer but the head to the ticket's weights under its mask. */
function loadTicketFeatures(model: Model, ticket: Ticket): void {
  const head = outputLayer(model);
  for (const layer of model.prunable) {
    if (layer.name === head) continue;
    const saved = ticket.weights[`${layer.name}/kernel`];
    const kernel = model.kernel(layer.name);
    tf.tidy(() => kernel.assign(tf.tensor(saved.data, saved.shape)));
  }
}

/** Masks every layer but the head with a random mask keeping the same count per layer as top-k at `k` (then drops the scores). */
function randomMaskFeatures(model: Model, k: number, seed: number): void {
  const head = outputLayer(model);
  const rng = new Rng(seed);
  const layers = model.prunable.filter((layer) => layer.name !== head);
  new ScoreMasks({ model, layers, initialScores: (layer) => uniformScores(layer, rng), rule: topKRule(k) }).dispose();
}

/** One arm on the target task, on a fresh copy of the run's random network with a `target`-sized head. */
async function runArm(ctx: MethodContext, arm: TransferArm, target: Dataset, ticket: Ticket): Promise<RoundResult> {
  const { k } = ctx.config.edgepopup;
  const model = edgepopupModel(ctx, target.numClasses);
  try {
    switch (arm) {
      case 'ticketHead':
        loadTicketFeatures(model, ticket);
        return await trainHead(ctx, model, arm, target);
      case 'randomMaskHead':
        randomMaskFeatures(model, k, subSeed(ctx.config.seed, 'transfer-random-mask'));
        return await trainHead(ctx, model, arm, target);
      case 'denseRandomHead':
        return await trainHead(ctx, model, arm, target);
      case 'searchedOnTarget': {
        const { result } = await searchTicket(ctx, model, {
          series: arm,
          round: 0,
          k,
          dataset: target,
          scoreSeed: subSeed(ctx.config.seed, 'edgepopup-scores'),
          dataSeed: subSeed(ctx.config.seed, `data-${arm}`),
        });
        return result;
      }
      case 'denseOnTarget':
        return (await trainDense(ctx, model, arm, 0, target)).result;
    }
  } finally {
    model.dispose();
  }
}

/**
 * Runs the arms not yet in `done` (a resumed run's), calling `onArm` after
 * each, and returns the transfer results. `ticket` is the source task's
 * round-0 ticket: its mask and frozen weights are the features reused.
 */
export async function runTransfer(
  ctx: MethodContext,
  ticket: Ticket,
  done: Partial<Record<TransferArm, RoundResult>>,
  onArm: (arm: TransferArm, result: RoundResult) => void,
): Promise<TransferResults> {
  const transfer = ctx.config.edgepopup.transfer!;
  const target = ctx.dataset.classSubset(transfer.target);
  const emitView = () => {
    const arms = Object.fromEntries(TRANSFER_ARMS.flatMap((arm) => (done[arm] ? [[arm, done[arm].testAccuracy]] : [])));
    const complete = TRANSFER_ARMS.every((arm) => done[arm]);
    const view: TransferView = {
      source: [...transfer.source],
      target: [...transfer.target],
      chance: 1 / target.numClasses,
      arms,
      verdict: complete ? transferResults(ctx.config, done as Record<TransferArm, RoundResult>, target.test.size) : null,
    };
    ctx.emit({ type: 'view', view: 'transfer', data: view });
  };
  try {
    if (Object.keys(done).length > 0) emitView();
    for (const arm of TRANSFER_ARMS) {
      if (done[arm]) continue;
      await ctx.control.checkpoint();
      const result = await runArm(ctx, arm, target, ticket);
      done[arm] = result;
      onArm(arm, result);
      emitView();
    }
    return transferResults(ctx.config, done as Record<TransferArm, RoundResult>, target.test.size);
  } finally {
    target.dispose();
  }
}

/** results.json's `transfer` from the arms' rounds, with the verdict on the theory's regime. */
export function transferResults(config: ExperimentConfig, rounds: Record<TransferArm, RoundResult>, testImages: number): TransferResults {
  const transfer = config.edgepopup.transfer!;
  const arms = Object.fromEntries(TRANSFER_ARMS.map((arm) => [arm, rounds[arm].testAccuracy])) as Record<TransferArm, number>;
  const randomFeatures = Math.max(arms.denseRandomHead, arms.randomMaskHead);
  const margin = noiseMargin(arms.ticketHead, randomFeatures, testImages);
  return {
    source: [...transfer.source],
    target: [...transfer.target],
    arms,
    testImages,
    ticketBeatsRandomFeatures: arms.ticketHead - randomFeatures > margin,
    margin,
  };
}
