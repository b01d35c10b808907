/**
 * What `npm run bench` measures, independent of where it runs: the Node
 * runner (bench/run.ts) and the browser page (src/bench-page.ts) both call
 * `benchBackend` once per backend and `benchPruning` once per runtime.
 *
 * Every figure is timed after a warm-up and repeated; a repeat holds enough
 * steps to last a few hundred milliseconds so that fast models are not timed
 * at the resolution of the clock. Each case is first probed with small
 * batches and skipped, with the estimate, when a full step would exceed the
 * budget: tfjs cannot interrupt a running step, so probing is the only way
 * not to hang for minutes on the cpu backend or on WebGPU emulated by
 * SwiftShader.
 */
import * as tf from '@tensorflow/tfjs';
import { parseConfig, type ArchName, type BackendName, type TrainConfig } from '../src/lib/engine/config';
import type { Batch, Split } from '../src/lib/engine/data/types';
import { applyMasks, MaskSet, maskTensors, readKernels } from '../src/lib/engine/masks/mask';
import { layerRates, pruneGlobal, pruneLayerwise } from '../src/lib/engine/masks/prune';
import type { Model } from '../src/lib/engine/models/model';
import { ARCH_DEFINITIONS, createModel } from '../src/lib/engine/models/registry';
import { initBackend, type BackendInfo } from '../src/lib/engine/runtime/backend';
import { createOptimizer, disposeOptimizer, evaluate, trainStep } from '../src/lib/engine/train/trainer';

export const NUM_CLASSES = 10;
/** The paper's Conv-2 learning rate (Adam and SGD alike); the value does not change the step's cost. */
const LEARNING_RATE = 2e-4;
/** A repeat keeps stepping until it has lasted this long, so short steps are timed in bulk. */
const MIN_REPEAT_SECONDS = 0.25;
/** The masks in a masked step keep this fraction (masking costs the same at any sparsity). */
const MASK_KEEP = 0.5;
/** Largest evaluation set; the engine evaluates in batches of 500. */
const EVAL_IMAGES = 500;

export interface BenchCase {
  arch: ArchName;
  width: number;
  batch: number;
  /** The engine's optimisers: Adam, or SGD with momentum (0.9, the config default). */
  optimizer: TrainConfig['optimizer'];
  /** Also time the step with masks applied, interleaved with the dense step. */
  masked: boolean;
}

export interface BenchOptions {
  quick: boolean;
  /** A training step estimated to take longer than this is skipped. */
  maxStepSeconds: number;
  /** Repeats stop early (after at least one) once a measurement has taken this long. */
  maxMeasureSeconds: number;
  cases: BenchCase[];
  log: (line: string) => void;
}

/** What users train at batch 64 with either optimiser: the narrow presets, BatchNorm nets (EarlyBird, WORM) and full width. */
const USER_NETWORKS: Array<{ arch: ArchName; width: number }> = [
  { arch: 'lenet-300-100', width: 1 },
  { arch: 'conv-4', width: 0.25 },
  { arch: 'conv-4', width: 0.125 },
  { arch: 'conv-4', width: 1 },
  { arch: 'conv-4-bn', width: 0.25 },
  { arch: 'conv-4-bn', width: 0.125 },
  { arch: 'conv-4-bn', width: 1 },
];

/**
 * The paper's batch 60 with masks (masking overhead), Conv-2 at PyTorch's
 * customary 64, then every user network at batch 64 with SGD and with Adam.
 */
export const DEFAULT_CASES: BenchCase[] = [
  { arch: 'lenet-300-100', width: 1, batch: 60, optimizer: 'adam', masked: true },
  { arch: 'conv-2', width: 1, batch: 60, optimizer: 'adam', masked: true },
  { arch: 'conv-2', width: 0.25, batch: 60, optimizer: 'adam', masked: true },
  { arch: 'conv-2', width: 1, batch: 64, optimizer: 'adam', masked: false },
  ...USER_NETWORKS.flatMap(({ arch, width }) =>
    (['sgd', 'adam'] as const).map((optimizer): BenchCase => ({ arch, width, batch: 64, optimizer, masked: false })),
  ),
];

export function defaultOptions(quick: boolean, log: (line: string) => void, cases: BenchCase[] = DEFAULT_CASES): BenchOptions {
  return quick
    ? { quick, maxStepSeconds: 5, maxMeasureSeconds: 8, cases, log }
    : { quick, maxStepSeconds: 15, maxMeasureSeconds: 40, cases, log };
}

/** Median and spread of the repeats. */
export interface Stat {
  median: number;
  min: number;
  max: number;
  samples: number;
}

export type Measurement = Stat | { skipped: string };

export function isStat(m: Measurement | null): m is Stat {
  return m != null && 'median' in m;
}

export interface MemoryFigures {
  /** Most bytes held by tensors at once during one training step (model and optimiser state included). */
  peakBytes: number;
  /** Most tensors alive at once during that step. */
  peakTensors: number;
  /** Tensors alive after the step: parameters, Adam moments, batch. */
  tensorsAfterStep: number;
}

export interface CaseReport extends BenchCase {
  trainImagesPerSecond: Measurement;
  /**
   * Images per CPU-second of this process (user + system, all its threads)
   * over the same dense repeats: unlike the wall-clock rate it barely moves
   * when other jobs load the machine. Null where the runtime has no such
   * clock (a page) and for skipped cases.
   */
  trainCpuImagesPerSecond: Measurement | null;
  maskedImagesPerSecond: Measurement | null;
  /** Masked step time over dense step time, per interleaved pair; target ≤ 1.03. */
  maskedOverDense: Measurement | null;
  /**
   * The same ratio from its parts: 1 + (applying the masks, timed alone) /
   * (the median dense step). Applying the masks is all a masked step adds,
   * and timed alone over many calls it is not drowned by the step's noise.
   */
  maskCostOverDense: Measurement | null;
  evalImagesPerSecond: Measurement;
  evalImages: number;
  memory: MemoryFigures | null;
}

export interface BackendReport {
  requested: BackendName;
  /** What initBackend reported; null when it could not start the backend at all. */
  info: BackendInfo | null;
  /** Why the backend was not measured, when it was not. */
  skipped: string | null;
  cases: CaseReport[];
}

export interface PruningReport {
  arch: ArchName;
  weights: number;
  /** Milliseconds for one global prune (threshold and new masks over all layers); target < 100. */
  globalMs: Stat;
  layerwiseMs: Stat;
}

export function summarize(values: number[]): Stat {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], samples: sorted.length };
}

/** CPU seconds (user + system, all threads) this process has used, where the runtime says (Node); else null. */
function processCpuSeconds(): number | null {
  const node = (globalThis as { process?: { cpuUsage?: () => { user: number; system: number } } }).process;
  if (typeof node?.cpuUsage !== 'function') return null;
  const { user, system } = node.cpuUsage();
  return (user + system) / 1e6;
}

function repeatsFor(options: BenchOptions): number {
  return options.quick ? 3 : 7;
}

function caseLabel(c: BenchCase): string {
  return `${c.arch} w${c.width} b${c.batch} ${c.optimizer}`;
}

/** A seeded random batch: the step's cost does not depend on the pixels. */
function randomBatch(size: number, seed: number): Batch {
  return {
    x: tf.randomNormal([size, 32, 32, 3], 0, 1, 'float32', seed),
    y: tf.randomUniform([size], 0, NUM_CLASSES, 'int32', seed + 1),
  };
}

/** Waits until the device has computed `loss`, then disposes it. */
async function settle(loss: tf.Scalar): Promise<void> {
  await loss.data();
  loss.dispose();
}

/** Runs training steps the way `train` does, on one model and optimiser. */
class Stepper {
  private readonly optimizer: tf.Optimizer;
  private readonly variables: tf.Variable[];
  private iteration = 0;

  constructor(
    readonly model: Model,
    optimizer: TrainConfig['optimizer'],
  ) {
    this.variables = model.trainableVariables;
    this.optimizer = createOptimizer(parseConfig({ train: { optimizer, lr: LEARNING_RATE } }).train);
  }

  /** One step, queued on the device; the caller disposes the loss. */
  step(batch: Batch, masks: Map<string, tf.Tensor> | null): tf.Scalar {
    return trainStep({
      model: this.model,
      optimizer: this.optimizer,
      batch,
      numClasses: NUM_CLASSES,
      weightDecay: 0,
      masks,
      variables: this.variables,
      iteration: this.iteration++,
    });
  }

  /** Seconds for `steps` steps, synchronised with the device once at the end. */
  async time(batch: Batch, steps: number, masks: Map<string, tf.Tensor> | null): Promise<number> {
    const started = performance.now();
    let loss = this.step(batch, masks);
    for (let i = 1; i < steps; i++) {
      loss.dispose();
      loss = this.step(batch, masks);
    }
    await settle(loss);
    return (performance.now() - started) / 1000;
  }

  dispose(): void {
    disposeOptimizer(this.optimizer);
    this.model.dispose();
  }
}

function disposeBatch(batch: Batch): void {
  tf.dispose([batch.x, batch.y]);
}

/** Seconds of a warm step at `batchSize`: the first step compiles kernels and shaders and creates Adam's moments. */
async function warmStepSeconds(stepper: Stepper, batchSize: number): Promise<number> {
  const batch = randomBatch(batchSize, 11);
  try {
    await stepper.time(batch, 1, null);
    return await stepper.time(batch, 1, null);
  } finally {
    disposeBatch(batch);
  }
}

/**
 * The estimated seconds of a full-batch step when it exceeds `maxSeconds`,
 * else null. Probes at batch 1, 2, 4, … and stops as soon as the answer is
 * clear: per-image cost falls as the batch grows, so a probe scaled up to the
 * full batch bounds the step from above, and the line through the last two
 * probes extends to an estimate from below. The probes cost about as much as
 * the budget, whereas a full step on the cpu backend can take minutes and
 * tfjs cannot interrupt it.
 */
async function overBudget(c: BenchCase, maxSeconds: number): Promise<number | null> {
  const stepper = new Stepper(createModel(c.arch, c.width, NUM_CLASSES, 1), c.optimizer);
  try {
    let previous: { batch: number; seconds: number } | null = null;
    for (let batch = 1; ; batch = Math.min(c.batch, batch * 2)) {
      const seconds = await warmStepSeconds(stepper, batch);
      if (batch === c.batch) return seconds > maxSeconds ? seconds : null;
      if ((seconds * c.batch) / batch <= maxSeconds) return null;
      if (previous) {
        const perImage = (seconds - previous.seconds) / (batch - previous.batch);
        const estimate = seconds + perImage * (c.batch - batch);
        if (estimate > maxSeconds) return estimate;
      }
      previous = { batch, seconds };
    }
  } finally {
    stepper.dispose();
  }
}

/** Masks that keep MASK_KEEP of every layer's weights, chosen by the engine's own rule. */
async function halfMasks(model: Model): Promise<Map<string, tf.Tensor>> {
  const rates = layerRates(model.prunable, { conv: 1 - MASK_KEEP, dense: 1 - MASK_KEEP, output: 1 - MASK_KEEP }, {});
  return maskTensors(pruneLayerwise(MaskSet.dense(model.prunable), await readKernels(model), rates));
}

/** Peak bytes and tensors over one (warm) step, from tfjs's profiler. */
async function profileStep(stepper: Stepper, batch: Batch): Promise<MemoryFigures> {
  let loss: tf.Scalar | null = null;
  const profile = await tf.profile(() => {
    loss = stepper.step(batch, null);
  });
  const peakTensors = Math.max(0, ...profile.kernels.map((k) => k.totalTensorsSnapshot));
  await settle(loss!);
  return { peakBytes: profile.peakBytes, peakTensors, tensorsAfterStep: tf.memory().numTensors };
}

/**
 * `slowPerImage` holds, per model, the estimated seconds per image of a step
 * found too slow at an earlier batch size: the same model is then skipped at
 * the next batch without probing again (probes take minutes on SwiftShader).
 */
async function benchCase(c: BenchCase, options: BenchOptions, slowPerImage: Map<string, number>): Promise<CaseReport> {
  const label = caseLabel(c);
  const model = `${c.arch} w${c.width}`;
  const known = (slowPerImage.get(model) ?? 0) * c.batch;
  const estimate = known > options.maxStepSeconds ? known : await overBudget(c, options.maxStepSeconds);
  if (estimate != null) {
    slowPerImage.set(model, estimate / c.batch);
    const skipped = { skipped: `too slow: ~${estimate.toFixed(1)} s/step` };
    options.log(`  ${label}: skipped, ${skipped.skipped}`);
    return {
      ...c,
      trainImagesPerSecond: skipped,
      trainCpuImagesPerSecond: null,
      maskedImagesPerSecond: c.masked ? skipped : null,
      maskedOverDense: c.masked ? skipped : null,
      maskCostOverDense: c.masked ? skipped : null,
      evalImagesPerSecond: skipped,
      evalImages: 0,
      memory: null,
    };
  }
  const stepper = new Stepper(createModel(c.arch, c.width, NUM_CLASSES, 1), c.optimizer);
  const batch = randomBatch(c.batch, 7);
  const masks = c.masked ? await halfMasks(stepper.model) : null;
  try {
    // Warm-up: compile every kernel of both variants, then size the repeats.
    await stepper.time(batch, 1, null);
    if (masks) await stepper.time(batch, 1, masks);
    const stepSeconds = await stepper.time(batch, 1, null);
    const steps = Math.max(1, Math.ceil(MIN_REPEAT_SECONDS / stepSeconds));
    const dense: number[] = [];
    const denseCpu: number[] = [];
    const masked: number[] = [];
    const ratios: number[] = [];
    const started = performance.now();
    for (let r = 0; r < repeatsFor(options); r++) {
      // Dense and masked alternate so that load from other jobs hits both alike.
      const cpuBefore = processCpuSeconds();
      const denseSeconds = await stepper.time(batch, steps, null);
      const cpuAfter = processCpuSeconds();
      dense.push((steps * c.batch) / denseSeconds);
      if (cpuBefore != null && cpuAfter != null) denseCpu.push((steps * c.batch) / Math.max(cpuAfter - cpuBefore, 1e-9));
      if (masks) {
        const maskedSeconds = await stepper.time(batch, steps, masks);
        masked.push((steps * c.batch) / maskedSeconds);
        ratios.push(maskedSeconds / denseSeconds);
      }
      if ((performance.now() - started) / 1000 > options.maxMeasureSeconds) break;
    }
    const memory = await profileStep(stepper, batch);
    const trainImagesPerSecond = summarize(dense);
    const denseStepSeconds = c.batch / trainImagesPerSecond.median;
    const maskCostOverDense = masks ? await maskCost(stepper.model, masks, denseStepSeconds, options) : null;
    const evalImages = Math.max(c.batch, Math.min(EVAL_IMAGES, Math.floor(trainImagesPerSecond.median * options.maxStepSeconds)));
    const report: CaseReport = {
      ...c,
      trainImagesPerSecond,
      trainCpuImagesPerSecond: denseCpu.length > 0 ? summarize(denseCpu) : null,
      maskedImagesPerSecond: masks ? summarize(masked) : null,
      maskedOverDense: masks ? summarize(ratios) : null,
      maskCostOverDense,
      evalImagesPerSecond: await benchEvaluation(stepper.model, evalImages, options),
      evalImages,
      memory,
    };
    const ratio = isStat(report.maskedOverDense) ? `, masked/dense ${report.maskedOverDense.median.toFixed(3)}` : '';
    options.log(`  ${label}: ${trainImagesPerSecond.median.toFixed(1)} img/s${ratio}`);
    return report;
  } finally {
    if (masks) tf.dispose([...masks.values()]);
    disposeBatch(batch);
    stepper.dispose();
  }
}

/**
 * 1 + (seconds to apply `masks`, as trainStep does after the optimiser) /
 * `denseStepSeconds`, per repeat. A repeat applies the masks enough times to
 * last MIN_REPEAT_SECONDS / 4, then waits for the device once; the cost of
 * that wait alone (a read-back, several ms on some backends) is measured
 * first and taken off, or it would count as masking.
 */
async function maskCost(
  model: Model,
  masks: Map<string, tf.Tensor>,
  denseStepSeconds: number,
  options: BenchOptions,
): Promise<Stat> {
  const probe = model.kernel(model.prunable[0]!.name);
  const elapsed = async (times: number): Promise<number> => {
    const started = performance.now();
    for (let i = 0; i < times; i++) applyMasks(model, masks);
    await probe.data();
    return (performance.now() - started) / 1000;
  };
  const waits: number[] = [];
  for (let i = 0; i < 5; i++) waits.push(await elapsed(0));
  const waitSeconds = summarize(waits).median;
  let times = 1;
  while ((await elapsed(times)) - waitSeconds < MIN_REPEAT_SECONDS / 4) times *= 2;
  const ratios: number[] = [];
  for (let r = 0; r < repeatsFor(options); r++) {
    const applySeconds = Math.max(0, (await elapsed(times)) - waitSeconds) / times;
    ratios.push(1 + applySeconds / denseStepSeconds);
  }
  return summarize(ratios);
}

/** Images per second through the engine's `evaluate` (forward, loss and accuracy, one read-back). */
async function benchEvaluation(model: Model, images: number, options: BenchOptions): Promise<Stat> {
  const batch = randomBatch(images, 21);
  const split: Split = { x: batch.x, y: batch.y, size: images };
  try {
    await evaluate(model, split, NUM_CLASSES);
    const rates: number[] = [];
    const started = performance.now();
    for (let r = 0; r < repeatsFor(options); r++) {
      const t0 = performance.now();
      await evaluate(model, split, NUM_CLASSES);
      rates.push(images / ((performance.now() - t0) / 1000));
      if ((performance.now() - started) / 1000 > options.maxMeasureSeconds) break;
    }
    return summarize(rates);
  } finally {
    disposeBatch(batch);
  }
}

/** Wall and CPU seconds of `steps` training steps; CPU is null where the runtime has no process clock. */
export interface RoundTiming {
  steps: number;
  seconds: number;
  cpuSeconds: number | null;
}

/** Rounds of `c`'s dense training step on the current backend, for pairing with PyTorch's (bench/paired.ts). */
export interface CaseRounds {
  /** Times `steps` steps, synchronised with the device once at the end. */
  round(steps: number): Promise<RoundTiming>;
  dispose(): void;
}

/** A warmed-up model, optimiser and batch of `c` whose steps are timed in rounds on request. */
export async function caseRounds(c: BenchCase): Promise<CaseRounds> {
  const stepper = new Stepper(createModel(c.arch, c.width, NUM_CLASSES, 1), c.optimizer);
  const batch = randomBatch(c.batch, 7);
  const round = async (steps: number): Promise<RoundTiming> => {
    const cpuBefore = processCpuSeconds();
    const seconds = await stepper.time(batch, steps, null);
    const cpuAfter = processCpuSeconds();
    return { steps, seconds, cpuSeconds: cpuBefore != null && cpuAfter != null ? cpuAfter - cpuBefore : null };
  };
  await round(2);
  return {
    round,
    dispose: () => {
      disposeBatch(batch);
      stepper.dispose();
    },
  };
}

/** Starts `backend` by name and measures every case on it. */
export async function benchBackend(backend: BackendName, options: BenchOptions): Promise<BackendReport> {
  let info: BackendInfo;
  try {
    info = await initBackend(backend);
  } catch (error) {
    return { requested: backend, info: null, skipped: `could not start: ${(error as Error).message}`, cases: [] };
  }
  if (info.backend !== backend) {
    return { requested: backend, info, skipped: info.notice ?? `started ${info.backend} instead`, cases: [] };
  }
  const adapter = info.adapter ? ` (${[info.adapter.vendor, info.adapter.architecture, info.adapter.description].filter(Boolean).join(' ')})` : '';
  const threads = info.threads != null ? ` threads=${info.threads} simd=${info.simd}` : '';
  options.log(`  started ${backend}${adapter}${threads}`);
  const cases: CaseReport[] = [];
  const slowPerImage = new Map<string, number>();
  for (const c of options.cases) cases.push(await benchCase(c, options, slowPerImage));
  return { requested: backend, info, skipped: null, cases };
}

/**
 * Time of one prune of `arch` from dense: the global rule at 20% and the
 * paper's layer-wise rates, on the model's real initial weights. JS-side code
 * only, so it is measured once per runtime, not per backend.
 */
export async function benchPruning(arch: ArchName, width: number, options: BenchOptions): Promise<PruningReport> {
  const model = createModel(arch, width, NUM_CLASSES, 1);
  const weights = await readKernels(model);
  const dense = MaskSet.dense(model.prunable);
  const rates = layerRates(model.prunable, ARCH_DEFINITIONS[arch].rates, {});
  const weightCount = model.prunableWeightCount;
  model.dispose();
  const time = (prune: () => MaskSet): Stat => {
    prune(); // warm-up: lets the JIT optimise the loops
    const ms: number[] = [];
    for (let r = 0; r < repeatsFor(options); r++) {
      const t0 = performance.now();
      prune();
      ms.push(performance.now() - t0);
    }
    return summarize(ms);
  };
  const report: PruningReport = {
    arch,
    weights: weightCount,
    globalMs: time(() => pruneGlobal(dense, weights, 0.2, [])),
    layerwiseMs: time(() => pruneLayerwise(dense, weights, rates)),
  };
  options.log(`pruning ${arch} (${weightCount} weights): global ${report.globalMs.median.toFixed(1)} ms, layer-wise ${report.layerwiseMs.median.toFixed(1)} ms`);
  return report;
}

export interface RuntimeReport {
  /** 'node' or 'browser'. */
  runtime: string;
  /** Node's version or the browser's user agent. */
  version: string;
  backends: BackendReport[];
  pruning: PruningReport;
}

/** Every backend in turn, then pruning (on whichever backend is current: it is JS-side work). */
export async function benchRuntime(
  runtime: string,
  version: string,
  backends: BackendName[],
  options: BenchOptions,
): Promise<RuntimeReport> {
  const reports: BackendReport[] = [];
  for (const backend of backends) {
    options.log(`[${runtime}] ${backend}`);
    reports.push(await benchBackend(backend, options));
  }
  return { runtime, version, backends: reports, pruning: await benchPruning('conv-2', 1, options) };
}
