/**
 * The one training loop every method uses: optimiser, masking after every step,
 * periodic evaluation on validation and test, and the early-stop record
 * (iteration of minimum validation loss). Metrics stay on the device between
 * evaluations; nothing is read back synchronously per step.
 */
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../config';
import type { Batch, Dataset, Split } from '../data/types';
import { applyMasks, maskTensors, type MaskSet } from '../masks/mask';
import type { Model, ModelState } from '../models/model';
import { FusedAdamOptimizer } from '../runtime/fused-optimizers';
import { yieldToEventLoop, type RunControl } from './control';

export interface Evaluation {
  loss: number;
  accuracy: number;
}

export interface EvalPoint {
  iteration: number;
  epoch: number;
  trainLoss: number;
  validation: Evaluation | null;
  test: Evaluation;
}

export interface EarlyStopRecord {
  iteration: number;
  /** Minimum validation loss. */
  loss: number;
  testAccuracy: number;
}

export interface TrainResult {
  evals: EvalPoint[];
  final: EvalPoint;
  /**
   * The iteration of minimum validation loss; null without a validation
   * split, since choosing it on the test loss would select on the test set.
   */
  earlyStop: EarlyStopRecord | null;
  iterations: number;
  seconds: number;
  imagesPerSecond: number;
  /** True when `onEpochEnd` asked to stop before the planned end. */
  endedEarly: boolean;
}

export interface TrainProgress {
  iteration: number;
  total: number;
  imagesPerSecond: number;
}

/** Gradients by variable name; a hook may replace entries (it disposes what it replaces). */
export type GradientHook = (grads: tf.NamedTensorMap, iteration: number) => void;

export interface TrainOptions {
  model: Model;
  dataset: Dataset;
  train: TrainConfig;
  /** Seeds the batch order. */
  dataSeed: number;
  /** Iteration to start at (rewinding resumes the LR schedule here) and to end before. */
  from?: number;
  to: number;
  masks?: MaskSet | null;
  /** Take a snapshot of the model after this many iterations (late resetting's rewind point). */
  snapshotAt?: number;
  onSnapshot?: (state: ModelState) => void;
  gradientHook?: GradientHook;
  onEval?: (point: EvalPoint) => void;
  onProgress?: (progress: TrainProgress) => void;
  /** Called after each completed epoch; return true to stop training there. */
  onEpochEnd?: (epoch: number, iteration: number) => Promise<boolean | void> | boolean | void;
  control?: RunControl;
  /**
   * Takes each step in place of `trainStep`, with the loop's optimiser and
   * batch, for methods that train other variables than the weights (the
   * scores of score-masks.ts, a fresh head); returns the batch loss.
   */
  takeStep?: (optimizer: tf.Optimizer, batch: Batch, iteration: number) => tf.Scalar;
  /** The learning rate at an epoch, in place of the config's step decay (a cosine schedule). */
  learningRate?: (epoch: number) => number;
  /**
   * Extra examples added to each drawn batch (the ownership trigger set):
   * returns a new batch; the loop disposes both.
   */
  mixBatch?: (batch: Batch, iteration: number) => Batch;
  /**
   * The optimiser to step with, kept (not disposed) after this call, for a
   * run trained in pieces whose momentum goes on from one to the next (a
   * network shrunk between them carries its state: models/shrink.ts).
   * Default: a fresh one from `train`, disposed at the end.
   */
  optimizer?: tf.Optimizer;
}

const EVAL_BATCH = 500;
/** GPU backends queue work asynchronously; reading a scalar this often bounds the queue. */
const GPU_SYNC_EVERY = 8;
const PROGRESS_EVERY_MS = 250;

/**
 * tfjs 4.22's MomentumOptimizer.dispose() skips its parent's, leaking the
 * cached -lr scalar once per training run; free it too.
 */
export function disposeOptimizer(optimizer: tf.Optimizer): void {
  optimizer.dispose();
  // tfjs optimizers answer `instanceof` by duck typing, so ask for the class name.
  if (optimizer.getClassName() === 'Momentum') tf.SGDOptimizer.prototype.dispose.call(optimizer);
}

/** tfjs's Adam (β 0.9, 0.999; each variable's update one kernel where the backend has it) or momentum SGD. */
export function createOptimizer(train: TrainConfig): tf.Optimizer {
  return train.optimizer === 'adam' ? new FusedAdamOptimizer(train.lr) : tf.train.momentum(train.lr, train.momentum);
}

function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  // SGD/momentum cache -lr as a tensor behind setLearningRate; Adam reads the field each step.
  const sgd = optimizer as tf.SGDOptimizer;
  if (typeof sgd.setLearningRate === 'function') sgd.setLearningRate(lr);
  else (optimizer as tf.AdamOptimizer & { learningRate: number }).learningRate = lr;
}

/** Step-decayed learning rate at `epoch` (EarlyBird's x0.1 at 50% and 75%, say). */
export function learningRateAt(train: TrainConfig, epoch: number): number {
  const decays = train.lrDecayEpochs.filter((e) => epoch >= e).length;
  return train.lr * Math.pow(train.lrDecay, decays);
}

function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, numClasses: number): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, numClasses), logits) as tf.Scalar;
}

/** Loss and accuracy over a whole split, in batches, with one read-back at the end. */
export async function evaluate(model: Model, split: Split, numClasses: number): Promise<Evaluation> {
  let totals = tf.zeros([2]);
  for (let start = 0; start < split.size; start += EVAL_BATCH) {
    const size = Math.min(EVAL_BATCH, split.size - start);
    const next = tf.tidy(() => {
      const x = split.x.slice([start, 0, 0, 0], [size, -1, -1, -1]);
      const y = split.y.slice([start], [size]);
      const logits = model.forward(x, false);
      const lossSum = tf.losses.softmaxCrossEntropy(tf.oneHot(y, numClasses), logits, undefined, undefined, tf.Reduction.SUM);
      const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'float32'));
      return tf.add(totals, tf.stack([lossSum, correct]));
    });
    totals.dispose();
    totals = next;
  }
  const [lossSum, correct] = await totals.data();
  totals.dispose();
  return { loss: lossSum / split.size, accuracy: correct / split.size };
}

export interface TrainStepOptions {
  model: Model;
  optimizer: tf.Optimizer;
  batch: Batch;
  numClasses: number;
  weightDecay: number;
  /** Device masks from `maskTensors`, applied after the optimiser step; null trains dense. */
  masks: Map<string, tf.Tensor> | null;
  /** `model.trainableVariables`, passed in so a loop builds the list once. */
  variables: tf.Variable[];
  gradientHook?: GradientHook;
  iteration: number;
}

/**
 * One optimiser step exactly as `train` takes it (gradients, hook, weight
 * decay, update, BN statistics, masks), shared with the benchmarks so they
 * time the lab's real step. Returns the batch loss, which the caller disposes;
 * the batch stays the caller's.
 */
export function trainStep(step: TrainStepOptions): tf.Scalar {
  const { model, batch } = step;
  const { value, grads: byVariable } = tf.variableGrads(
    () => crossEntropy(model.forward(batch.x, true), batch.y, step.numClasses),
    step.variables,
  );
  const grads = byParamName(model, byVariable);
  step.gradientHook?.(grads, step.iteration);
  if (step.weightDecay > 0) addWeightDecay(grads, model, step.weightDecay);
  step.optimizer.applyGradients(byVariableName(model, grads));
  model.commitBatchStats(batch.x.shape[0]);
  if (step.masks) applyMasks(model, step.masks);
  tf.dispose(Object.values(grads));
  return value;
}

export async function train(options: TrainOptions): Promise<TrainResult> {
  const { model, dataset, train: config, control } = options;
  const from = options.from ?? 0;
  const to = options.to;
  const optimizer = options.optimizer ?? createOptimizer(config);
  const masks = options.masks ? maskTensors(options.masks) : null;
  const stream = dataset.batches(config.batchSize, options.dataSeed);
  const variables = model.trainableVariables;
  const onGpu = ['webgpu', 'webgl'].includes(tf.getBackend());
  const evals: EvalPoint[] = [];
  let earlyStop: EarlyStopRecord | null = null;
  let lossSum: tf.Scalar = tf.scalar(0);
  let lossCount = 0;
  let trainSeconds = 0;
  let imagesSeen = 0;
  let lastYield = performance.now();
  let lastProgress = 0;
  let endedEarly = false;
  let iteration = from;

  if (masks) applyMasks(model, masks);
  if (from === options.snapshotAt) options.onSnapshot?.(model.snapshot());

  const runEval = async (): Promise<EvalPoint> => {
    const trainLoss = lossCount > 0 ? (await lossSum.data())[0] / lossCount : NaN;
    lossSum.dispose();
    lossSum = tf.scalar(0);
    lossCount = 0;
    const validation = dataset.validation ? await evaluate(model, dataset.validation, dataset.numClasses) : null;
    const test = await evaluate(model, dataset.test, dataset.numClasses);
    const point: EvalPoint = { iteration, epoch: iteration / stream.stepsPerEpoch, trainLoss, validation, test };
    if (validation && (!earlyStop || validation.loss < earlyStop.loss)) {
      earlyStop = { iteration, loss: validation.loss, testAccuracy: test.accuracy };
    }
    evals.push(point);
    options.onEval?.(point);
    return point;
  };

  try {
    const rateAt = options.learningRate ?? ((epoch: number) => learningRateAt(config, epoch));
    let epoch = Math.floor(from / stream.stepsPerEpoch);
    setLearningRate(optimizer, rateAt(epoch));
    // Keep the batch order of a resumed schedule aligned with a run from 0.
    for (let skipped = 0; skipped < from % stream.stepsPerEpoch; skipped++) tf.dispose(Object.values(stream.next()));

    while (iteration < to) {
      await control?.checkpoint();
      const started = performance.now();
      const drawn = stream.next();
      const batch = options.mixBatch ? options.mixBatch(drawn, iteration) : drawn;
      if (batch !== drawn) tf.dispose([drawn.x, drawn.y]);
      const value = options.takeStep
        ? options.takeStep(optimizer, batch, iteration)
        : trainStep({
            model,
            optimizer,
            batch,
            numClasses: dataset.numClasses,
            weightDecay: config.weightDecay,
            masks,
            variables,
            gradientHook: options.gradientHook,
            iteration,
          });
      const nextLoss = tf.add(lossSum, value) as tf.Scalar;
      lossSum.dispose();
      lossSum = nextLoss;
      lossCount++;
      tf.dispose([value, batch.x, batch.y]);
      iteration++;
      if (onGpu && iteration % GPU_SYNC_EVERY === 0) await lossSum.data();
      const now = performance.now();
      trainSeconds += (now - started) / 1000;
      imagesSeen += batch.x.shape[0];
      if (now - lastProgress > PROGRESS_EVERY_MS || iteration === to) {
        lastProgress = now;
        options.onProgress?.({ iteration, total: to, imagesPerSecond: imagesSeen / Math.max(trainSeconds, 1e-9) });
      }
      if (now - lastYield > 50) {
        await yieldToEventLoop();
        lastYield = performance.now();
      }
      if (iteration === options.snapshotAt) options.onSnapshot?.(model.snapshot());
      if ((iteration - from) % config.evalEvery === 0 && iteration !== to) await runEval();
      if (iteration % stream.stepsPerEpoch === 0) {
        epoch = iteration / stream.stepsPerEpoch;
        setLearningRate(optimizer, rateAt(epoch));
        if (options.onEpochEnd && (await options.onEpochEnd(epoch, iteration))) {
          endedEarly = iteration < to;
          break;
        }
      }
    }
    const final = await runEval();
    return {
      evals,
      final,
      earlyStop,
      iterations: iteration - from,
      seconds: trainSeconds,
      imagesPerSecond: imagesSeen / Math.max(trainSeconds, 1e-9),
      endedEarly,
    };
  } finally {
    lossSum.dispose();
    if (!options.optimizer) disposeOptimizer(optimizer);
    if (masks) tf.dispose([...masks.values()]);
    model.discardBatchStats();
  }
}

function byParamName(model: Model, grads: tf.NamedTensorMap): tf.NamedTensorMap {
  const out: tf.NamedTensorMap = {};
  for (const [name, variable] of model.params) if (grads[variable.name]) out[name] = grads[variable.name];
  return out;
}

function byVariableName(model: Model, grads: tf.NamedTensorMap): tf.NamedTensorMap {
  const out: tf.NamedTensorMap = {};
  for (const [name, grad] of Object.entries(grads)) out[model.params.get(name)!.name] = grad;
  return out;
}

/** Coupled L2 (as PyTorch's `weight_decay`): grad += wd * w, before the optimiser sees it. */
function addWeightDecay(grads: tf.NamedTensorMap, model: Model, weightDecay: number): void {
  for (const [name, variable] of model.params) {
    const grad = grads[name];
    if (!grad) continue;
    grads[name] = tf.tidy(() => tf.add(grad, tf.mul(variable, weightDecay)));
    grad.dispose();
  }
}
