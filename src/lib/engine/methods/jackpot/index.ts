/**
 * Lottery Jackpots (Zhang et al., TPAMI 2023; arXiv 2104.08700), as the
 * released code runs it: on a pre-trained network, keep every weight, bias
 * and BN affine parameter frozen and train one score per weight; the mask is
 * state, initialised by magnitude at per-layer budgets from one global
 * threshold, and changes only by one-for-one swaps after each step. Arms on
 * the same budget run beside it: the magnitude mask alone, the same after
 * re-estimating BN statistics, a search from random scores, and fine-tuning
 * the weights under the magnitude mask.
 */
import * as tf from '@tensorflow/tfjs';
import type { SavedTensor, Ticket } from '../../checkpoint';
import type { TrainConfig } from '../../config';
import { createTicket, restoreModel, saveModel } from '../../io/saved';
import { MaskSet, countOnes, readKernels } from '../../masks/mask';
import type { Model, PrunableLayer } from '../../models/model';
import type { RoundResult } from '../../results';
import { Rng, subSeed } from '../../rng';
import { ScoreMasks, cosineLearningRate, hashTensors, uniformScores, type MaskRule, type ScoredLayer } from '../../train/score-masks';
import type { MethodContext, PruningMethod } from '../method';
import { prunedFraction, recordCompleted, trainRound, type RoundOptions } from '../round';
import { jackpotPrunedLayers, keptOverlap, magnitudeMask, prunedCounts } from './budgets';
import { jackpotSpec } from './config';
import { cachePretrained, cachedPretrained, checkImportedNetwork, type PretrainedNetwork } from './pretrained';
import type { JackpotOutput, JackpotResults, JackpotState, SearchArm, SearchEpoch } from './results';
import { flipRate, swapStep } from './swap';

/** The searched and arm rounds share one round number: they sit at one sparsity on the chart. */
const ARM_ROUND = 1;
const PRETRAINED = 'The pre-trained network';

/** Initial scores: 1.0 where magnitude keeps a weight, 0.99 where it prunes it (`set_prune_rate`). */
export function magnitudeScores(keep: Uint8Array): Float32Array {
  return Float32Array.from(keep, (kept) => (kept ? 1 : 0.99));
}

/** Keep the `kept` highest scores; equal scores rank by position, the lower index first. */
export function topScoresKeep(scores: Float32Array, kept: number): Uint8Array {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  const keep = new Uint8Array(scores.length);
  for (let j = 0; j < kept; j++) keep[order[j]] = 1;
  return keep;
}

/** The jackpot mask rule, with the swaps it made per layer counted on the device. */
export interface JackpotRule extends MaskRule {
  /** Weights swapped in per layer since the last call (read back: call at events, not per step). */
  takeSwaps(): Promise<Map<string, number>>;
  dispose(): void;
}

function zeroCounter(): tf.Variable {
  // tf.variable shares the initial tensor's data and leaves it counted: dispose it.
  const zero = tf.scalar(0, 'int32');
  const counter = tf.variable(zero, false);
  zero.dispose();
  return counter;
}

/**
 * The jackpot mask rule for ScoreMasks: the mask is state, set at the start
 * from `initialKeep` and changed after each step only by `swapStep` under the
 * layer's budget, on the device. The swap counts add up there too, so a step
 * reads nothing back.
 */
export function jackpotRule(options: {
  initialKeep: (layer: ScoredLayer) => Uint8Array;
  budgets: ReadonlyMap<string, number>;
  rate: () => number;
}): JackpotRule {
  const swaps = new Map([...options.budgets.keys()].map((name) => [name, zeroCounter()]));
  return {
    absoluteScores: false,
    initial: (layer) => tf.tensor(Float32Array.from(options.initialKeep(layer)), layer.layer.shape),
    afterStep(layer) {
      const name = layer.layer.name;
      const { keep, swapped } = swapStep(layer.mask, layer.scores, options.budgets.get(name) ?? 0, options.rate());
      const counter = swaps.get(name);
      counter?.assign(tf.add(counter, swapped));
      return keep;
    },
    async takeSwaps() {
      const counts = new Map<string, number>();
      for (const [name, count] of swaps) {
        counts.set(name, (await count.data())[0]);
        tf.tidy(() => count.assign(tf.zerosLike(count)));
      }
      return counts;
    },
    dispose: () => tf.dispose([...swaps.values()]),
  };
}

interface Setup {
  ctx: MethodContext<JackpotState>;
  model: Model;
  pretrained: Record<string, SavedTensor>;
  magnitude: MaskSet;
  budgets: Map<string, number>;
  searched: PrunableLayer[];
  stepsPerEpoch: number;
  epochs: number;
  dataSeed: number;
}

function searchSchedule(setup: Setup): TrainConfig {
  const { config } = setup.ctx;
  return {
    ...config.train,
    optimizer: 'sgd',
    lr: config.jackpot.lr,
    momentum: config.jackpot.momentum,
    iterations: setup.epochs * setup.stepsPerEpoch,
    evalEvery: setup.stepsPerEpoch,
    lrDecayEpochs: [],
  };
}

/** One search: from magnitude scores (the method) or random ones (the arm); returns its round, record and ticket. */
async function search(
  setup: Setup,
  from: 'magnitude' | 'random',
  series: string,
): Promise<{ result: RoundResult; arm: SearchArm; ticket: Ticket | null; overlap: number }> {
  const { ctx, model, magnitude, budgets, searched } = setup;
  const { jackpot } = ctx.config;
  restoreModel(model, setup.pretrained, PRETRAINED);
  const frozenBefore = await hashTensors(new Map(model.params));
  const rng = new Rng(subSeed(ctx.config.seed, 'jackpot-random-scores'));
  let epoch = 0;
  const rule = jackpotRule({
    initialKeep: (layer) =>
      from === 'magnitude'
        ? magnitude.get(layer.layer.name).keep
        : topScoresKeep(layer.scores.dataSync() as Float32Array, layer.layer.size - budgets.get(layer.layer.name)!),
    budgets,
    rate: () => flipRate(jackpot.rate, epoch, setup.epochs),
  });
  const scoreMasks = new ScoreMasks({
    model,
    layers: searched,
    initialScores: (layer) => (from === 'magnitude' ? magnitudeScores(magnitude.get(layer.name).keep) : uniformScores(layer, rng)),
    rule,
  });
  const epochs: SearchEpoch[] = [];
  let countsConstant = true;
  const optimizerSchedule = searchSchedule(setup);
  try {
    const { result } = await trainRound(ctx, {
      series,
      round: ARM_ROUND,
      model,
      masks: null,
      dataSeed: setup.dataSeed,
      train: optimizerSchedule,
      to: optimizerSchedule.iterations,
      // The mask lives in the scored layers, not in `masks`: every search keeps the magnitude mask's counts.
      sparsity: prunedFraction(model, magnitude),
      learningRate: (e) => cosineLearningRate(jackpot.lr, e, setup.epochs),
      takeStep: (optimizer, batch, iteration) => {
        epoch = Math.floor(iteration / setup.stepsPerEpoch);
        return scoreMasks.step({ optimizer, batch, numClasses: ctx.dataset.numClasses, weightDecay: jackpot.weightDecay });
      },
      // The masks and swap counts are read back here, once an epoch, not after every step.
      onEpochEnd: async (e) => {
        const mask = await scoreMasks.readMasks();
        const swaps = await rule.takeSwaps();
        const kept = Object.fromEntries(searched.map((l) => [l.name, countOnes(mask.get(l.name).keep)]));
        for (const [name, count] of Object.entries(kept)) if (count !== model.prunable.find((l) => l.name === name)!.size - budgets.get(name)!) countsConstant = false;
        epochs.push({ epoch: e, testAccuracy: NaN, swaps: Object.fromEntries(searched.map((l) => [l.name, swaps.get(l.name)!])), kept, overlap: keptOverlap(mask, magnitude) });
      },
    });
    // Each epoch's accuracy is the evaluation at its end.
    for (const record of epochs) {
      record.testAccuracy = result.curve.find((p) => p.iteration === record.epoch * setup.stepsPerEpoch)?.testAccuracy ?? NaN;
    }
    const weightsUnchanged = (await scoreMasks.frozenHash()) === frozenBefore && (await scoreMasks.kernelsMatchMasks());
    const mask = await scoreMasks.readMasks();
    const overlap = keptOverlap(mask, magnitude);
    let ticket: Ticket | null = null;
    if (from === 'magnitude') {
      // The ticket keeps the frozen dense weights (so it can seed another search) with the searched mask and the scores.
      const weights = await saveModel(model);
      const frozen = new Map<string, tf.Tensor>();
      for (const scored of scoreMasks.layers) frozen.set(`${scored.layer.name}/kernel`, scored.weights);
      for (const [name, tensor] of frozen) weights[name] = { shape: [...tensor.shape], data: Float32Array.from(await tensor.data()) };
      const scores = await scoreMasks.readScores();
      ticket = {
        ...createTicket(ctx.config, model, { round: ARM_ROUND, masks: mask, weights, iteration: 0 }),
        scores: Object.fromEntries([...scores].map(([name, data]) => [name, { shape: [...model.kernel(name).shape], data }])),
      };
    }
    return { result, arm: { epochs, weightsUnchanged, countsConstant }, ticket, overlap };
  } finally {
    scoreMasks.dispose();
    rule.dispose();
  }
}

/** An arm on the magnitude mask through the lab's own loop: evaluated as is, after a BN pass, or fine-tuned. */
async function magnitudeArm(setup: Setup, series: string, options: Partial<RoundOptions>): Promise<RoundResult> {
  restoreModel(setup.model, setup.pretrained, PRETRAINED);
  const { result } = await trainRound(setup.ctx, {
    series,
    round: ARM_ROUND,
    model: setup.model,
    masks: setup.magnitude,
    dataSeed: setup.dataSeed,
    ...options,
  });
  return result;
}

/** A pass over the training data in training mode: BN running statistics re-estimated under the mask, nothing else changes. */
function bnPass(setup: Setup): Partial<RoundOptions> {
  const { model, ctx } = setup;
  return {
    train: { ...ctx.config.train, iterations: setup.stepsPerEpoch, evalEvery: setup.stepsPerEpoch },
    to: setup.stepsPerEpoch,
    takeStep: (_optimizer, batch) => {
      const loss = tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(batch.y, ctx.dataset.numClasses), model.forward(batch.x, true)) as tf.Scalar);
      model.commitBatchStats(batch.x.shape[0]);
      return loss;
    },
  };
}

async function pretrain(ctx: MethodContext<JackpotState>, model: Model): Promise<{ network: PretrainedNetwork; source: JackpotResults['pretrained'] }> {
  const { config } = ctx;
  if (ctx.ticket) {
    checkImportedNetwork(ctx.ticket, config, ctx.dataset.numClasses);
    restoreModel(model, ctx.ticket.weights, 'The imported network');
    const { result } = await trainRound(ctx, { series: 'ticket', round: 0, model, masks: null, dataSeed: subSeed(config.seed, 'data-0'), to: 0 });
    return { network: { weights: await saveModel(model), dense: result }, source: 'imported' };
  }
  const cached = cachedPretrained(config);
  if (cached) {
    ctx.emit({ type: 'status', message: 'Using the dense network pre-trained earlier in this session on the same settings' });
    ctx.emit({ type: 'round', series: 'ticket', result: cached.dense });
    return { network: cached, source: 'trained' };
  }
  ctx.progress.add(ctx.iterations);
  // The dense method's own data seed: the pre-training is the dense run of the same config.
  const { result } = await trainRound(ctx, { series: 'ticket', round: 0, model, masks: null, dataSeed: subSeed(config.seed, 'data-0') });
  const network = { weights: await saveModel(model), dense: result };
  cachePretrained(config, network);
  return { network, source: 'trained' };
}

export const jackpot: PruningMethod<typeof jackpotSpec, JackpotOutput, JackpotState> = {
  ...jackpotSpec,
  plannedRounds: () => 2,

  async run(ctx) {
    const { config } = ctx;
    const { jackpot: options } = config;
    const model = ctx.createModel(subSeed(config.seed, 'init'));
    try {
      const resumed = ctx.resume;
      const state: JackpotState = resumed?.state ?? { dense: null, pretrained: null, arms: {}, search: null, randomSearch: null, maskOverlap: null };
      let pretrained: Record<string, SavedTensor>;
      if (resumed && state.dense) {
        pretrained = resumed.tensors;
        recordCompleted(ctx, [state.dense, ...Object.values(state.arms)]);
      } else {
        const { network, source } = await pretrain(ctx, model);
        pretrained = network.weights;
        state.dense = network.dense;
        state.pretrained = source;
        ctx.checkpoint({ round: 1, state, tensors: pretrained, masks: {}, ticket: null });
      }
      let ticket: Ticket | null = resumed?.ticket ?? null;

      // Budgets from the pre-trained weights, checked before any search step.
      restoreModel(model, pretrained, PRETRAINED);
      const magnitude = magnitudeMask(model.prunable, await readKernels(model), options.sparsity);
      const budgets = prunedCounts(magnitude);
      const stepsPerEpoch = Math.ceil(ctx.dataset.train.size / config.train.batchSize);
      const setup: Setup = {
        ctx,
        model,
        pretrained,
        magnitude,
        budgets,
        searched: jackpotPrunedLayers(model.prunable),
        stepsPerEpoch,
        epochs: options.epochs,
        dataSeed: subSeed(config.seed, 'data-jackpot'),
      };
      const searchIterations = options.epochs * stepsPerEpoch;
      const planned: [keyof JackpotState['arms'], number][] = [
        ['magnitudeBn', stepsPerEpoch],
        ['searched', searchIterations],
        ['randomScores', options.randomScores ? searchIterations : 0],
        ['finetuned', options.finetune ? searchIterations : 0],
      ];
      for (const [arm, iterations] of planned) if (!state.arms[arm]) ctx.progress.add(iterations);

      const view = () => ctx.emit({ type: 'view', view: 'jackpot-search', data: searchView(state, budgets, model, stepsPerEpoch) });
      const done = (arm: keyof JackpotState['arms'], result: RoundResult) => {
        state.arms[arm] = result;
        view();
        // One checkpoint per phase: the pre-training, then each arm.
        ctx.checkpoint({ round: 1 + Object.keys(state.arms).length, state, tensors: pretrained, masks: {}, ticket });
      };

      if (!state.arms.magnitude) done('magnitude', await magnitudeArm(setup, 'magnitude', { to: 0 }));
      if (!state.arms.magnitudeBn) done('magnitudeBn', await magnitudeArm(setup, 'magnitudeBn', bnPass(setup)));
      if (!state.arms.searched) {
        const run = await search(setup, 'magnitude', 'ticket');
        state.search = run.arm;
        state.maskOverlap = run.overlap;
        ticket = run.ticket;
        done('searched', run.result);
      }
      if (options.randomScores && !state.arms.randomScores) {
        const run = await search(setup, 'random', 'randomScores');
        state.randomSearch = run.arm;
        done('randomScores', run.result);
      }
      if (options.finetune && !state.arms.finetuned) {
        done('finetuned', await magnitudeArm(setup, 'finetuned', { train: { ...config.train, iterations: searchIterations, evalEvery: stepsPerEpoch }, to: searchIterations }));
      }
      view();
      const accuracy = (arm: keyof JackpotState['arms']) => state.arms[arm]?.testAccuracy ?? null;
      return {
        rounds: [state.dense!, state.arms.searched!],
        jackpot: {
          sparsity: options.sparsity,
          dense: state.dense!.testAccuracy,
          magnitude: accuracy('magnitude')!,
          magnitudeBn: accuracy('magnitudeBn')!,
          searched: accuracy('searched')!,
          randomScores: accuracy('randomScores'),
          finetuned: accuracy('finetuned'),
          maskOverlap: state.maskOverlap!,
          weightsUnchanged: state.search!.weightsUnchanged && (state.randomSearch?.weightsUnchanged ?? true),
          pretrained: state.pretrained!,
          budgets: Object.fromEntries(setup.searched.map((l) => [l.name, l.size - budgets.get(l.name)!])),
          search: state.search!,
          randomSearch: state.randomSearch,
          finetunedEpochs: state.arms.finetuned ? epochAccuracies(state.arms.finetuned, stepsPerEpoch) : null,
        },
      };
    } finally {
      model.dispose();
    }
  },
};

function sizeOf(model: Model, layer: string): number {
  return model.prunable.find((l) => l.name === layer)!.size;
}

/** Test accuracy at the end of each epoch of a round evaluated once per epoch. */
function epochAccuracies(result: RoundResult, stepsPerEpoch: number): number[] {
  return result.curve.filter((p) => p.iteration > 0 && p.iteration % stepsPerEpoch === 0).map((p) => p.testAccuracy);
}

/** The view's data: every arm's accuracy per search epoch, the overlap with the magnitude mask, swaps and kept counts per layer. */
export interface JackpotView {
  dense: number | null;
  magnitude: number | null;
  magnitudeBn: number | null;
  searched: number[];
  randomScores: number[];
  finetuned: number[];
  overlap: number[];
  randomOverlap: number[];
  swaps: Record<string, number[]>;
  kept: Record<string, number[]>;
  budgets: Record<string, number>;
}

function searchView(state: JackpotState, budgets: Map<string, number>, model: Model, stepsPerEpoch: number): JackpotView {
  const epochsOf = (arm: SearchArm | null) => arm?.epochs ?? [];
  const perLayer = (pick: (e: SearchEpoch) => Record<string, number>) =>
    Object.fromEntries([...budgets.keys()].filter((name) => budgets.get(name)! > 0).map((name) => [name, epochsOf(state.search).map((e) => pick(e)[name])]));
  return {
    dense: state.dense?.testAccuracy ?? null,
    magnitude: state.arms.magnitude?.testAccuracy ?? null,
    magnitudeBn: state.arms.magnitudeBn?.testAccuracy ?? null,
    searched: epochsOf(state.search).map((e) => e.testAccuracy),
    randomScores: epochsOf(state.randomSearch).map((e) => e.testAccuracy),
    finetuned: state.arms.finetuned ? epochAccuracies(state.arms.finetuned, stepsPerEpoch) : [],
    overlap: epochsOf(state.search).map((e) => e.overlap),
    randomOverlap: epochsOf(state.randomSearch).map((e) => e.overlap),
    swaps: perLayer((e) => e.swaps),
    kept: perLayer((e) => e.kept),
    budgets: Object.fromEntries([...budgets].filter(([, pruned]) => pruned > 0).map(([name, pruned]) => [name, sizeOf(model, name) - pruned])),
  };
}
