/**
 * COLT, cyclic overlapping lottery tickets (Hossain et al., arXiv 2212.12770).
 * The classes are split into K contiguous segments; one model per segment,
 * all from the same θ0, trains on its own segment. Each round every model
 * prunes `colt.rate` of the surviving weights (global L1), the ticket keeps
 * only the weights every model kept (AND of the masks), and every model
 * rewinds to θ0 under that mask and retrains. Because the AND removes the
 * union of the pruned sets, a round removes at least `rate`, so COLT reaches
 * a sparsity in fewer rounds than IMP. The ticket is judged as one full C-way
 * network trained from θ0 on all the data; an IMP run over the same layers at
 * the same rate runs after it as the comparison.
 */
import * as tf from '@tensorflow/tfjs';
import type { ExperimentConfig } from '../../config';
import { totalIterations } from '../../config';
import { classRange } from '../../data/task';
import type { Dataset } from '../../data/types';
import type { SavedTensor, Ticket } from '../../checkpoint';
import { createTicket, loadMasks, masksMismatch, saveMasks, saveState } from '../../io/saved';
import { countOnes, MaskSet, readKernels, type LayerCount } from '../../masks/mask';
import { pruneGlobal } from '../../masks/prune';
import { disposeState, type Model, type ModelState, type PrunableLayer } from '../../models/model';
import type { EngineEvent, RoundResult } from '../../results';
import { subSeed } from '../../rng';
import type { MethodContext, PruningMethod } from '../method';
import { recordCompleted, trainRound } from '../round';
import { coltSpec } from './config';
import type {
  ClassSegment,
  ColtImpComparison,
  ColtOutput,
  ColtProgress,
  ColtRound,
  ColtState,
  LayerOverlap,
  MatchedSparsity,
  SparsityPoint,
} from './results';

const SPARSITY_GUIDES = [0.8, 0.9] as const;

/** K disjoint contiguous class ranges of equal size (CIFAR-10, K = 2: 0-4 and 5-9). */
export function classSegments(numClasses: number, segments: number): ClassSegment[] {
  if (segments > numClasses || numClasses % segments !== 0) {
    throw new Error(`colt.segments = ${segments} must divide the ${numClasses} classes into equal groups`);
  }
  const size = numClasses / segments;
  return Array.from({ length: segments }, (_, k) => ({ from: k * size, to: (k + 1) * size }));
}

function segmentClasses(segment: ClassSegment): number[] {
  return Array.from({ length: segment.to - segment.from }, (_, i) => segment.from + i);
}

/** The layers COLT prunes: conv kernels, plus hidden dense ones with `pruneDense`; never the output head. */
export function coltPrunedLayers(layers: PrunableLayer[], pruneDense: boolean): PrunableLayer[] {
  return layers.filter((l) => l.type === 'conv' || (pruneDense && l.type === 'dense'));
}

/**
 * θ0 of one segment's model, cut from the full network's θ0: every shared
 * layer is copied, and the head is the full head's columns (and biases) for
 * the segment's classes. So all models start from literally the same θ0, the
 * K heads side by side are the full C-way head, and the final full network
 * evaluated under the ticket starts from the very weights the segments did.
 * (A fresh (C/K)-way Glorot head would differ in its std, as fan-out is C/K.)
 * The caller disposes the returned state.
 */
export function segmentInitialState(full: ModelState, outputLayer: string, segment: ClassSegment): ModelState {
  const width = segment.to - segment.from;
  const state: ModelState = new Map();
  for (const [name, value] of full) {
    if (name === `${outputLayer}/kernel`) state.set(name, tf.slice(value, [0, segment.from], [-1, width]));
    else if (name === `${outputLayer}/bias`) state.set(name, tf.slice(value, [segment.from], [width]));
    else state.set(name, tf.clone(value));
  }
  return state;
}

/** Per layer: survivors of `survivors`, kept by each proposal, by any of them and by the intersection. */
export function layerOverlap(survivors: MaskSet, proposals: MaskSet[], intersection: MaskSet): LayerOverlap[] {
  return [...intersection.layers.values()].map((m) => ({
    name: m.name,
    weights: m.keep.length,
    survivors: countOnes(survivors.get(m.name).keep),
    kept: proposals.map((p) => countOnes(p.get(m.name).keep)),
    keptByAll: countOnes(m.keep),
    keptByAny: countKeptByAny(proposals.map((p) => p.get(m.name).keep)),
  }));
}

function countKeptByAny(keeps: Uint8Array[]): number {
  let n = 0;
  for (let i = 0; i < keeps[0].length; i++) if (keeps.some((keep) => keep[i])) n++;
  return n;
}

/**
 * One COLT prune step: each model removes `rate` of the surviving weights by
 * its own magnitudes (one global threshold over the masked layers); the next
 * mask keeps what every model kept.
 */
export function coltPruneStep(
  survivors: MaskSet,
  weightsPerModel: Map<string, Float32Array>[],
  rate: number,
): { proposals: MaskSet[]; mask: MaskSet; overlap: LayerOverlap[] } {
  const proposals = weightsPerModel.map((weights) => pruneGlobal(survivors, weights, rate, []));
  const mask = MaskSet.intersect(proposals);
  return { proposals, mask, overlap: layerOverlap(survivors, proposals, mask) };
}

/** Fraction of the named layers' weights that are zero, from a round's measured layer counts. */
export function sparsityOver(layers: LayerCount[], names: string[]): number {
  const chosen = layers.filter((l) => names.includes(l.name));
  const weights = chosen.reduce((n, l) => n + l.weights, 0);
  return weights === 0 ? 0 : 1 - chosen.reduce((n, l) => n + l.remaining, 0) / weights;
}

/** The first round whose sparsity reaches `target`, or null. */
export function roundsTo(points: SparsityPoint[], target: number): number | null {
  return points.find((p) => p.sparsity >= target)?.round ?? null;
}

/**
 * Pruning rounds for both methods: `prune.rounds`, cut to the rounds IMP at
 * `rate` needs to reach `targetSparsity`. COLT removes at least `rate` a
 * round, so it needs no more; IMP runs them all, to cover COLT's range.
 */
export function coltPruningRounds(config: ExperimentConfig): number {
  const { targetSparsity, rate } = config.colt;
  if (targetSparsity === undefined) return config.prune.rounds;
  return Math.min(config.prune.rounds, Math.ceil(Math.log(1 - targetSparsity) / Math.log(1 - rate)));
}

/** For each COLT evaluation, the IMP round nearest in log weights remaining. */
export function matchSparsity(colt: ColtRound[], impPoints: (SparsityPoint & { testAccuracy: number })[]): MatchedSparsity[] {
  const distance = (a: number, b: number) => Math.abs(Math.log(1 - a) - Math.log(1 - b));
  return colt.flatMap((c) => {
    if (c.testAccuracy === null || impPoints.length === 0) return [];
    const nearest = impPoints.reduce((best, p) => (distance(p.sparsity, c.sparsity) < distance(best.sparsity, c.sparsity) ? p : best));
    return [
      {
        coltRound: c.round,
        coltSparsity: c.sparsity,
        coltAccuracy: c.testAccuracy,
        impRound: nearest.round,
        impSparsity: nearest.sparsity,
        impAccuracy: nearest.testAccuracy,
      },
    ];
  });
}

interface SegmentModel {
  segment: ClassSegment;
  series: string;
  data: Dataset;
  model: Model;
  init: ModelState;
  /** The run's context with this segment's data and schedule length. */
  ctx: MethodContext;
}

/** The 'rounds-to-sparsity' view: sparsity of the pruned layers per round, per method. */
function roundsToSparsityView(colt: SparsityPoint[], imp: SparsityPoint[]): EngineEvent {
  return { type: 'view', view: 'rounds-to-sparsity', data: { guides: SPARSITY_GUIDES, series: { colt, imp } } };
}

function percent(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

interface ColtRun {
  /** The full-network evaluations, the contract's `rounds`. */
  rounds: RoundResult[];
  colt: ColtRound[];
  segments: ClassSegment[];
  prunedNames: string[];
  unprunedNames: string[];
  /** The last round's mask (from round 1 on) with θ0, null when only round 0 ran. */
  ticket: Ticket | null;
}

async function runColt(ctx: MethodContext<ColtState>, pruningRounds: number): Promise<ColtRun> {
  const { config } = ctx;
  const { colt: options } = config;
  const saved = ctx.resume?.state.colt;
  const segments = classSegments(ctx.dataset.numClasses, options.segments);
  const initSeed = subSeed(config.seed, 'init');
  const full = ctx.createModel(initSeed);
  const fullInit = full.snapshot();
  const models: SegmentModel[] = [];
  try {
    const outputLayer = full.prunable.find((l) => l.type === 'output')!.name;
    const pruned = coltPrunedLayers(full.prunable, options.pruneDense);
    const prunedNames = pruned.map((l) => l.name);
    const unprunedNames = full.prunable.filter((l) => !prunedNames.includes(l.name)).map((l) => l.name);
    const coltRounds: ColtRound[] = saved?.rounds ?? [];
    const evaluations: RoundResult[] = saved?.evaluations ?? [];
    let ticket = ctx.resume?.ticket ?? null;
    const done = (): ColtRun => ({ rounds: evaluations, colt: coltRounds, segments, prunedNames, unprunedNames, ticket });
    recordCompleted(ctx, evaluations);
    if (saved?.finished) return done();

    for (const segment of segments) {
      const data = ctx.dataset.classSubset(classRange(segment.from, segment.to));
      const series = `colt-segment-${segment.from}-${segment.to - 1}`;
      models.push({
        segment,
        series,
        data,
        // Its own random init is overwritten by the θ0 slice before every round.
        model: ctx.createModel(initSeed, segment.to - segment.from),
        init: segmentInitialState(fullInit, outputLayer, segment),
        ctx: { ...ctx, dataset: data, iterations: totalIterations(config.train, data.train.size) },
      });
    }

    const roundsPlanned = pruningRounds + 1;
    for (const m of models) ctx.progress.add(m.ctx.iterations * roundsPlanned);
    ctx.progress.add(ctx.iterations * (options.evaluateEveryRound ? roundsPlanned : 1));

    let mask = MaskSet.dense(pruned);
    if (saved) {
      const mismatch = masksMismatch(full, ctx.resume!.masks);
      if (mismatch) throw new Error(`Cannot resume: the checkpoint does not fit model ${config.model.arch}: ${mismatch}`);
      mask = loadMasks(ctx.resume!.masks);
    }
    const sparsityPoints: SparsityPoint[] = coltRounds.map((r) => ({ round: r.round, sparsity: r.sparsity }));
    // θ0's values for the tickets, read back once.
    let savedInit: Record<string, SavedTensor> | null = null;
    for (let round = coltRounds.length; ; round++) {
      const sparsity = mask.sparsity();
      const last = round === pruningRounds || (options.targetSparsity !== undefined && sparsity >= options.targetSparsity);
      // Round 0 trains dense, as IMP's does.
      const roundMask = round === 0 ? null : mask;
      const accuracies: number[] = [];
      const weights: Map<string, Float32Array>[] = [];
      for (const m of models) {
        m.model.restore(m.init);
        const { result } = await trainRound(m.ctx, {
          series: m.series,
          round,
          model: m.model,
          masks: roundMask,
          dataSeed: subSeed(config.seed, `${m.series}-data-${round}`),
        });
        accuracies.push(result.testAccuracy);
        weights.push(await readKernels(m.model, prunedNames));
      }
      const step = coltPruneStep(mask, weights, options.rate);

      let testAccuracy: number | null = null;
      if (options.evaluateEveryRound || last) {
        full.restore(fullInit);
        const { result } = await trainRound(ctx, {
          series: 'colt',
          round,
          model: full,
          masks: roundMask,
          // IMP's round seed, so both methods' full networks see the same batches.
          dataSeed: subSeed(config.seed, `data-${round}`),
        });
        evaluations.push(result);
        testAccuracy = result.testAccuracy;
      }
      coltRounds.push({
        round,
        sparsity,
        testAccuracy,
        perModel: models.map((m, k) => ({
          segment: segmentClasses(m.segment),
          testAccuracy: accuracies[k],
          sparsityOwnMask: step.proposals[k].sparsity(),
        })),
        overlap: step.overlap,
      });
      sparsityPoints.push({ round, sparsity });
      const kept = step.proposals.map((p) => percent(1 - p.sparsity())).join(' / ');
      ctx.emit({
        type: 'view',
        view: 'colt-overlap',
        data: {
          // COLT's own numbers count the layers it prunes, and say so; "weights remaining" elsewhere counts every prunable kernel.
          line: `colt round ${round}: ${percent(sparsity)} of the pruned layers' weights pruned; next: the models keep ${kept} of them, all keep ${percent(1 - step.mask.sparsity())}`,
          segments: segments.map(segmentClasses),
          rounds: coltRounds.map((r) => ({ round: r.round, sparsity: r.sparsity, layers: r.overlap })),
        },
      });
      ctx.emit(roundsToSparsityView(sparsityPoints, []));
      if (roundMask) {
        savedInit ??= await saveState(fullInit);
        ticket = createTicket(config, full, { round, masks: roundMask, weights: savedInit, iteration: 0 });
      }
      const state: ColtState = { colt: { rounds: coltRounds, evaluations, finished: last }, imp: null };
      ctx.checkpoint({ round: round + 1, state, tensors: {}, masks: last ? {} : saveMasks(step.mask), ticket });
      if (last) break;
      mask = step.mask;
    }
    return done();
  } finally {
    full.dispose();
    disposeState(fullInit);
    for (const m of models) {
      m.model.dispose();
      disposeState(m.init);
      m.data.dispose();
    }
  }
}

/**
 * IMP on the same network, seed and schedule, pruning the same layers with
 * one global L1 threshold at COLT's rate and resetting to θ0: the imp
 * method run beside COLT, its series 'imp'.
 */
async function runImpComparison(ctx: MethodContext<ColtState>, pruningRounds: number, run: ColtRun, coltPoints: SparsityPoint[]): Promise<RoundResult[]> {
  const { config } = ctx;
  const saved = ctx.resume?.state.imp ?? null;
  const pointOf = (result: RoundResult): SparsityPoint => ({ round: result.round, sparsity: sparsityOver(result.layers, run.prunedNames) });
  const impPoints: SparsityPoint[] = (saved?.rounds ?? []).map(pointOf);
  const colt: ColtProgress = { rounds: run.colt, evaluations: run.rounds, finished: true };
  const output = await ctx.runBeside('imp', {
    config: {
      ...config,
      controls: [],
      prune: {
        ...config.prune,
        strategy: 'global',
        fraction: config.colt.rate,
        ignore: run.unprunedNames,
        rounds: pruningRounds,
        rewindIteration: 0,
        oneShotSparsity: undefined,
      },
    },
    series: 'imp',
    roundsBefore: run.colt.length,
    resume: saved,
    // IMP's checkpoints keep COLT's ticket: IMP is the comparison.
    checkpoint: (checkpoint) => ({ ...checkpoint, state: { colt, imp: checkpoint.state }, ticket: run.ticket }),
    onEvent: (event) => {
      if (event.type !== 'round' || event.series !== 'imp') return;
      impPoints.push(pointOf(event.result));
      ctx.emit(roundsToSparsityView(coltPoints, impPoints));
    },
  });
  return output.rounds;
}

export const colt: PruningMethod<typeof coltSpec, ColtOutput, ColtState> = {
  ...coltSpec,
  plannedRounds: (config) => coltPruningRounds(config) + 1,

  async run(ctx) {
    const pruningRounds = coltPruningRounds(ctx.config);
    const result = await runColt(ctx, pruningRounds);
    const coltPoints = result.colt.map((r) => ({ round: r.round, sparsity: r.sparsity }));
    let comparison: ColtImpComparison | null = null;
    if (ctx.config.colt.compareWithImp) {
      const impRounds = await runImpComparison(ctx, pruningRounds, result, coltPoints);
      const impPoints = impRounds.map((r) => ({
        round: r.round,
        sparsity: sparsityOver(r.layers, result.prunedNames),
        testAccuracy: r.testAccuracy,
      }));
      comparison = {
        rounds: impRounds,
        roundsTo80: roundsTo(impPoints, 0.8),
        roundsTo90: roundsTo(impPoints, 0.9),
        matched: matchSparsity(result.colt, impPoints),
      };
    }
    return {
      rounds: result.rounds,
      colt: {
        segments: result.segments.map(segmentClasses),
        prunedLayers: result.prunedNames,
        rounds: result.colt,
        roundsTo80: roundsTo(coltPoints, 0.8),
        roundsTo90: roundsTo(coltPoints, 0.9),
        imp: comparison,
      },
    };
  },
};
