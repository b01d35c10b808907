/**
 * SuperTickets (You et al., ECCV 2022; reference code RICE-EIC/SuperTickets):
 * one training run of a supernet searches its architecture and prunes its
 * weights. The search is network slimming on the branch BN scales, each
 * branch's sign-L1 weighted by its FLOPs per channel; at every event the
 * channels under the threshold are cut out of the network (models/shrink.ts)
 * and a branch with none left goes. The same events prune the weights
 * progressively by global magnitude, with pruned weights allowed back
 * ("regrow", the reference's behaviour) or not ("monotone"). The arms beside
 * it run on the same schedule. The two-in-one network becomes the run's
 * ticket file (ticket.ts), and the transfer test moves it to other classes
 * (transfer.ts). Notes: ../shared/reference/next-methods.md, 5.
 */
import * as tf from '@tensorflow/tfjs';
import type { Ticket } from '../../checkpoint';
import type { ExperimentConfig } from '../../config';
import type { Batch } from '../../data/types';
import { saveMasks, saveState } from '../../io/saved';
import { evaluate, createOptimizer, disposeOptimizer, train, trainStep, type GradientHook, type TrainResult } from '../../train/trainer';
import { forwardFlops } from '../../masks/channel-masks';
import { MaskSet, countOnes, measureLayers, readKernels } from '../../masks/mask';
import { randomMaskLike } from '../../masks/prune';
import { walkLayers } from '../../models/layers';
import { Model, disposeState, type ModelState } from '../../models/model';
import { archLayers } from '../../models/registry';
import { channelCuts, cutValues, shrinkModel } from '../../models/shrink';
import type { CurvePoint, RoundResult, SeriesName } from '../../results';
import { subSeed } from '../../rng';
import type { MethodContext, PruningMethod } from '../method';
import { curvePoint, recordCompleted } from '../round';
import { superticketsSpec } from './config';
import type {
  BranchChannels,
  NetworkState,
  SupernetArm,
  SuperTicketsView,
  SuperTicketsArm,
  SuperTicketsArms,
  SuperTicketsEvent,
  SuperTicketsImpArm,
  SuperTicketsOutput,
  SuperTicketsResults,
  SuperTicketsState,
  SuperTicketsTransferView,
} from './results';
import { supernetTicket } from './ticket';
import { checkTransfer, runTransfer, taskContext, transferArms, transferTasks, type TransferTrainer } from './transfer';
import { aliveChannels, branchPenalties, pruneEvent, pruneEvents, rhoAt, settleEvent, type BranchCost, type MaskMode } from './schedule';

const BRANCH_NAME = /^(.+)_k(\d+)$/;

/** Stage and kernel size of a branch BN layer (`conv_1_k5` -> conv_1, 5). */
function parseBranch(name: string): { stage: string; kernel: number } {
  const match = BRANCH_NAME.exec(name);
  if (!match) throw new Error(`"${name}" is not a supernet branch (expected <stage>_k<kernel>)`);
  return { stage: match[1], kernel: Number(match[2]) };
}

/** What one branch channel costs: its k x k window over every input channel, at every pixel of its stage. */
export function branchCosts(model: Pick<Model, 'layers' | 'inputShape' | 'batchNorms'>): BranchCost[] {
  const inputs = new Map<string, readonly number[]>();
  for (const { layer, input } of walkLayers(model.layers, model.inputShape)) if (layer.name) inputs.set(layer.name, input);
  return model.batchNorms.map((bn) => {
    const { stage, kernel } = parseBranch(bn.name);
    const [h, w, c] = inputs.get(stage)!;
    return { name: bn.name, channels: bn.channels, flopsPerChannel: 2 * h * w * kernel * kernel * c };
  });
}

/**
 * Network slimming's sign-L1 on every branch BN scale, times the branch's
 * FLOP penalty and the warmed-up strength at the step:
 * grad_gamma += rho(t) * penalty_branch * sign(gamma). `current` reads the
 * model and penalties in force (both change when channels are cut).
 */
export function searchHook(current: () => { model: Model; penalties: Map<string, number> }, rho: number, warmupSteps: number, until: number): GradientHook {
  return (grads, iteration) => {
    const strength = iteration < until ? rhoAt(iteration, rho, warmupSteps) : 0;
    if (strength === 0) return;
    const { model, penalties } = current();
    for (const bn of model.batchNorms) {
      const name = `${bn.name}/bn_gamma`;
      const grad = grads[name];
      if (!grad) continue;
      grads[name] = tf.tidy(() => tf.add(grad, tf.mul(tf.sign(bn.gamma), strength * penalties.get(bn.name)!)));
      grad.dispose();
    }
  };
}

/** One point where an arm stops training to cut channels and/or prune weights. */
interface ArmEvent {
  step: number;
  cut: boolean;
  /** Sparsity to prune to here; null: no weight pruning. */
  sparsity: number | null;
}

interface ArmPlan {
  series: SeriesName;
  mode: MaskMode;
  events: ArmEvent[];
  /** The search's sign-L1 acts before this step. */
  searchUntil: number;
}

/** The two-in-one schedule (and the monotone arm's): every prune event also cuts dead channels. */
export function twoInOnePlan(config: ExperimentConfig, iterations: number, series: SeriesName, mode: MaskMode): ArmPlan {
  const { events, increment, targetSparsity } = config.supertickets;
  return {
    series,
    mode,
    events: pruneEvents(iterations, events, increment, targetSparsity).map((e) => ({ step: e.step, cut: true, sparsity: e.sparsity })),
    searchUntil: iterations,
  };
}

/** Two-stage: the same cut events while searching, then at the end of the search one cut and one prune to the target; fine-tuning after. */
export function twoStagePlan(config: ExperimentConfig, iterations: number): ArmPlan {
  const searchUntil = Math.max(1, Math.min(iterations - 1, Math.round(config.supertickets.twoStageSearch * iterations)));
  const searchEvents = twoInOnePlan(config, iterations, 'two-stage', 'monotone').events.filter((e) => e.step < searchUntil);
  return {
    series: 'two-stage',
    mode: 'monotone',
    events: [...searchEvents.map((e) => ({ ...e, sparsity: null })), { step: searchUntil, cut: true, sparsity: config.supertickets.targetSparsity }],
    searchUntil,
  };
}

/** An arm's network as it trains: it is replaced when channels are cut out. */
interface ArmNetwork {
  model: Model;
  optimizer: tf.Optimizer;
  masks: MaskSet;
  /** Each pruned weight's value when it was pruned (regrow mode), by layer. */
  stale: Map<string, Float32Array>;
  penalties: Map<string, number>;
  /** The initial weights, cut as the network is: what the two-in-one ticket retrains from (null for arms without a ticket). */
  rewind: ModelState | null;
}

function channelsOf(stages: readonly string[], kernels: readonly number[], model: Model): BranchChannels {
  const widths = new Map(model.batchNorms.map((bn) => [bn.name, bn.channels]));
  return Object.fromEntries(stages.map((stage) => [stage, Object.fromEntries(kernels.map((k) => [`k${k}`, widths.get(`${stage}_k${k}`) ?? 0]))]));
}

/** `model.channels` of a supernet as it stands: each stage's width and each branch's channels (0 once gone). */
export function channelCounts(model: Model, stages: readonly string[], kernels: readonly number[]): Record<string, number> {
  const widths = new Map<string, number>();
  for (const { layer, output } of walkLayers(model.layers, model.inputShape)) if (layer.name) widths.set(layer.name, output[output.length - 1]);
  const branches = channelsOf(stages, kernels, model);
  return Object.fromEntries(stages.flatMap((stage) => [[stage, widths.get(stage)!], ...kernels.map((k) => [`${stage}_k${k}`, branches[stage][`k${k}`]])]));
}

function networkState(net: ArmNetwork, stages: readonly string[], kernels: readonly number[]): NetworkState {
  let params = 0;
  for (const m of net.masks.layers.values()) params += countOnes(m.keep);
  return { channels: channelsOf(stages, kernels, net.model), flops: forwardFlops(net.model), params };
}

/**
 * Cut out every branch channel whose |gamma| is at most `threshold` times
 * its stage's largest. A stage whose scales are all 0 would lose every
 * channel: it keeps its first one instead, and the note says so.
 */
async function cutDeadChannels(net: ArmNetwork, threshold: number): Promise<{ net: ArmNetwork; removed: number; note?: string }> {
  const byStage = new Map<string, Map<string, Float32Array>>();
  for (const bn of net.model.batchNorms) {
    const { stage } = parseBranch(bn.name);
    if (!byStage.has(stage)) byStage.set(stage, new Map());
    byStage.get(stage)!.set(bn.name, (await bn.gamma.data()) as Float32Array);
  }
  const channelKeep = new Map<string, Uint8Array>();
  const notes: string[] = [];
  for (const [stage, gammas] of byStage) {
    const alive = aliveChannels(gammas, threshold);
    if ([...alive.values()].every((keep) => countOnes(keep) === 0)) {
      alive.values().next().value![0] = 1;
      notes.push(`every channel of ${stage} has gamma 0: its first channel is kept so the network stays connected`);
    }
    for (const [name, keep] of alive) channelKeep.set(name, keep);
  }
  const removed = [...channelKeep.values()].reduce((n, keep) => n + keep.length - countOnes(keep), 0);
  const note = notes.length > 0 ? notes.join('; ') : undefined;
  if (removed === 0) return { net, removed, note };
  const shapes = new Map(net.model.prunable.map((l) => [l.name, l.shape]));
  const cuts = channelCuts(net.model.layers, net.model.inputShape, channelKeep);
  const shrunk = await shrinkModel({ model: net.model, channelKeep, masks: net.masks, optimizer: net.optimizer, states: net.rewind ? [net.rewind] : [] });
  const stale = new Map<string, Float32Array>();
  for (const layer of shrunk.model.prunable) {
    const axes = cuts.get(`${layer.name}/kernel`);
    const values = net.stale.get(layer.name)!;
    stale.set(layer.name, axes ? cutValues(values, shapes.get(layer.name)!, axes) : values);
  }
  net.model.dispose();
  if (net.rewind) disposeState(net.rewind);
  const rewind = net.rewind ? shrunk.states[0] : null;
  return { net: { ...net, model: shrunk.model, masks: shrunk.masks!, stale, penalties: branchPenalties(branchCosts(shrunk.model)), rewind }, removed, note };
}

/** Prune the weights to `sparsity` by global magnitude in `mode`; pruned entries read 0, regrown ones their old value. */
async function pruneWeights(net: ArmNetwork, sparsity: number, mode: MaskMode): Promise<{ regrowth: number; sparsity: number }> {
  const weights = await readKernels(net.model);
  const event = pruneEvent(net.masks, weights, net.stale, sparsity, mode);
  const kernels = settleEvent(net.masks, event.masks, weights, net.stale);
  for (const [name, values] of kernels) {
    const kernel = net.model.kernel(name);
    tf.tidy(() => kernel.assign(tf.tensor(values, kernel.shape)));
  }
  net.masks = event.masks;
  return { regrowth: event.regrowth, sparsity: event.masks.sparsity() };
}

interface SegmentRun {
  ctx: MethodContext<SuperTicketsState>;
  series: SeriesName;
  round: number;
  curve: CurvePoint[];
  seconds: number;
  images: number;
  iterations: number;
}

/** The device side of regrow mode for one segment: each layer's mask and its pruned weights' values (0 where kept). */
export interface PrunedValues {
  masks: Map<string, tf.Tensor>;
  values: Map<string, tf.Variable>;
}

/** `stale`'s values of the weights `masks` prunes, on the device; the caller ends with `downloadPruned`. */
export function uploadPruned(masks: MaskSet, stale: ReadonlyMap<string, Float32Array>): PrunedValues {
  const out: PrunedValues = { masks: new Map(), values: new Map() };
  for (const [name, m] of masks.layers) {
    const values = stale.get(name)!;
    out.masks.set(name, tf.tensor(Float32Array.from(m.keep), m.shape));
    out.values.set(name, tf.variable(tf.tensor(Float32Array.from(m.keep, (k, i) => (k ? 0 : values[i])), m.shape), false));
  }
  return out;
}

/** The pruned weights' values, read back (an event re-ranks them), with the device side freed. */
export async function downloadPruned(pruned: PrunedValues): Promise<Map<string, Float32Array>> {
  try {
    const names = [...pruned.values.keys()];
    const values = await Promise.all(names.map((name) => pruned.values.get(name)!.data() as Promise<Float32Array>));
    return new Map(names.map((name, i) => [name, values[i]]));
  } finally {
    tf.dispose([...pruned.masks.values(), ...pruned.values.values()]);
  }
}

/**
 * One step of regrow mode as the reference's masked layers take it: they
 * compute with W x M and leave the pruned weights' values in W (its
 * `set_zeros` is a no-op), so a pruned weight gets no task gradient, only
 * weight decay on its own value, while the optimiser's state (momentum,
 * Adam's moments) keeps moving it between events. Here the model holds
 * W x M between steps, so every forward and evaluation sees the sparse
 * network, and `pruned.values` holds the pruned weights: the step masks
 * their gradients, adds their weight decay, lets the optimiser update their
 * zeroed entries, and moves what it did there onto their values.
 */
export function referenceStep(model: Model, pruned: PrunedValues, numClasses: number, weightDecay: number, hook?: GradientHook) {
  const variables = model.trainableVariables;
  const maskGradients: GradientHook = (grads, iteration) => {
    hook?.(grads, iteration);
    for (const [name, mask] of pruned.masks) {
      const key = `${name}/kernel`;
      const grad = grads[key];
      if (!grad) continue;
      grads[key] = tf.tidy(() => {
        const masked = tf.mul(grad, mask);
        return weightDecay > 0 ? tf.add(masked, tf.mul(pruned.values.get(name)!, weightDecay)) : masked;
      });
      grad.dispose();
    }
  };
  return (optimizer: tf.Optimizer, batch: Batch, iteration: number): tf.Scalar => {
    const loss = trainStep({ model, optimizer, batch, numClasses, weightDecay, masks: null, variables, gradientHook: maskGradients, iteration });
    tf.tidy(() => {
      for (const [name, mask] of pruned.masks) {
        const kernel = model.kernel(name);
        const values = pruned.values.get(name)!;
        const kept = tf.mul(kernel, mask);
        values.assign(tf.add(values, tf.sub(kernel, kept)));
        kernel.assign(kept);
      }
    });
    return loss;
  };
}

/**
 * Train [from, to) under the current masks, reporting progress and
 * evaluations as a round does. In regrow mode, once anything is pruned, with
 * the reference's step (`referenceStep`); otherwise pruned weights are
 * zeroed after every step and stay as they were put aside.
 */
async function trainSegment(run: SegmentRun, net: ArmNetwork, from: number, to: number, hook: GradientHook | undefined, mode: MaskMode): Promise<TrainResult> {
  const { ctx } = run;
  const startedAt = performance.now();
  const sparsity = net.masks.sparsity();
  const pruned = mode === 'regrow' && sparsity > 0 ? uploadPruned(net.masks, net.stale) : null;
  let training: TrainResult;
  try {
    training = await train({
      model: net.model,
      dataset: ctx.dataset,
      train: ctx.config.train,
      // Keyed by the step, so arms that stop at the same steps see the same batches.
      dataSeed: subSeed(ctx.config.seed, `data-${from}`),
      from,
      to,
      masks: net.masks,
      optimizer: net.optimizer,
      gradientHook: hook,
      takeStep: pruned ? referenceStep(net.model, pruned, ctx.dataset.numClasses, ctx.config.train.weightDecay, hook) : undefined,
      control: ctx.control,
      onProgress: (p) =>
        ctx.emit({
          type: 'progress',
          series: run.series,
          round: run.round,
          rounds: ctx.plannedRounds,
          iteration: p.iteration,
          iterations: ctx.iterations,
          imagesPerSecond: p.imagesPerSecond,
          ...ctx.progress.estimate(p.iteration - from, (performance.now() - startedAt) / 1000),
        }),
      onEval: (point) => ctx.emit({ type: 'eval', series: run.series, round: run.round, sparsity, point: curvePoint(point) }),
    });
  } finally {
    // Read back even after a failure, so nothing stays on the device.
    if (pruned) net.stale = await downloadPruned(pruned);
  }
  ctx.progress.record(training.iterations, (performance.now() - startedAt) / 1000);
  run.curve.push(...training.evals.map(curvePoint));
  run.seconds += training.seconds;
  run.images += training.imagesPerSecond * training.seconds;
  run.iterations += training.iterations;
  return training;
}

/** The arm's round: its network at the end, measured as every method's rounds are. */
async function armRound(run: SegmentRun, model: Model, final: TrainResult): Promise<RoundResult> {
  const measured = await measureLayers(model);
  const result: RoundResult = {
    round: run.round,
    sparsity: measured.sparsity,
    layers: measured.layers,
    testAccuracy: final.final.test.accuracy,
    earlyStopIteration: null,
    testAccuracyAtEarlyStop: null,
    trainSeconds: run.seconds,
    iterations: run.iterations,
    imagesPerSecond: run.seconds > 0 ? run.images / run.seconds : 0,
    curve: run.curve,
  };
  run.ctx.emit({ type: 'round', series: run.series, result });
  return result;
}

interface Supernet {
  stages: string[];
  kernels: number[];
  /** Channels per stage per branch before any cut. */
  initial: BranchChannels;
}

type ViewArms = SuperTicketsView['arms'];

function emitView(ctx: MethodContext<SuperTicketsState>, supernet: Supernet, arms: ViewArms, imp?: SuperTicketsImpArm, transfer?: SuperTicketsTransferView): void {
  const data: SuperTicketsView = {
    ...supernet,
    epochs: ctx.iterations / Math.ceil(ctx.dataset.train.size / ctx.config.train.batchSize),
    arms,
    ...(imp ? { imp: { testAccuracy: imp.testAccuracy, flops: imp.flops, params: imp.params } } : {}),
    ...(transfer ? { transfer } : {}),
  };
  ctx.emit({ type: 'view', view: 'supertickets', data });
}

/** Where an arm is drawn in the method view: its name there and the view's arms; null for arms the view does not draw (the transfer's). */
type Shown = { name: SupernetArm; arms: ViewArms } | null;

/**
 * One arm trained from `model` on `plan`: segments between events, and at
 * each event the channel cut, then the weight pruning, then a test. Returns
 * the arm and its network at the end (the caller disposes it). `rewind`
 * (the initial weights) is cut along with the network when given.
 */
async function runArm(
  ctx: MethodContext<SuperTicketsState>,
  plan: ArmPlan,
  start: { model: Model; masks: MaskSet; rewind?: ModelState },
  supernet: Supernet,
  shown: Shown,
  round: number,
): Promise<{ arm: SuperTicketsArm; result: RoundResult; net: ArmNetwork }> {
  const { config } = ctx;
  const options = config.supertickets;
  const stepsPerEpoch = Math.ceil(ctx.dataset.train.size / config.train.batchSize);
  let net: ArmNetwork = {
    model: start.model,
    optimizer: createOptimizer(config.train),
    masks: start.masks,
    stale: new Map(start.model.prunable.map((l) => [l.name, new Float32Array(l.size)])),
    penalties: branchPenalties(branchCosts(start.model)),
    rewind: start.rewind ?? null,
  };
  const hook = options.rho > 0 && plan.searchUntil > 0 ? searchHook(() => net, options.rho, Math.round(options.warmup * ctx.iterations), plan.searchUntil) : undefined;
  const run: SegmentRun = { ctx, series: plan.series, round, curve: [], seconds: 0, images: 0, iterations: 0 };
  const events: SuperTicketsEvent[] = [];
  if (shown) shown.arms[shown.name] = { events, final: null };
  try {
    let from = 0;
    for (const event of plan.events) {
      await trainSegment(run, net, from, event.step, hook, plan.mode);
      from = event.step;
      let removed = 0;
      let note: string | undefined;
      if (event.cut) ({ net, removed, note } = await cutDeadChannels(net, options.channelThreshold));
      let pruned = { regrowth: 0, sparsity: net.masks.sparsity() };
      if (event.sparsity !== null) {
        // A monotone mask cannot shrink back if a cut left it sparser than scheduled.
        const target = plan.mode === 'monotone' ? Math.max(event.sparsity, pruned.sparsity) : event.sparsity;
        if (target > event.sparsity) note = [note, `the cut left ${(100 * pruned.sparsity).toFixed(2)}% pruned, above the scheduled ${(100 * event.sparsity).toFixed(0)}%`].filter(Boolean).join('; ');
        pruned = await pruneWeights(net, target, plan.mode);
      }
      const testAccuracy = (await evaluate(net.model, ctx.dataset.test, ctx.dataset.numClasses)).accuracy;
      events.push({ epoch: event.step / stepsPerEpoch, sparsity: pruned.sparsity, regrowth: pruned.regrowth, testAccuracy, channelsRemoved: removed, ...networkState(net, supernet.stages, supernet.kernels), ...(note ? { note } : {}) });
      if (note) ctx.emit({ type: 'status', message: `${plan.series}: ${note}` });
      if (shown) emitView(ctx, supernet, shown.arms);
    }
    const final = await trainSegment(run, net, from, ctx.iterations, hook, plan.mode);
    const result = await armRound(run, net.model, final);
    const arm: SuperTicketsArm = {
      events,
      ...networkState(net, supernet.stages, supernet.kernels),
      testAccuracy: final.final.test.accuracy,
      sparsity: net.masks.sparsity(),
      trainSeconds: run.seconds,
    };
    if (shown) {
      shown.arms[shown.name] = { events, final: arm };
      emitView(ctx, supernet, shown.arms);
    }
    return { arm, result, net };
  } catch (error) {
    release(net);
    throw error;
  }
}

function release(net: ArmNetwork): void {
  disposeOptimizer(net.optimizer);
  net.model.dispose();
  if (net.rewind) disposeState(net.rewind);
}

/** Rounds in the progress bar: one per arm, two for one-shot IMP, one per transfer arm. */
function plannedArms(config: ExperimentConfig): number {
  const o = config.supertickets;
  return 1 + Number(o.compareRandomMask) + Number(o.compareMonotone) + Number(o.compareTwoStage) + 2 * Number(o.compareImp) + transferArms(config).length;
}

function requireSupernet(config: ExperimentConfig): number[] {
  const branches = config.model.branches;
  if (!branches) throw new Error('Method "supertickets" searches over parallel branches: set model.branches (e.g. [3, 5]) with model.arch "conv-4-bn"');
  return branches;
}

/** One-shot IMP to the target on the arch without branches, beside. */
async function runImpArm(ctx: MethodContext<SuperTicketsState>, state: SuperTicketsState, roundsBefore: number, ticket: Ticket | null): Promise<SuperTicketsImpArm> {
  const { config } = ctx;
  const plain = { arch: config.model.arch, width: config.model.width };
  const output = await ctx.runBeside('imp', {
    config: {
      ...config,
      model: plain,
      controls: [],
      prune: { ...config.prune, strategy: 'global', oneShotSparsity: config.supertickets.targetSparsity, rewindIteration: 0 },
    },
    series: 'imp',
    roundsBefore,
    resume: state.imp,
    checkpoint: (checkpoint) => ({ ...checkpoint, state: { ...state, imp: checkpoint.state }, ticket }),
  });
  const last = output.rounds.at(-1)!;
  const layers = archLayers(plain.arch, plain.width, ctx.dataset.numClasses);
  return {
    rounds: output.rounds,
    testAccuracy: last.testAccuracy,
    sparsity: last.sparsity,
    flops: forwardFlops({ layers, inputShape: [32, 32, 3] }),
    params: last.layers.reduce((n, l) => n + l.remaining, 0),
  };
}

/** The run's ticket file from the two-in-one network at the end: its architecture, mask and initial weights; or why it cannot be one. */
async function twoInOneTicket(config: ExperimentConfig, net: ArmNetwork, channels: Record<string, number>): Promise<Ticket | string> {
  try {
    const searched = {
      layers: net.model.layers,
      inputShape: net.model.inputShape,
      numClasses: net.model.numClasses,
      channels,
      weights: await saveState(net.rewind!),
      masks: saveMasks(net.masks),
    };
    return supernetTicket(config, searched, net.masks.sparsity());
  } catch (error) {
    return (error as Error).message;
  }
}

/** The arms a run finished before it was resumed, as the view draws them. */
function finishedView(state: SuperTicketsState): ViewArms {
  const view: ViewArms = {};
  for (const name of ['twoInOne', 'randomMask', 'monotone', 'twoStage'] as const) {
    const arm = state.arms[name];
    if (arm) view[name] = { events: arm.events, final: arm };
  }
  return view;
}

export const supertickets: PruningMethod<typeof superticketsSpec, SuperTicketsOutput, SuperTicketsState> = {
  ...superticketsSpec,
  plannedRounds: plannedArms,

  async run(runCtx) {
    const { config } = runCtx;
    const options = config.supertickets;
    const kernels = requireSupernet(config);
    checkTransfer(config);
    const tasks = transferTasks(config);
    // With a transfer test every arm but the transfer's trains on the source classes.
    const source = tasks ? runCtx.dataset.classSubset(tasks.source) : null;
    const target = tasks ? runCtx.dataset.classSubset(tasks.target) : null;
    try {
      const ctx = source ? taskContext(runCtx, source) : runCtx;
      // Refuse a schedule that cannot run before anything trains.
      twoInOnePlan(config, ctx.iterations, 'ticket', 'regrow');
      const state: SuperTicketsState = ctx.resume?.state ?? { arms: {}, rounds: [], imp: null, ticketChannels: null };
      recordCompleted(ctx, [...state.rounds, ...(state.transfer?.rounds ?? [])]);
      const initSeed = subSeed(config.seed, 'init');
      const probe = ctx.createModel(initSeed);
      const stages = [...new Set(probe.batchNorms.map((bn) => parseBranch(bn.name).stage))];
      const supernet: Supernet = { stages, kernels, initial: channelsOf(stages, kernels, probe) };
      const inputShape = probe.inputShape;
      probe.dispose();
      const transferIterations = target ? taskContext(runCtx, target).iterations * transferArms(config).length : 0;
      ctx.progress.add(ctx.iterations * (plannedArms(config) - Number(options.compareImp) - transferArms(config).length) + (options.compareImp ? 2 * ctx.iterations : 0) + transferIterations);
      // A resumed run draws the arms it finished before at once.
      const view: ViewArms = finishedView(state);
      if (Object.keys(view).length > 0) emitView(ctx, supernet, view, state.arms.imp ?? undefined);
      let ticket: Ticket | null = ctx.resume?.ticket ?? null;
      const save = () => ctx.checkpoint({ round: state.rounds.length + (state.transfer?.rounds.length ?? 0), state, tensors: {}, masks: {}, ticket });

      if (!state.arms.twoInOne) {
        const model = ctx.createModel(initSeed);
        const start = { model, masks: MaskSet.dense(model.prunable), rewind: model.snapshot() };
        const twoInOne = await runArm(ctx, twoInOnePlan(config, ctx.iterations, 'ticket', 'regrow'), start, supernet, { name: 'twoInOne', arms: view }, 0);
        try {
          state.arms.twoInOne = twoInOne.arm;
          state.ticketChannels = channelCounts(twoInOne.net.model, supernet.stages, kernels);
          const drawn = await twoInOneTicket(config, twoInOne.net, state.ticketChannels);
          if (typeof drawn === 'string') {
            state.ticketFileProblem = drawn;
            ctx.emit({ type: 'status', message: `The two-in-one ticket has no ticket file: ${drawn}` });
          } else {
            ticket = drawn;
          }
          state.rounds.push(twoInOne.result);
          if (options.compareRandomMask) {
            // The searched architecture from the same init seed, under a random mask of each layer's density; no search, no pruning events.
            const fresh = new Model(config.model.arch, twoInOne.net.model.layers, inputShape, initSeed);
            const masks = randomMaskLike(twoInOne.net.masks, subSeed(config.seed, 'random-mask'));
            const random = await runArm(ctx, { series: 'random-mask', mode: 'monotone', events: [], searchUntil: 0 }, { model: fresh, masks }, supernet, { name: 'randomMask', arms: view }, 1);
            release(random.net);
            state.arms.randomMask = random.arm;
            state.rounds.push(random.result);
          }
        } finally {
          release(twoInOne.net);
        }
        save();
      }
      const more: [SupernetArm, boolean, () => ArmPlan][] = [
        ['monotone', options.compareMonotone, () => twoInOnePlan(config, ctx.iterations, 'monotone', 'monotone')],
        ['twoStage', options.compareTwoStage, () => twoStagePlan(config, ctx.iterations)],
      ];
      for (const [name, wanted, plan] of more) {
        if (!wanted || state.arms[name]) continue;
        const model = ctx.createModel(initSeed);
        const done = await runArm(ctx, plan(), { model, masks: MaskSet.dense(model.prunable) }, supernet, { name, arms: view }, state.rounds.length);
        release(done.net);
        (state.arms as Record<string, SuperTicketsArm>)[name] = done.arm;
        state.rounds.push(done.result);
        save();
      }
      if (options.compareImp && !state.arms.imp) {
        state.arms.imp = await runImpArm(ctx, state, state.rounds.length, ticket);
        emitView(ctx, supernet, view, state.arms.imp);
      }

      let transfer: SuperTicketsResults['transfer'] = { done: false, reason: 'The transfer test is off: set supertickets.transferSource and supertickets.transferTarget to run it.' };
      if (target && !ticket) {
        transfer = { done: false, reason: `The transfer test needs the two-in-one ticket's file, which could not be made: ${state.ticketFileProblem}` };
      } else if (target && ticket) {
        state.transfer ??= { arms: {}, rounds: [] };
        const trainer: TransferTrainer = {
          train: async (task, arm, start) => {
            const plan: ArmPlan =
              arm.schedule === 'twoInOne' ? twoInOnePlan(config, task.iterations, arm.series, 'regrow') : { series: arm.series, mode: 'monotone', events: [], searchUntil: 0 };
            const done = await runArm(task as MethodContext<SuperTicketsState>, plan, start, supernet, null, arm.round);
            release(done.net);
            return done;
          },
          show: (transferView) => emitView(ctx, supernet, view, state.arms.imp ?? undefined, transferView),
        };
        transfer = await runTransfer(runCtx, target, ticket, state.transfer, trainer, state.rounds.length, save);
      }

      const arms: SuperTicketsArms = {
        twoInOne: state.arms.twoInOne!,
        twoStage: state.arms.twoStage ?? null,
        monotone: state.arms.monotone ?? null,
        randomMask: state.arms.randomMask ?? null,
        imp: state.arms.imp ?? null,
      };
      return {
        rounds: state.rounds,
        supertickets: {
          branches: kernels,
          events: arms.twoInOne.events,
          arms,
          ticketModel: { arch: config.model.arch, width: config.model.width, branches: kernels, channels: state.ticketChannels! },
          ticketFile: ticket
            ? { saved: true }
            : { saved: false, reason: state.ticketFileProblem ?? 'the two-in-one arm ran in a version of the lab that made no ticket file (resumed run)' },
          transfer,
        },
      };
    } finally {
      source?.dispose();
      target?.dispose();
    }
  },
};
