/**
 * One ticket search from the run's seed (You et al., ICLR 2020): round 0
 * trains with sign-L1 on the BN scales, taking the channel mask of the
 * smallest |gamma| at every epoch end until the last masks agree within
 * epsilon; round 1 prunes those channels and retrains. EarlyBird is this
 * search; WORM is this search with a chi policy that damps the BN gradients
 * of the channels about to be pruned.
 */
import * as tf from '@tensorflow/tfjs';
import type { ExperimentConfig } from '../../config';
import { createTicket, saveModel } from '../../io/saved';
import {
  TicketDetector,
  channelKernelMasks,
  concatMasks,
  dampingFactors,
  keepStrongestPerLayer,
  maskAtRatio,
  splitByLayer,
} from '../../masks/channel-masks';
import { MaskSet, applyMasks, maskTensors, readKernels } from '../../masks/mask';
import { pruneGlobal } from '../../masks/prune';
import type { Model } from '../../models/model';
import { keepOneInEmptied, shrinkModel } from '../../models/shrink';
import type { RoundResult, SeriesName } from '../../results';
import { subSeed } from '../../rng';
import { evaluate } from '../../train/trainer';
import { globalIgnore } from '../imp/index';
import type { MethodContext } from '../method';
import { recordCompleted, trainRound } from '../round';
import { ChannelScales, bnGradientHook, zeroChannels } from './bn-hooks';
import { restorePruned, savePrunedMasks, type SearchCheckpoint } from './checkpoint';
import { addRetrainingFlops, epochFlops, searchFlops } from './flops';
import type { SearchState, TicketSummary } from './results';
import { epochLine, prunedMessage } from './text';
import type { TicketViews } from './views';

/** WORM's damping strength: chi for the next epoch from the mean queue distance of the one just ended. */
export interface ChiPolicy {
  next(meanDistance: number | null): number;
}

export interface TicketSearchOptions {
  /** 'EarlyBird' or 'WORM': the series name in the views and the summary. */
  name: string;
  series: SeriesName;
  /** null: plain EarlyBird, no damping. */
  chi: ChiPolicy | null;
  views: TicketViews;
  /** Also train the unpruned network on from the ticket (EarlyBird's `denseBaseline`): series 'dense', and `accuracyDense` in the summary. */
  denseBaseline: boolean;
}

/**
 * |gamma| of every BN layer, concatenated in layer order. For a network whose
 * pruned channels were cut out (`removed` holds the keep-bits it was cut
 * with), the removed channels read 0, as they would zeroed, so the masks keep
 * the full network's layout and the detector goes on comparing them.
 */
async function gammaMagnitudes(model: Model, removed: ReadonlyMap<string, Uint8Array> | null): Promise<Float32Array> {
  const values = await Promise.all(model.batchNorms.map((bn) => bn.gamma.data() as Promise<Float32Array>));
  const widths = model.batchNorms.map((bn) => removed?.get(bn.name)?.length ?? bn.channels);
  const out = new Float32Array(widths.reduce((n, w) => n + w, 0));
  let offset = 0;
  model.batchNorms.forEach((bn, layer) => {
    const keep = removed?.get(bn.name);
    let next = 0;
    for (let i = 0; i < widths[layer]; i++) out[offset + i] = !keep || keep[i] ? Math.abs(values[layer][next++]) : 0;
    offset += widths[layer];
  });
  return out;
}

/** Masks at each tracked ratio: BN channels, or (our unstructured extension) global weight magnitude. */
interface MaskReading {
  bits: Uint8Array[];
  /** The weight masks of the pruned ratio (unstructured only). */
  weightMasks: MaskSet | null;
}

async function readMasks(
  model: Model,
  config: ExperimentConfig,
  removed: ReadonlyMap<string, Uint8Array> | null,
  layers: readonly { channels: number }[],
): Promise<MaskReading> {
  const { ratios, unstructured, minChannels } = config.earlybird;
  if (!unstructured) {
    const magnitudes = await gammaMagnitudes(model, removed);
    const mask = (ratio: number) => {
      const global = maskAtRatio(magnitudes, ratio);
      return minChannels === undefined ? global : keepStrongestPerLayer(global, magnitudes, layers, minChannels);
    };
    return { bits: ratios.map(mask), weightMasks: null };
  }
  const weights = await readKernels(model);
  const dense = MaskSet.dense(model.prunable);
  const masks = ratios.map((r) => pruneGlobal(dense, weights, r, globalIgnore(config, model)));
  return { bits: masks.map(concatMasks), weightMasks: masks[0] };
}

/**
 * Runs one search. `save` gets the state after each round; `resume`
 * continues from what it saved.
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

  let model = ctx.createModel(subSeed(config.seed, 'init'));
  /** The channel keep-bits the retrained network was cut with, once it was. */
  let removed: Map<string, Uint8Array> | null = null;
  const detectors = eb.ratios.map(() => new TicketDetector(eb.queueLength, eb.epsilon));
  const ratioEpochs: (number | null)[] = eb.ratios.map(() => null);
  const maskDistances: (number | null)[] = resume?.state.summary.maskDistances ?? [];
  const meanDistances: (number | null)[] = resume?.state.summary.meanDistances ?? [];
  const chiHistory: number[] = [];
  let weightMasks: MaskSet | null = null;
  const scales = new ChannelScales();
  const layers = model.batchNorms.map(({ name, channels }) => ({ name, channels }));
  // A resumed run's views already hold this search's series.
  if (!resume) options.views.start(options.name, eb.unstructured ? [] : layers);

  const observeEpoch = async (epoch: number, searching: boolean): Promise<boolean> => {
    const reading = await readMasks(model, config, removed, layers);
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
      scales.set(chi < 1 ? new Map([...channelBits!].map(([name, keep]) => [name, dampingFactors(keep, chi)])) : null);
      note = `, chi ${chi}`;
    }
    if (found) options.views.ticket(epoch);
    options.views.epoch(epoch, primary, channelBits, epochLine(options.name, epoch, searching, primary, note));
    return found;
  };

  /**
   * The dense baseline: a copy of the search's network at the ticket, trained
   * on unpruned to the end of the schedule with the batches and the fresh
   * optimiser state the ticket's retraining gets, so the two differ only by
   * the pruning. Returns its final test accuracy.
   */
  const trainDenseOn = async (from: number): Promise<number> => {
    const dense = ctx.createModel(subSeed(config.seed, 'init'));
    const weights = model.snapshot();
    try {
      dense.restore(weights);
      ctx.progress.add(ctx.iterations - from);
      const { result } = await trainRound(ctx, {
        series: 'dense',
        round: 0,
        model: dense,
        masks: null,
        dataSeed: subSeed(config.seed, 'data-1'),
        from,
        gradientHook: eb.unstructured ? undefined : bnGradientHook(dense.batchNorms, eb.sparsity, () => null),
      });
      return result.testAccuracy;
    } finally {
      tf.dispose([...weights.values()]);
      dense.dispose();
    }
  };

  /** Round 0 and the pruning of its ticket; `kernelMasks` is null when no ticket appeared (the search is then finished). */
  const searchAndPrune = async (): Promise<{ state: SearchState; kernelMasks: MaskSet | null }> => {
    const search = await trainRound(ctx, {
      series: options.series,
      round: 0,
      model,
      masks: null,
      dataSeed: subSeed(config.seed, 'data-0'),
      gradientHook: bnGradientHook(model.batchNorms, eb.sparsity, scales.current),
      onEpochEnd: (epoch) => observeEpoch(epoch, true),
    });
    const rounds = [search.result];
    const ticketEpoch = ratioEpochs[0];
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
      ...searchFlops(epochFlops(model, dataset.train.size), epochsOf(search.training.iterations), scheduleEpochs),
    };
    const state: SearchState = { summary, rounds, retrainFrom: search.training.iterations, finished: ticketEpoch === null };
    if (options.denseBaseline) {
      // Without a ticket the search itself trained dense to the end of the schedule.
      summary.accuracyDense = ticketEpoch === null ? search.result.testAccuracy : await trainDenseOn(state.retrainFrom);
    }
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
    ctx.emit({ type: 'status', message: prunedMessage(summary, kernelMasks.sparsity()) });
    return { state, kernelMasks };
  };

  try {
    const { state, kernelMasks } = resume
      ? { state: resume.state, kernelMasks: restorePruned(resume, model, detectors, config.model.arch) }
      : await searchAndPrune();
    const { summary, rounds } = state;
    if (!kernelMasks) {
      options.views.summary(summary);
      save({ state, tensors: {}, masks: {}, ticket: null });
      return { summary, rounds };
    }
    // The pruned full-size network: what a resumed run restores and cuts again.
    const prunedWeights = resume ? null : await saveModel(model);
    const kept = summary.channelsKeptByLayer ? new Map(Object.entries(summary.channelsKeptByLayer)) : undefined;
    const retrainEpochFlops = epochFlops(model, dataset.train.size, kept);
    let retrainMasks = kernelMasks;
    let uncutWeights: Map<string, number> | undefined;
    if (!eb.unstructured && eb.shrink) {
      uncutWeights = new Map(model.prunable.map((l) => [l.name, l.size]));
      // The pruned channels are cut out: the network retrains smaller, and
      // faster. Their gamma and beta are 0, so this leaves its function as it is.
      // WORM's damping is over: no pruned channel is left to damp.
      scales.set(null);
      removed = keepOneInEmptied(splitByLayer(detectors[0].newest!, layers));
      const shrunk = await shrinkModel({ model, channelKeep: removed, masks: kernelMasks });
      model.dispose();
      model = shrunk.model;
      retrainMasks = shrunk.masks!;
    } else if (!eb.unstructured) {
      // Pruned gamma and beta stay exactly 0 while retraining: their gradients
      // are masked (chi = 0) and the optimiser starts fresh, so neither
      // momentum nor weight decay (wd * 0) can move them.
      const channelKeep = splitByLayer(detectors[0].newest!, layers);
      scales.set(new Map([...channelKeep].map(([name, keep]) => [name, dampingFactors(keep, 0)])));
    }
    // The ticket is the network that retrains: the slim one (with its channel
    // counts) when the pruned channels were cut out, the zeroed one otherwise.
    let ticket = resume?.ticket ?? null;
    if (prunedWeights) {
      const weights = removed ? await saveModel(model) : prunedWeights;
      ticket = createTicket(config, model, { round: 1, masks: retrainMasks, weights, iteration: state.retrainFrom });
      save({ state, tensors: prunedWeights, masks: savePrunedMasks(kernelMasks, detectors), ticket });
    }
    const from = state.retrainFrom;
    const to = eb.retrainEpochs === undefined ? ctx.iterations : from + eb.retrainEpochs * stepsPerEpoch;
    const retrain = await trainRound(ctx, {
      series: options.series,
      round: 1,
      model,
      masks: retrainMasks,
      uncutWeights,
      dataSeed: subSeed(config.seed, 'data-1'),
      from,
      to,
      // The sign-L1 term stays on while retraining, as in the reference's
      // retraining script (it adds 0 on the pruned channels, whose gamma is 0).
      gradientHook: eb.unstructured ? undefined : bnGradientHook(model.batchNorms, eb.sparsity, scales.current),
      onEpochEnd: (epoch) => observeEpoch(epoch, false),
    });
    rounds.push(retrain.result);
    summary.accuracyAfterRetraining = retrain.result.testAccuracy;
    summary.epochsRetrained = epochsOf(retrain.training.iterations);
    addRetrainingFlops(summary, retrainEpochFlops);
    // Measured step time per epoch (evaluation excluded), dense search against the ticket's retraining.
    const secondsPerEpoch = (round: RoundResult) => (round.iterations > 0 ? round.trainSeconds / epochsOf(round.iterations) : null);
    summary.shrunk = removed !== null;
    summary.secondsPerEpochBefore = secondsPerEpoch(rounds[0]);
    summary.secondsPerEpochAfter = secondsPerEpoch(retrain.result);
    options.views.summary(summary);
    save({ state: { ...state, finished: true }, tensors: {}, masks: {}, ticket });
    return { summary, rounds };
  } finally {
    scales.dispose();
    model.dispose();
  }
}
