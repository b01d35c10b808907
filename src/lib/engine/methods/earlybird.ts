/**
 * Early-Bird tickets (You et al., "Drawing Early-Bird Tickets", ICLR 2020).
 * Train with network-slimming sparsity on the BN scales; at each epoch end
 * take the channel mask of the smallest |gamma| (one global ranking) and stop
 * when the last masks agree within epsilon. Then prune those channels and
 * retrain for the rest of the schedule. WORM (worm.ts) runs this same search
 * with a chi policy that damps the BN gradients of the channels to be pruned.
 */
import * as tf from '@tensorflow/tfjs';
import type { ExperimentConfig, MethodName } from '../config';
import {
  TicketDetector,
  channelKernelMasks,
  concatMasks,
  dampingFactors,
  forwardFlops,
  maskAtRatio,
  splitByLayer,
  type DetectorState,
} from '../masks/channel-masks';
import { MaskSet, applyMasks, maskTensors, readKernels } from '../masks/mask';
import { pruneGlobal } from '../masks/prune';
import type { SavedMask, SavedTensor, Ticket } from '../checkpoint';
import {
  createTicket,
  loadMasks,
  masksMismatch,
  restoreModel,
  saveMasks,
  saveModel,
  withPrefix,
  withoutPrefix,
} from '../io/saved';
import type { BatchNormLayer, Model } from '../models/model';
import { ARCH_DEFINITIONS } from '../models/registry';
import type { EmitEvent, RoundResult, SeriesName } from '../results';
import { subSeed } from '../rng';
import { evaluate, type GradientHook } from '../train/trainer';
import { globalIgnore } from './imp';
import type { MethodContext, PruningMethod } from './method';
import { recordCompleted, trainRound } from './round';

/** WORM's damping strength: chi for the next epoch from the mean queue distance of the one just ended. */
export interface ChiPolicy {
  next(meanDistance: number | null): number;
}

export type TicketSummary = {
  name: string;
  /** Epoch (1-based, epochs trained) at which the ticket was drawn; null if never. */
  epoch: number | null;
  /** Our extension: the detector ran on weight-magnitude masks, not BN channels. */
  unstructured: boolean;
  ratio: number;
  /** Every tracked ratio and the epoch its ticket appeared (the first is the one pruned). */
  ratios: { ratio: number; epoch: number | null }[];
  /** Per epoch trained (search then retraining), the largest / mean distance in the queue; null before it fills. */
  maskDistances: (number | null)[];
  meanDistances: (number | null)[];
  /** WORM: chi in force for each epoch after the one at that index (1 = no damping). */
  chi?: number[];
  scheduleEpochs: number;
  epochsToTicket: number | null;
  epochsRetrained: number;
  accuracyAtTicket: number;
  accuracyAtPruning: number | null;
  accuracyAfterRetraining: number | null;
  channelsKept: number | null;
  channelsTotal: number;
  /** Channels kept per BN layer: a global ranking can empty a whole layer, which kills the network. */
  channelsKeptByLayer: Record<string, number> | null;
  /** Training FLOPs (3x a forward pass per image: backward costs about twice the forward). */
  flopsToTicket: number | null;
  flopsRetraining: number;
  flopsTotal: number;
  flopsDense: number;
};

/** The table row the page shows for one ticket search. */
export function comparisonRow(s: TicketSummary) {
  return {
    name: s.name,
    ticketEpoch: s.epoch,
    scheduleEpochs: s.scheduleEpochs,
    accuracyAtTicket: s.accuracyAtTicket,
    accuracyAtPruning: s.accuracyAtPruning,
    accuracyAfterRetraining: s.accuracyAfterRetraining,
    channelsKept: s.channelsKept,
    channelsTotal: s.channelsTotal,
    flopsToTicket: s.flopsToTicket,
    flopsTotal: s.flopsTotal,
    flopsDense: s.flopsDense,
  };
}
export type ComparisonRow = ReturnType<typeof comparisonRow>;

export function requireBatchNorm(config: ExperimentConfig, method: MethodName): void {
  if (!ARCH_DEFINITIONS[config.model.arch].batchNorm) {
    throw new Error(`Method "${method}" ranks BatchNorm scales: model.arch "${config.model.arch}" has no BatchNorm (use conv-4-bn)`);
  }
}

/**
 * Gradient add-ons on the BN parameters, applied before weight decay and the
 * optimiser: network slimming's sign-L1 term grad_gamma += s * sign(gamma),
 * then, where `channelScales` has a factor for the layer, gamma's and beta's
 * gradients multiplied per channel (WORM's M + chi(1 - M); 0/1 to freeze
 * pruned channels while retraining).
 */
export function bnGradientHook(
  batchNorms: BatchNormLayer[],
  sparsity: number,
  channelScales: () => Map<string, tf.Tensor1D> | null,
): GradientHook {
  return (grads) => {
    const scales = channelScales();
    for (const bn of batchNorms) {
      const scale = scales?.get(bn.name);
      replaceGrad(grads, `${bn.name}/bn_gamma`, sparsity > 0 || scale !== undefined, (g) => {
        const slimmed = sparsity > 0 ? tf.add(g, tf.mul(tf.sign(bn.gamma), sparsity)) : g;
        return scale ? tf.mul(slimmed, scale) : slimmed;
      });
      if (scale) replaceGrad(grads, `${bn.name}/bn_beta`, true, (g) => tf.mul(g, scale));
    }
  };
}

function replaceGrad(grads: tf.NamedTensorMap, name: string, changes: boolean, f: (grad: tf.Tensor) => tf.Tensor): void {
  const grad = grads[name];
  if (!grad || !changes) return;
  grads[name] = tf.tidy(() => f(grad));
  grad.dispose();
}

/** Device copies of per-layer channel factors, for the gradient hook. */
function scaleTensors(factors: Map<string, Float32Array>): Map<string, tf.Tensor1D> {
  return new Map([...factors].map(([name, f]) => [name, tf.tensor1d(f)]));
}

/** |gamma| of every BN layer, concatenated in layer order. */
async function gammaMagnitudes(model: Model): Promise<Float32Array> {
  const values = await Promise.all(model.batchNorms.map((bn) => bn.gamma.data() as Promise<Float32Array>));
  const out = new Float32Array(values.reduce((n, v) => n + v.length, 0));
  let offset = 0;
  for (const v of values) {
    for (let i = 0; i < v.length; i++) out[offset + i] = Math.abs(v[i]);
    offset += v.length;
  }
  return out;
}

/** Data of the 'mask-distance' view: per series and epoch, the largest and mean queue distance. */
export interface MaskDistanceViewData {
  series: { name: string; epochs: { epoch: number; max: number | null; mean: number | null }[]; ticketEpoch: number | null }[];
  epsilon: number;
  line: string;
}

/** Data of the 'channel-masks' view: per series and epoch, one '0'/'1' string per BN layer (1 = kept). */
export interface ChannelMaskViewData {
  layers: { name: string; channels: number }[];
  series: { name: string; epochs: { epoch: number; bits: string[] }[] }[];
}

/** Data of the 'eb-comparison' view. */
export interface EbComparisonViewData {
  rows: ComparisonRow[];
}

type SeriesView = MaskDistanceViewData['series'][number] & { masks: ChannelMaskViewData['series'][number]['epochs'] };

/** What the views hold so far, for a checkpoint: a resumed run's views go on from it. */
export interface TicketViewsState {
  series: SeriesView[];
  rows: ComparisonRow[];
  layers: { name: string; channels: number }[];
}

/**
 * The page's views of one or more ticket searches (EarlyBird, WORM), each
 * re-emitted in full on every update: 'mask-distance', 'channel-masks' and
 * 'eb-comparison'. `line` is what the CLI prints per epoch.
 */
export class TicketViews {
  private readonly series: SeriesView[] = [];
  private readonly rows: ComparisonRow[] = [];
  private layers: { name: string; channels: number }[] = [];

  constructor(
    private readonly emit: EmitEvent,
    private readonly epsilon: number,
  ) {}

  save(): TicketViewsState {
    return { series: this.series, rows: this.rows, layers: this.layers };
  }

  restore(state: TicketViewsState): void {
    this.series.push(...state.series);
    this.rows.push(...state.rows);
    this.layers = state.layers;
  }

  start(name: string, layers: { name: string; channels: number }[]): void {
    this.layers = layers;
    this.series.push({ name, epochs: [], ticketEpoch: null, masks: [] });
  }

  epoch(epoch: number, state: DetectorState, channelBits: Map<string, Uint8Array> | null, line: string): void {
    const current = this.series.at(-1)!;
    current.epochs.push({ epoch, max: state.max, mean: state.mean });
    this.emit({
      type: 'view',
      view: 'mask-distance',
      data: {
        series: this.series.map(({ name, epochs, ticketEpoch }) => ({ name, epochs, ticketEpoch })),
        epsilon: this.epsilon,
        line,
      } satisfies MaskDistanceViewData,
    });
    if (!channelBits) return;
    current.masks.push({ epoch, bits: this.layers.map((l) => channelBits.get(l.name)!.join('')) });
    this.emit({
      type: 'view',
      view: 'channel-masks',
      data: { layers: this.layers, series: this.series.map(({ name, masks }) => ({ name, epochs: masks })) } satisfies ChannelMaskViewData,
    });
  }

  ticket(epoch: number): void {
    this.series.at(-1)!.ticketEpoch = epoch;
  }

  summary(summary: TicketSummary): void {
    this.rows.push(comparisonRow(summary));
    this.emit({ type: 'view', view: 'eb-comparison', data: { rows: this.rows } satisfies EbComparisonViewData });
  }
}

export interface TicketSearchOptions {
  /** 'EarlyBird' or 'WORM': the series name in the views and the summary. */
  name: string;
  series: SeriesName;
  /** null: plain EarlyBird, no damping. */
  chi: ChiPolicy | null;
  views: TicketViews;
}

/** Masks at each tracked ratio: BN channels, or (our unstructured extension) global weight magnitude. */
interface MaskReading {
  bits: Uint8Array[];
  /** The weight masks of the pruned ratio (unstructured only). */
  weightMasks: MaskSet | null;
}

async function readMasks(model: Model, config: ExperimentConfig): Promise<MaskReading> {
  const { ratios, unstructured } = config.earlybird;
  if (!unstructured) {
    const magnitudes = await gammaMagnitudes(model);
    return { bits: ratios.map((r) => maskAtRatio(magnitudes, r)), weightMasks: null };
  }
  const weights = await readKernels(model);
  const dense = MaskSet.dense(model.prunable);
  const masks = ratios.map((r) => pruneGlobal(dense, weights, r, globalIgnore(config, model)));
  return { bits: masks.map(concatMasks), weightMasks: masks[0] };
}

/** One search's results in a checkpoint: after its ticket was pruned (`finished` false: retraining next) or when done. */
export interface SearchState {
  summary: TicketSummary;
  rounds: RoundResult[];
  /** Iterations the search trained: retraining continues the schedule from there. */
  retrainFrom: number;
  finished: boolean;
}

/**
 * One search's part of a checkpoint. Before retraining, `tensors` are the
 * pruned weights retraining starts from and `masks` the kernel masks
 * (`kernel/<layer>`) and the detector queues (`detector-<ratio>/<age>`), whose
 * distances go on being recorded while retraining.
 */
export interface SearchCheckpoint {
  state: SearchState;
  tensors: Record<string, SavedTensor>;
  masks: Record<string, SavedMask>;
  ticket: Ticket | null;
}

function detectorQueues(detectors: TicketDetector[]): Record<string, SavedMask> {
  return Object.fromEntries(
    detectors.flatMap((d, i) => d.masks.map((bits, age) => [`detector-${i}/${age}`, { shape: [bits.length], keep: bits.slice() }])),
  );
}

function restoreDetectors(detectors: TicketDetector[], masks: Record<string, SavedMask>): void {
  detectors.forEach((d, i) => d.restore(Object.values(withoutPrefix(masks, `detector-${i}/`)).map((m) => m.keep)));
}

/**
 * One EarlyBird search from the run's seed: round 0 trains until the ticket
 * (or the end of the schedule), round 1 prunes it and retrains. Both EarlyBird
 * and WORM (with its chi policy) are this function. `save` gets the state
 * after each round; `resume` continues from what it saved.
 */
export async function runTicketSearch(
  ctx: MethodContext,
  options: TicketSearchOptions,
  resume: SearchCheckpoint | null,
  save: (checkpoint: SearchCheckpoint) => void,
): Promise<{ summary: TicketSummary; rounds: RoundResult[] }> {
  const { config, dataset } = ctx;
  const eb = config.earlybird;
  const stepsPerEpoch = Math.ceil(dataset.train.size / config.train.batchSize);
  const epochsOf = (iterations: number) => iterations / stepsPerEpoch;
  ctx.progress.add(ctx.iterations);
  if (resume) recordCompleted(ctx, resume.state.rounds);
  if (resume?.state.finished) return { summary: resume.state.summary, rounds: resume.state.rounds };

  const model = ctx.createModel(subSeed(config.seed, 'init'));
  const detectors = eb.ratios.map(() => new TicketDetector(eb.queueLength, eb.epsilon));
  const ratioEpochs: (number | null)[] = eb.ratios.map(() => null);
  const maskDistances: (number | null)[] = resume?.state.summary.maskDistances ?? [];
  const meanDistances: (number | null)[] = resume?.state.summary.meanDistances ?? [];
  const chiHistory: number[] = [];
  let weightMasks: MaskSet | null = null;
  let scales: Map<string, tf.Tensor1D> | null = null;
  const setScales = (factors: Map<string, Float32Array> | null) => {
    if (scales) tf.dispose([...scales.values()]);
    scales = factors && scaleTensors(factors);
  };
  const layers = model.batchNorms.map(({ name, channels }) => ({ name, channels }));
  // A resumed run's views already hold this search's series.
  if (!resume) options.views.start(options.name, eb.unstructured ? [] : layers);

  const observeEpoch = async (epoch: number, searching: boolean): Promise<boolean> => {
    const reading = await readMasks(model, config);
    weightMasks = reading.weightMasks;
    const states = reading.bits.map((bits, i) => detectors[i].push(bits));
    if (searching) states.forEach((s, i) => (ratioEpochs[i] ??= s.found ? epoch : null));
    const primary = states[0];
    maskDistances.push(primary.max);
    meanDistances.push(primary.mean);
    const found = searching && primary.found;
    const channelBits = eb.unstructured ? null : splitByLayer(reading.bits[0], layers);
    let note = found ? ' -> ticket drawn' : '';
    if (searching && !found && options.chi) {
      const chi = options.chi.next(primary.mean);
      chiHistory.push(chi);
      // Damp the channels the newest mask would prune; chi = 1 is no damping at all.
      setScales(chi < 1 ? new Map([...channelBits!].map(([name, keep]) => [name, dampingFactors(keep, chi)])) : null);
      note = `, chi ${chi}`;
    }
    if (found) options.views.ticket(epoch);
    const fmt = (d: number | null) => (d === null ? '-' : d.toFixed(3));
    const line = `[${options.name}] epoch ${epoch}${searching ? '' : ' (retraining)'}: mask distance max ${fmt(primary.max)} mean ${fmt(primary.mean)}${note}`;
    options.views.epoch(epoch, primary, channelBits, line);
    return found;
  };

  /** Round 0 and the pruning of its ticket; `kernelMasks` is null when no ticket appeared (the search is then finished). */
  const searchAndPrune = async (): Promise<{ state: SearchState; kernelMasks: MaskSet | null }> => {
    const search = await trainRound(ctx, {
      series: options.series,
      round: 0,
      model,
      masks: null,
      dataSeed: subSeed(config.seed, 'data-0'),
      gradientHook: bnGradientHook(model.batchNorms, eb.sparsity, () => scales),
      onEpochEnd: (epoch) => observeEpoch(epoch, true),
    });
    const rounds = [search.result];
    const ticketEpoch = ratioEpochs[0];
    const denseEpochFlops = 3 * forwardFlops(model) * dataset.train.size;
    const scheduleEpochs = epochsOf(ctx.iterations);
    const summary: TicketSummary = {
      name: options.name,
      epoch: ticketEpoch,
      unstructured: eb.unstructured,
      ratio: eb.ratios[0],
      ratios: eb.ratios.map((ratio, i) => ({ ratio, epoch: ratioEpochs[i] })),
      maskDistances,
      meanDistances,
      ...(options.chi ? { chi: chiHistory } : {}),
      scheduleEpochs,
      epochsToTicket: ticketEpoch,
      epochsRetrained: 0,
      accuracyAtTicket: search.result.testAccuracy,
      accuracyAtPruning: null,
      accuracyAfterRetraining: null,
      channelsKept: null,
      channelsKeptByLayer: null,
      channelsTotal: layers.reduce((n, l) => n + l.channels, 0),
      flopsToTicket: null,
      flopsRetraining: 0,
      flopsTotal: epochsOf(search.training.iterations) * denseEpochFlops,
      flopsDense: scheduleEpochs * denseEpochFlops,
    };
    const state: SearchState = { summary, rounds, retrainFrom: search.training.iterations, finished: ticketEpoch === null };
    if (ticketEpoch === null) return { state, kernelMasks: null };

    let kernelMasks: MaskSet;
    if (eb.unstructured) {
      kernelMasks = weightMasks!;
    } else {
      const channelKeep = splitByLayer(detectors[0].newest!, layers);
      zeroChannels(model, channelKeep);
      kernelMasks = channelKernelMasks(model, channelKeep);
      const kept = new Map([...channelKeep].map(([name, keep]) => [name, keep.reduce((n, k) => n + k, 0)]));
      summary.channelsKept = [...kept.values()].reduce((a, b) => a + b, 0);
      summary.channelsKeptByLayer = Object.fromEntries(kept);
    }
    const masks = maskTensors(kernelMasks);
    applyMasks(model, masks);
    tf.dispose([...masks.values()]);
    summary.accuracyAtPruning = (await evaluate(model, dataset.test, dataset.numClasses)).accuracy;
    const pruned =
      summary.channelsKept === null
        ? `${(100 * kernelMasks.sparsity()).toFixed(1)}% of weights`
        : `${summary.channelsTotal - summary.channelsKept} of ${summary.channelsTotal} channels`;
    const emptied = Object.entries(summary.channelsKeptByLayer ?? {}).filter(([, kept]) => kept === 0);
    ctx.emit({
      type: 'status',
      message:
        `[${options.name}] ticket at epoch ${ticketEpoch}: pruned ${pruned}, test accuracy ${(100 * summary.accuracyAtTicket).toFixed(1)}% before, ` +
        `${(100 * summary.accuracyAtPruning).toFixed(1)}% right after pruning` +
        (emptied.length ? `; warning: ${emptied.map(([name]) => name).join(', ')} lost every channel, so no signal passes` : ''),
    });
    return { state, kernelMasks };
  };

  /** The pruned network retraining starts from, as the checkpoint left it. */
  const restorePruned = (saved: SearchCheckpoint): { state: SearchState; kernelMasks: MaskSet } => {
    const kernelMasks = withoutPrefix(saved.masks, 'kernel/');
    const mismatch = masksMismatch(model, kernelMasks);
    if (mismatch) throw new Error(`Cannot resume: the checkpoint does not fit model ${config.model.arch}: ${mismatch}`);
    restoreModel(model, saved.tensors, 'Cannot resume: the checkpoint');
    restoreDetectors(detectors, saved.masks);
    return { state: saved.state, kernelMasks: loadMasks(kernelMasks) };
  };

  try {
    const { state, kernelMasks } = resume ? restorePruned(resume) : await searchAndPrune();
    const { summary, rounds } = state;
    if (!kernelMasks) {
      options.views.summary(summary);
      save({ state, tensors: {}, masks: {}, ticket: null });
      return { summary, rounds };
    }
    let ticket = resume?.ticket ?? null;
    if (!resume) {
      ticket = createTicket(config, model, { round: 1, masks: kernelMasks, weights: await saveModel(model), iteration: state.retrainFrom });
      const masks = { ...withPrefix(saveMasks(kernelMasks), 'kernel/'), ...detectorQueues(detectors) };
      save({ state, tensors: ticket.weights, masks, ticket });
    }
    if (!eb.unstructured) {
      // Pruned gamma and beta stay exactly 0 while retraining: their gradients
      // are masked (chi = 0) and the optimiser starts fresh, so neither
      // momentum nor weight decay (wd * 0) can move them.
      const channelKeep = splitByLayer(detectors[0].newest!, layers);
      setScales(new Map([...channelKeep].map(([name, keep]) => [name, dampingFactors(keep, 0)])));
    }
    // Masks alone save no FLOPs on dense kernels: unstructured retraining is counted at the dense rate.
    const kept = summary.channelsKeptByLayer ? new Map(Object.entries(summary.channelsKeptByLayer)) : undefined;
    const retrainEpochFlops = 3 * forwardFlops(model, kept) * dataset.train.size;
    const from = state.retrainFrom;
    const to = eb.retrainEpochs === undefined ? ctx.iterations : from + eb.retrainEpochs * stepsPerEpoch;
    const retrain = await trainRound(ctx, {
      series: options.series,
      round: 1,
      model,
      masks: kernelMasks,
      dataSeed: subSeed(config.seed, 'data-1'),
      from,
      to,
      // The sign-L1 term stays on while retraining, as in the reference's
      // retraining script (it adds 0 on the pruned channels, whose gamma is 0).
      gradientHook: eb.unstructured ? undefined : bnGradientHook(model.batchNorms, eb.sparsity, () => scales),
      onEpochEnd: (epoch) => observeEpoch(epoch, false),
    });
    rounds.push(retrain.result);
    summary.accuracyAfterRetraining = retrain.result.testAccuracy;
    summary.epochsRetrained = epochsOf(retrain.training.iterations);
    summary.flopsToTicket = summary.flopsTotal;
    summary.flopsRetraining = summary.epochsRetrained * retrainEpochFlops;
    summary.flopsTotal += summary.flopsRetraining;
    options.views.summary(summary);
    save({ state: { ...state, finished: true }, tensors: {}, masks: {}, ticket });
    return { summary, rounds };
  } finally {
    setScales(null);
    model.dispose();
  }
}

/** Zero gamma and beta of the pruned channels. */
function zeroChannels(model: Model, channelKeep: Map<string, Uint8Array>): void {
  for (const bn of model.batchNorms) {
    tf.tidy(() => {
      const keep = tf.tensor1d(Float32Array.from(channelKeep.get(bn.name)!));
      bn.gamma.assign(tf.mul(bn.gamma, keep));
      bn.beta.assign(tf.mul(bn.beta, keep));
    });
  }
}

export const EARLYBIRD_DIFFERENCES =
  'Conv-4-BN (Conv-4 with BatchNorm after every conv) instead of VGG-16 / PreResNet-101, and shipped quick configs with a scaled schedule; ' +
  'the mask is taken at each epoch end (the reference takes it at the next epoch start: the same weights); ' +
  'pruning zeroes gamma, beta and the dead conv/dense kernel slices instead of building a slimmer network (same function); ' +
  'retraining continues the LR schedule with a fresh optimiser state. ' +
  'OUR extension, not in the paper: earlybird.unstructured runs the same detector on global weight-magnitude masks (IMP-style tickets drawn early).';

export const earlybird: PruningMethod = {
  name: 'earlybird',
  summary:
    'Early-Bird tickets: train with sign-L1 on BN scales, stop when the channel mask of the smallest |gamma| stops changing, prune those channels and retrain.',
  differences: EARLYBIRD_DIFFERENCES,
  plannedRounds: () => 2,

  async run(ctx) {
    if (!ctx.config.earlybird.unstructured) requireBatchNorm(ctx.config, 'earlybird');
    const views = new TicketViews(ctx.emit, ctx.config.earlybird.epsilon);
    const saved = ctx.resume?.state as EarlyBirdState | undefined;
    if (saved) views.restore(saved.views);
    const resume = ctx.resume && saved ? { ...ctx.resume, state: saved.search } : null;
    const { summary, rounds } = await runTicketSearch(ctx, { name: 'EarlyBird', series: 'ticket', chi: null, views }, resume, (search) =>
      ctx.checkpoint({ ...search, round: search.state.rounds.length, state: { views: views.save(), search: search.state } satisfies EarlyBirdState }),
    );
    return { rounds, ticket: summary };
  },
};

/** EarlyBird's checkpoint state: its search and the views drawn so far. */
interface EarlyBirdState {
  views: TicketViewsState;
  search: SearchState;
}
