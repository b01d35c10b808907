/**
 * Train one network for one round and report it the way every method does:
 * progress with an ETA, evaluation points, and the round's measured result.
 */
import { countOnes, measureLayers, type LayerCount, type MaskSet } from '../masks/mask';
import type { Model, ModelState } from '../models/model';
import type { Ticket } from '../checkpoint';
import type { CurvePoint, MethodOutput, RoundResult, SeriesName } from '../results';
import { subSeed } from '../rng';
import type { TrainConfig } from '../config';
import type { Dataset } from '../data/types';
import { train, type EvalPoint, type GradientHook, type TrainOptions, type TrainResult } from '../train/trainer';
import type { MethodContext } from './method';

export interface RoundOptions {
  series: SeriesName;
  round: number;
  model: Model;
  masks: MaskSet | null;
  dataSeed: number;
  from?: number;
  to?: number;
  snapshotAt?: number;
  onSnapshot?: (state: ModelState) => void;
  gradientHook?: GradientHook;
  onEpochEnd?: (epoch: number, iteration: number) => Promise<boolean | void> | boolean | void;
  /**
   * For a network whose pruned channels were cut out (models/shrink.ts): the
   * weights of each prunable layer before the cut. The round's sparsity and
   * layer counts are then against the uncut network, so a cut-out ticket and
   * a zeroed one report the same sparsity.
   */
  uncutWeights?: ReadonlyMap<string, number>;
  /** The data to train and evaluate on, in place of the run's (a class-subset task). */
  dataset?: Dataset;
  /** The schedule to train with, in place of the config's `train` block (a method's own optimiser settings). */
  train?: TrainConfig;
  /** See TrainOptions: a step of other variables than the weights, and a learning-rate schedule. */
  takeStep?: TrainOptions['takeStep'];
  learningRate?: TrainOptions['learningRate'];
  /** See TrainOptions: examples added to each batch (the ownership trigger set). */
  mixBatch?: TrainOptions['mixBatch'];
  /** Share of prunable weights pruned, for the live points, where `masks` does not say (a mask that score training keeps). */
  sparsity?: number;
}

export function curvePoint(point: EvalPoint): CurvePoint {
  return {
    iteration: point.iteration,
    trainLoss: point.trainLoss,
    validationLoss: point.validation?.loss ?? null,
    validationAccuracy: point.validation?.accuracy ?? null,
    testLoss: point.test.loss,
    testAccuracy: point.test.accuracy,
  };
}

/** Tracks iterations done against the plan, for the ETA. */
export class ProgressPlan {
  private planned = 0;
  private done = 0;
  private seconds = 0;

  add(iterations: number): void {
    this.planned += iterations;
  }

  record(iterations: number, seconds: number): void {
    this.done += iterations;
    this.seconds += seconds;
  }

  /** Fraction done and seconds left, counting `inFlight` iterations of the current round. */
  estimate(inFlight: number, inFlightSeconds: number): { fractionDone: number; etaSeconds: number | null } {
    const done = this.done + inFlight;
    const seconds = this.seconds + inFlightSeconds;
    const planned = Math.max(this.planned, done);
    const fractionDone = planned === 0 ? 0 : done / planned;
    const etaSeconds = done > 0 && seconds > 0 ? ((planned - done) * seconds) / done : null;
    return { fractionDone, etaSeconds };
  }
}

/**
 * The share of all the model's prunable weights a mask set prunes: the
 * contract's `sparsity`, which round results measure, also for a set that
 * covers only some layers (COLT's conv masks), so live progress and the
 * round's result give one number.
 */
export function prunedFraction(model: Model, masks: MaskSet | null, uncutWeights?: ReadonlyMap<string, number>): number {
  const weights = (layer: string, cut: number) => uncutWeights?.get(layer) ?? cut;
  const total = model.prunable.reduce((n, l) => n + weights(l.name, l.size), 0);
  let pruned = total - model.prunableWeightCount;
  for (const m of masks?.layers.values() ?? []) pruned += m.keep.length - countOnes(m.keep);
  return pruned / total;
}

/** Measured layer counts against the uncut network's weights (`RoundOptions.uncutWeights`). */
function againstUncut(measured: { layers: LayerCount[]; sparsity: number }, uncutWeights?: ReadonlyMap<string, number>): { layers: LayerCount[]; sparsity: number } {
  if (!uncutWeights) return measured;
  const layers = measured.layers.map((l) => ({ ...l, weights: uncutWeights.get(l.name) ?? l.weights }));
  const total = layers.reduce((n, l) => n + l.weights, 0);
  return { layers, sparsity: 1 - layers.reduce((n, l) => n + l.remaining, 0) / total };
}

export async function trainRound(
  ctx: MethodContext,
  options: RoundOptions,
): Promise<{ result: RoundResult; training: TrainResult }> {
  const from = options.from ?? 0;
  const to = options.to ?? ctx.iterations;
  const startedAt = performance.now();
  const sparsityAtStart = options.sparsity ?? prunedFraction(options.model, options.masks, options.uncutWeights);
  const training = await train({
    model: options.model,
    dataset: options.dataset ?? ctx.dataset,
    train: options.train ?? ctx.config.train,
    takeStep: options.takeStep,
    learningRate: options.learningRate,
    mixBatch: options.mixBatch,
    dataSeed: options.dataSeed,
    from,
    to,
    masks: options.masks,
    snapshotAt: options.snapshotAt,
    onSnapshot: options.onSnapshot,
    gradientHook: options.gradientHook,
    onEpochEnd: options.onEpochEnd,
    control: ctx.control,
    onProgress: (p) => {
      const elapsed = (performance.now() - startedAt) / 1000;
      ctx.emit({
        type: 'progress',
        series: options.series,
        round: options.round,
        rounds: ctx.plannedRounds,
        iteration: p.iteration,
        iterations: to,
        imagesPerSecond: p.imagesPerSecond,
        ...ctx.progress.estimate(p.iteration - from, elapsed),
      });
    },
    onEval: (point) =>
      ctx.emit({ type: 'eval', series: options.series, round: options.round, sparsity: sparsityAtStart, point: curvePoint(point) }),
  });
  ctx.progress.record(training.iterations, (performance.now() - startedAt) / 1000);
  const measured = againstUncut(await measureLayers(options.model), options.uncutWeights);
  const result: RoundResult = {
    round: options.round,
    sparsity: measured.sparsity,
    layers: measured.layers,
    testAccuracy: training.final.test.accuracy,
    earlyStopIteration: training.earlyStop?.iteration ?? null,
    testAccuracyAtEarlyStop: training.earlyStop?.testAccuracy ?? null,
    trainSeconds: training.seconds,
    iterations: training.iterations,
    imagesPerSecond: training.imagesPerSecond,
    curve: training.evals.map(curvePoint),
  };
  ctx.emit({ type: 'round', series: options.series, result });
  return { result, training };
}

/** Count the rounds a resumed run already trained as done, so its progress and ETA go on from there. */
export function recordCompleted(ctx: MethodContext, rounds: RoundResult[]): void {
  for (const round of rounds) ctx.progress.record(round.iterations, round.trainSeconds);
}

/** Checkpoint state of a one-round method: the round, once trained. */
export interface SingleRoundState {
  rounds: RoundResult[];
}

/**
 * The whole run of a method that trains one network once (dense, retrain),
 * from the run's initialisation. Its only checkpoint is the finished round,
 * so a resumed run returns that round. `prepare` readies the model and says
 * what to train.
 */
export async function runSingleRound(
  ctx: MethodContext<SingleRoundState>,
  prepare: (model: Model) => { round: Omit<RoundOptions, 'series' | 'round' | 'model'>; ticket: Ticket | null },
): Promise<MethodOutput> {
  if (ctx.resume) return { rounds: ctx.resume.state.rounds };
  const model = ctx.createModel(subSeed(ctx.config.seed, 'init'));
  try {
    const { round, ticket } = prepare(model);
    const { result } = await trainRound(ctx, { ...round, series: 'ticket', round: 0, model });
    ctx.checkpoint({ round: 1, state: { rounds: [result] } satisfies SingleRoundState, tensors: {}, masks: {}, ticket });
    return { rounds: [result] };
  } finally {
    model.dispose();
  }
}
