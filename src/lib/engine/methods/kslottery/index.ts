/**
 * KS-Lottery (Yuan et al., NAACL 2025; arXiv 2402.02801) as a transfer
 * experiment on the lab's CNNs. Pre-train on the source classes (θ0); a
 * probe fine-tuning on the target classes with a fresh head gives θ1; every
 * parameter row is tested with the two-sample KS test between θ0 and θ1.
 * Rows are then selected (p < α, top-K by D; controls: top-K by L2 change,
 * random rows), and each selection is partially tuned (from θ0 with a fresh
 * head, only its rows and the head train) and partially transferred (θ0 with
 * its rows and the head from θ1, evaluated untrained). Head-only and full
 * fine-tuning bound the range.
 */
import * as tf from '@tensorflow/tfjs';
import type { SavedTensor } from '../../checkpoint';
import { ConfigError, totalIterations, type ExperimentConfig } from '../../config';
import { checkClassList, checkDisjoint } from '../../data/task';
import { canonicalJson } from '../../identity';
import { restoreModel, saveModel, withoutPrefix, withPrefix } from '../../io/saved';
import type { Model } from '../../models/model';
import type { RoundResult } from '../../results';
import { subSeed } from '../../rng';
import { evaluate, type GradientHook } from '../../train/trainer';
import type { MethodContext, PruningMethod } from '../method';
import { recordCompleted, trainRound } from '../round';
import { kslotterySpec } from './config';
import type { ArmPoint, FinishedArm, KsLotteryOutput, KsLotteryState } from './results';
import {
  changesOutsideSelection,
  jaccard,
  rowCount,
  rowLayers,
  rowStatistics,
  rowsForK,
  selectedPerLayer,
  selectionSize,
  selectRandom,
  selectSignificant,
  selectTopK,
  transplantRows,
  type RowLayer,
  type RowSelection,
  type RowStat,
} from './rows';

type Rule = 'ks' | 'l2' | 'random';
const RULES: readonly Rule[] = ['ks', 'l2', 'random'];

/**
 * θ0 and its training's record per pre-training setting, for the life of the
 * worker or process: a change of K, α or probe reuses it, and the run's
 * `rounds` still start with the pre-training's record.
 */
const pretrained = new Map<string, { theta0: Record<string, SavedTensor>; round: RoundResult }>();
const PRETRAINED_KEPT = 2;

/** What fixes θ0: everything the source training reads. */
export function pretrainKey(config: ExperimentConfig): string {
  return canonicalJson({ seed: config.seed, data: config.data, model: config.model, train: config.train, source: config.kslottery.source });
}

/** Refusals that need no training: classes, weight decay, K against the network's row count. */
export function checkKsLotteryConfig(config: ExperimentConfig, layers: readonly RowLayer[]): number[] {
  const options = config.kslottery;
  if (config.data.classes !== undefined) {
    throw new ConfigError('Invalid experiment config: data.classes: kslottery chooses its tasks with kslottery.source and kslottery.target; leave data.classes unset');
  }
  checkClassList('kslottery.source', options.source, config.data);
  checkClassList('kslottery.target', options.target, config.data);
  if (!options.allowOverlap) checkDisjoint('kslottery.source', options.source, 'kslottery.target', options.target);
  if (config.train.weightDecay > 0) {
    throw new ConfigError(
      'Invalid experiment config: train.weightDecay: kslottery freezes rows by giving them zero gradients, and coupled weight decay would still move them; set it to 0',
    );
  }
  const total = rowCount(layers);
  const ks = options.k.map((k, i) => {
    const rows = rowsForK(k, total);
    if (rows > total) {
      throw new ConfigError(`Invalid experiment config: kslottery.k[${i}]: K = ${k} rows is more than the ${total} ${options.rows} rows of ${config.model.arch} at width ${config.model.width}`);
    }
    return rows;
  });
  ks.forEach((rows, i) => {
    const same = ks.indexOf(rows);
    if (same !== i) throw new ConfigError(`Invalid experiment config: kslottery.k[${i}]: K = ${options.k[i]} gives ${rows} rows, as kslottery.k[${same}] does; each K is one arm`);
  });
  return ks;
}

/** The target trainings in the order a run does them (and a resumed run skips the finished ones). */
interface Arm {
  id: string;
  /** What trains beside the head: a row selection, or every variable ('all'). */
  trains: RowSelection | 'all';
  /** Sweep index and rule, for selection arms; 'significant' for p < α. */
  rule: Rule | 'significant' | null;
  kIndex: number;
}

function planArms(config: ExperimentConfig, layers: RowLayer[], stats: RowStat[], ks: number[]): Arm[] {
  const { kslottery: options, seed } = config;
  const none: RowSelection = new Map(layers.map((l) => [l.name, new Uint8Array(l.rows)]));
  const arms: Arm[] = [{ id: 'head-only', trains: none, rule: null, kIndex: -1 }];
  // In the filters variant the probe trains everything, so it is full fine-tuning; the embedding probe is not.
  if (options.rows === 'embedding') arms.push({ id: 'full', trains: 'all', rule: null, kIndex: -1 });
  const significant = selectSignificant(layers, stats, options.alpha);
  if (selectionSize(significant) > 0) arms.push({ id: 'significant', trains: significant, rule: 'significant', kIndex: -1 });
  ks.forEach((k, kIndex) => {
    const selections: Record<Rule, RowSelection> = {
      ks: selectTopK(layers, stats, k, (s) => s.d, options.scope),
      l2: selectTopK(layers, stats, k, (s) => s.l2, options.scope),
      random: selectRandom(layers, k, options.scope, subSeed(seed, `kslottery-random-${kIndex}`)),
    };
    for (const rule of RULES) arms.push({ id: `${rule}-${k}`, trains: selections[rule], rule, kIndex });
  });
  return arms;
}

/**
 * A gradient hook that lets only the head and the selected rows train: the
 * rows' kernel slices and their per-row companions get their gradient
 * times a 0/1 factor, every other variable a zero gradient. Zero gradients
 * leave Adam's and momentum's state at zero, so those values do not move at
 * all (checked after training).
 */
export function freezeOutside(model: Model, layers: readonly RowLayer[], selection: RowSelection, head: string): { hook: GradientHook; dispose(): void } {
  const factors = new Map<string, tf.Tensor | null>();
  for (const name of model.params.keys()) if (!name.startsWith(`${head}/`)) factors.set(name, null);
  for (const layer of layers) {
    const flags = Float32Array.from(selection.get(layer.name)!);
    const kernelShape = layer.axis === 'out' ? [...layer.shape.slice(0, -1).map(() => 1), layer.rows] : [layer.rows, 1];
    factors.set(`${layer.name}/kernel`, tf.tensor(flags, kernelShape));
    if (layer.axis === 'out') {
      for (const name of [`${layer.name}/bias`, `${layer.name}/bn_gamma`, `${layer.name}/bn_beta`]) if (model.params.has(name)) factors.set(name, tf.tensor(flags, [layer.rows]));
    }
  }
  return {
    hook: (grads) => {
      for (const [name, factor] of factors) {
        const grad = grads[name];
        if (!grad) continue;
        grads[name] = factor ? tf.mul(grad, factor) : tf.zerosLike(grad);
        grad.dispose();
      }
    },
    dispose: () => tf.dispose([...factors.values()].filter((t): t is tf.Tensor => t !== null)),
  };
}

function kernelsOf(weights: Record<string, SavedTensor>, layers: readonly RowLayer[]): Map<string, Float32Array> {
  return new Map(layers.map((l) => [l.name, weights[`${l.name}/kernel`].data]));
}

function armPoint(arm: Arm, finished: FinishedArm, layers: readonly RowLayer[]): ArmPoint {
  const selection = arm.trains as RowSelection;
  return {
    k: selectionSize(selection),
    partialTuning: finished.testAccuracy,
    partialTransfer: finished.transfer!,
    perLayer: selectedPerLayer(layers, selection).map((l) => l.selected),
  };
}

export const kslottery: PruningMethod<typeof kslotterySpec, KsLotteryOutput, KsLotteryState> = {
  ...kslotterySpec,
  // Pre-training, probe, head only, (full), p < α, and three rules per K.
  plannedRounds: (config) => 3 + (config.kslottery.rows === 'embedding' ? 1 : 0) + 1 + 3 * config.kslottery.k.length,

  async run(ctx: MethodContext<KsLotteryState>): Promise<KsLotteryOutput> {
    const { config } = ctx;
    const options = config.kslottery;
    const sourceModel = ctx.createModel(subSeed(config.seed, 'init'), options.source.length);
    const targetModel = ctx.createModel(subSeed(config.seed, 'kslottery-head'), options.target.length);
    const head = targetModel.prunable.find((l) => l.type === 'output')!.name;
    const layers = rowLayers(targetModel.prunable, options.rows);
    const ks = checkKsLotteryConfig(config, layers);
    const source = ctx.dataset.classSubset(options.source);
    const target = ctx.dataset.classSubset(options.target);
    try {
      const sourceCtx: MethodContext<KsLotteryState> = { ...ctx, dataset: source, iterations: totalIterations(config.train, source.train.size) };
      const targetCtx: MethodContext<KsLotteryState> = { ...ctx, dataset: target, iterations: options.probeIterations };
      const saved = ctx.resume;
      const state: KsLotteryState = saved?.state ?? { rounds: [], probeAccuracy: null, arms: [] };
      recordCompleted(ctx, state.rounds);
      const tensors: Record<string, SavedTensor> = saved ? { ...saved.tensors } : {};
      const checkpoint = () => ctx.checkpoint({ round: state.rounds.length, state, tensors, masks: {}, ticket: null });
      const key = pretrainKey(config);
      // Every target training planned (the p < α arm counted, though no row may turn out significant), so the ETA covers the run.
      const targetTrainings = kslottery.plannedRounds(config) - 1;
      ctx.progress.add(targetCtx.iterations * (targetTrainings - (state.probeAccuracy === null ? 0 : 1) - state.arms.length));

      // θ0: from the checkpoint, the cache, or trained on the source now.
      let theta0 = saved ? withoutPrefix(tensors, 'theta0/') : null;
      if (!theta0) {
        const cached = pretrained.get(key);
        if (cached) {
          theta0 = cached.theta0;
          state.rounds.push(cached.round);
          ctx.emit({ type: 'status', message: `kslottery: reusing the pre-trained θ0 of this setting (source classes ${options.source.join(', ')})` });
          ctx.emit({ type: 'round', series: 'source', result: cached.round });
        } else {
          ctx.progress.add(sourceCtx.iterations);
          const { result } = await trainRound(sourceCtx, { series: 'source', round: 0, model: sourceModel, masks: null, dataSeed: subSeed(config.seed, 'kslottery-source') });
          state.rounds.push(result);
          theta0 = await saveModel(sourceModel);
          pretrained.set(key, { theta0, round: result });
          while (pretrained.size > PRETRAINED_KEPT) pretrained.delete(pretrained.keys().next().value!);
        }
        Object.assign(tensors, withPrefix(theta0, 'theta0/'));
        checkpoint();
      }
      // θ0 with a fresh target head: where every target training starts.
      const freshHead = await saveModel(targetModel);
      const start: Record<string, SavedTensor> = Object.create(null);
      for (const [name, value] of Object.entries(freshHead)) start[name] = name.startsWith(`${head}/`) ? value : theta0[name];
      const frozenBuffers = [...targetModel.buffers.keys()];
      const dataSeed = subSeed(config.seed, 'kslottery-target');

      const trainTarget = async (series: string, trains: RowSelection | 'all'): Promise<RoundResult> => {
        restoreModel(targetModel, start, 'θ0');
        const freeze = trains === 'all' ? null : freezeOutside(targetModel, layers, trains, head);
        try {
          const { result } = await trainRound(targetCtx, { series, round: state.rounds.length, model: targetModel, masks: null, dataSeed, gradientHook: freeze?.hook });
          state.rounds.push(result);
          return result;
        } finally {
          freeze?.dispose();
        }
      };

      // The probe: θ1.
      const probeTrains: RowSelection | 'all' = options.rows === 'embedding' ? new Map(layers.map((l) => [l.name, new Uint8Array(l.rows).fill(1)])) : 'all';
      let theta1 = withoutPrefix(tensors, 'theta1/');
      if (state.probeAccuracy === null) {
        const probe = await trainTarget('probe', probeTrains);
        state.probeAccuracy = probe.testAccuracy;
        theta1 = await saveModel(targetModel);
        Object.assign(tensors, withPrefix(theta1, 'theta1/'));
        checkpoint();
      }
      const stats = rowStatistics(layers, kernelsOf(start, layers), kernelsOf(theta1, layers));
      const arms = planArms(config, layers, stats, ks);
      const significant = selectSignificant(layers, stats, options.alpha);

      const headOnly = arms[0];
      const emitViews = () => ctx.emit({ type: 'view', view: 'kslottery-accuracy', data: accuracyView(config, arms, state, layers) });
      ctx.emit({ type: 'view', view: 'kslottery-rows', data: rowsView(layers, stats, significant, arms, ks) });
      emitViews();
      for (const arm of arms.slice(state.arms.length)) {
        const result = await trainTarget(arm.id, arm.trains);
        let transfer: number | null = null;
        if (arm.trains !== 'all') {
          const changes = changesOutsideSelection(start, await saveModel(targetModel), layers, arm.trains, [`${head}/kernel`, `${head}/bias`, ...frozenBuffers]);
          if (changes.length > 0) throw new Error(`kslottery: training "${arm.id}" moved values it should have frozen: ${changes.join('; ')}`);
          if (arm !== headOnly) {
            restoreModel(targetModel, transplantRows(start, theta1, layers, arm.trains, head), 'θ0 with θ1’s rows');
            transfer = (await evaluate(targetModel, target.test, target.numClasses)).accuracy;
          }
        }
        state.arms.push({ id: arm.id, testAccuracy: result.testAccuracy, transfer });
        checkpoint();
        emitViews();
      }
      return { rounds: state.rounds, kslottery: { ...summarise(config, arms, state, layers, stats, significant, ks), targetTestImages: target.test.size } };
    } finally {
      sourceModel.dispose();
      targetModel.dispose();
      source.dispose();
      target.dispose();
    }
  },
};

function finishedArm(state: KsLotteryState, id: string): FinishedArm | undefined {
  return state.arms.find((a) => a.id === id);
}

function sweep(arms: Arm[], state: KsLotteryState, layers: readonly RowLayer[], rule: Rule): ArmPoint[] {
  return arms.flatMap((arm) => {
    const finished = arm.rule === rule ? finishedArm(state, arm.id) : undefined;
    return finished ? [armPoint(arm, finished, layers)] : [];
  });
}

/** The 'kslottery-accuracy' view: accuracy against K per rule, head-only and full as lines; drawn as arms finish. */
function accuracyView(config: ExperimentConfig, arms: Arm[], state: KsLotteryState, layers: readonly RowLayer[]) {
  const significantArm = arms.find((a) => a.rule === 'significant');
  const significant = significantArm && finishedArm(state, significantArm.id);
  const last = state.arms.at(-1);
  const percent = (x: number) => `${(100 * x).toFixed(1)}%`;
  return {
    // The CLI prints it: the arm that just finished.
    line: last ? `kslottery ${last.id}: test ${percent(last.testAccuracy)}${last.transfer === null ? '' : `, partial transfer ${percent(last.transfer)}`}` : null,
    rowsTotal: rowCount(layers),
    alpha: config.kslottery.alpha,
    headOnly: finishedArm(state, 'head-only')?.testAccuracy ?? null,
    full: config.kslottery.rows === 'embedding' ? (finishedArm(state, 'full')?.testAccuracy ?? null) : state.probeAccuracy,
    significant: significant && significantArm ? armPoint(significantArm, significant, layers) : null,
    rules: { ks: sweep(arms, state, layers, 'ks'), l2: sweep(arms, state, layers, 'l2'), random: sweep(arms, state, layers, 'random') },
  };
}

/** The 'kslottery-rows' view: significant rows per layer, every row's D and the KS selections, and KS-vs-L2 overlaps. */
function rowsView(layers: readonly RowLayer[], stats: readonly RowStat[], significant: RowSelection, arms: Arm[], ks: number[]) {
  const selectionOf = (rule: Rule, kIndex: number) => arms.find((a) => a.rule === rule && a.kIndex === kIndex)!.trains as RowSelection;
  const jaccardKsL2 = ks.map((_, kIndex) => jaccard(selectionOf('ks', kIndex), selectionOf('l2', kIndex)));
  const perLayer = layers.map((l) => `${l.name} ${significant.get(l.name)!.reduce((n, f) => n + f, 0)}/${l.rows}`).join(', ');
  return {
    line: `kslottery rows with p < α: ${selectionSize(significant)} of ${rowCount(layers)} (${perLayer}); Jaccard of KS and L2 at K = ${ks.join(', ')}: ${jaccardKsL2.map((j) => j.toFixed(2)).join(', ')}`,
    layers: layers.map((l) => ({
      name: l.name,
      rows: l.rows,
      rowLength: l.rowLength,
      significant: significant.get(l.name)!.reduce((n, f) => n + f, 0),
      d: stats.filter((s) => s.layer === l.name).map((s) => s.d),
      // For each K of the sweep, which of this layer's rows KS selected.
      selected: ks.map((_, kIndex) => [...selectionOf('ks', kIndex).get(l.name)!]),
    })),
    k: ks,
    jaccardKsL2,
  };
}

function summarise(
  config: ExperimentConfig,
  arms: Arm[],
  state: KsLotteryState,
  layers: readonly RowLayer[],
  stats: readonly RowStat[],
  significant: RowSelection,
  ks: number[],
): Omit<KsLotteryOutput['kslottery'], 'targetTestImages'> {
  const view = accuracyView(config, arms, state, layers);
  const rows = rowsView(layers, stats, significant, arms, ks);
  const largest = ks.indexOf(Math.max(...ks));
  return {
    source: config.kslottery.source,
    target: config.kslottery.target,
    rowKind: config.kslottery.rows,
    scope: config.kslottery.scope,
    alpha: config.kslottery.alpha,
    rowsTotal: rowCount(layers),
    rowsSignificant: selectionSize(significant),
    perLayer: rows.layers.map((l) => ({ name: l.name, rows: l.rows, rowLength: l.rowLength, significant: l.significant })),
    sourceAccuracy: state.rounds[0].testAccuracy,
    probeAccuracy: state.probeAccuracy!,
    arms: { headOnly: view.headOnly!, full: view.full!, significant: view.significant, ...view.rules },
    jaccardKsL2: rows.jaccardKsL2,
    frozenRowsUnchanged: true,
    rowStats: layers.map((l, i) => ({
      name: l.name,
      d: rows.layers[i].d,
      pValue: stats.filter((s) => s.layer === l.name).map((s) => s.pValue),
      l2: stats.filter((s) => s.layer === l.name).map((s) => s.l2),
      selected: rows.layers[i].selected[largest],
    })),
  };
}
