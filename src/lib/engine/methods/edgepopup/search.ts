/**
 * One edge-popup search and the networks it runs on: the run's random
 * network with frozen Kaiming-scaled weights, the search itself on any task,
 * and the dense SGD baseline on the same budget.
 */
import * as tf from '@tensorflow/tfjs';
import type { SavedTensor } from '../../checkpoint';
import { totalIterations, type ExperimentConfig, type TrainConfig } from '../../config';
import type { Dataset } from '../../data/types';
import type { MaskSet } from '../../masks/mask';
import type { Model } from '../../models/model';
import type { RoundResult, SeriesName } from '../../results';
import { Rng, subSeed } from '../../rng';
import { cosineLearningRate, fanIn, hashTensors, keptCount, ScoreMasks, topKRule, uniformScores } from '../../train/score-masks';
import { evaluate } from '../../train/trainer';
import type { MethodContext } from '../method';
import { trainRound } from '../round';
import type { WeightInit } from './config';
import type { EdgePopupSearch } from './results';

/**
 * Overwrite every prunable kernel with edge-popup's frozen random weights:
 * signed Kaiming constant, ±√2/√fan_in with a fair random sign, or Kaiming
 * normal, N(0, 2/fan_in) (gain √2 for ReLU, fan-in mode, as the reference).
 */
export function initialiseFrozenWeights(model: Model, init: WeightInit, seed: number): void {
  const rng = new Rng(seed);
  for (const layer of model.prunable) {
    const std = Math.sqrt(2 / fanIn(layer));
    const values = Float32Array.from({ length: layer.size }, () => (init === 'signed-constant' ? (rng.next() < 0.5 ? -std : std) : rng.normal() * std));
    const kernel = model.kernel(layer.name);
    tf.tidy(() => kernel.assign(tf.tensor(values, layer.shape)));
  }
}

/** Share of the bits of `after` that differ from `before` (normalised Hamming distance over every masked weight). */
export function maskChange(before: MaskSet, after: MaskSet): number {
  let changed = 0;
  let total = 0;
  for (const mask of after.layers.values()) {
    const previous = before.get(mask.name).keep;
    for (let i = 0; i < mask.keep.length; i++) changed += mask.keep[i] ^ previous[i];
    total += mask.keep.length;
  }
  return total === 0 ? 0 : changed / total;
}

/** The config's schedule with the given SGD settings and no step decay (a cosine replaces it). */
function sgdSchedule(train: TrainConfig, lr: number, momentum: number, weightDecay: number): TrainConfig {
  return { ...train, optimizer: 'sgd', lr, momentum, weightDecay, lrDecayEpochs: [] };
}

/**
 * The budget in iterations on `dataset`: `train.epochs` count epochs of the
 * task trained on (a class subset has fewer images than the run's data).
 */
export function taskIterations(config: ExperimentConfig, dataset: Dataset): number {
  return totalIterations(config.train, dataset.train.size);
}

/** Epochs of the budget on `dataset`, for the cosine schedule (fractional when the budget is in iterations). */
function budgetEpochs(dataset: Dataset, config: ExperimentConfig): number {
  return taskIterations(config, dataset) / Math.max(1, Math.ceil(dataset.train.size / config.train.batchSize));
}

/** Weights the per-layer top k keeps over all prunable layers. */
function keptTotal(model: Model, k: number): number {
  return model.prunable.reduce((n, layer) => n + keptCount(layer.size, k), 0);
}

export interface SearchOptions {
  series: SeriesName;
  round: number;
  k: number;
  dataset: Dataset;
  /** Seeds the initial scores: the same seed gives the same random mask before the search. */
  scoreSeed: number;
  dataSeed: number;
}

/**
 * One edge-popup search on `model`'s current (frozen) weights. Leaves the
 * model holding W ⊙ M of the found mask; returns the round, the search's
 * record and the mask.
 */
export async function searchTicket(
  ctx: MethodContext,
  model: Model,
  options: SearchOptions,
): Promise<{ result: RoundResult; search: EdgePopupSearch; masks: MaskSet; scores: Record<string, SavedTensor> }> {
  const settings = ctx.config.edgepopup;
  const hashBefore = await hashTensors(model.params);
  const rng = new Rng(options.scoreSeed);
  const scored = new ScoreMasks({ model, layers: model.prunable, initialScores: (layer) => uniformScores(layer, rng), rule: topKRule(options.k) });
  try {
    const untrainedMaskAccuracy = (await evaluate(model, options.dataset.test, options.dataset.numClasses)).accuracy;
    let previous = await scored.readMasks();
    const maskChangePerEpoch: number[] = [];
    const epochs = budgetEpochs(options.dataset, ctx.config);
    const { result } = await trainRound(ctx, {
      series: options.series,
      round: options.round,
      model,
      masks: null,
      to: taskIterations(ctx.config, options.dataset),
      sparsity: 1 - keptTotal(model, options.k) / model.prunableWeightCount,
      dataSeed: options.dataSeed,
      dataset: options.dataset,
      train: sgdSchedule(ctx.config.train, settings.lr, settings.momentum, settings.weightDecay),
      learningRate: (epoch) => cosineLearningRate(settings.lr, epoch, epochs),
      takeStep: (optimizer, batch) => scored.step({ optimizer, batch, numClasses: options.dataset.numClasses, weightDecay: settings.weightDecay }),
      onEpochEnd: async () => {
        const current = await scored.readMasks();
        maskChangePerEpoch.push(maskChange(previous, current));
        previous = current;
      },
    });
    const weightsUnchanged = (await scored.frozenHash()) === hashBefore && (await scored.kernelsMatchMasks());
    const search: EdgePopupSearch = { k: options.k, testAccuracy: result.testAccuracy, untrainedMaskAccuracy, weightsUnchanged, maskChangePerEpoch };
    const scores = Object.fromEntries([...(await scored.readScores())].map(([name, data]) => [name, { shape: model.kernel(name).shape, data }]));
    return { result, search, masks: await scored.readMasks(), scores };
  } finally {
    scored.dispose();
  }
}

/** The run's random network: the configured architecture with edge-popup's frozen weights, the same for every search. */
export function edgepopupModel(ctx: MethodContext, numClasses?: number): Model {
  const model = ctx.createModel(subSeed(ctx.config.seed, 'init'), numClasses);
  initialiseFrozenWeights(model, ctx.config.edgepopup.weightInit, subSeed(ctx.config.seed, 'edgepopup-weights'));
  return model;
}

/** Train every weight of `model` with SGD and a cosine schedule (the reference's dense SGD baseline). */
export function trainDense(ctx: MethodContext, model: Model, series: SeriesName, round: number, dataset: Dataset): Promise<{ result: RoundResult }> {
  const { denseLr, momentum, weightDecay } = ctx.config.edgepopup;
  const epochs = budgetEpochs(dataset, ctx.config);
  return trainRound(ctx, {
    series,
    round,
    model,
    masks: null,
    to: taskIterations(ctx.config, dataset),
    dataSeed: subSeed(ctx.config.seed, `data-${series}`),
    dataset,
    train: sgdSchedule(ctx.config.train, denseLr, momentum, weightDecay),
    learningRate: (epoch) => cosineLearningRate(denseLr, epoch, epochs),
  });
}
