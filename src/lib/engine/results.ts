/**
 * results.json and the events a run emits. The keys named in
 * ../shared/reference/experiment-contract.md keep their names and meanings.
 */
import type { ExperimentConfig } from './config';
import type { MethodName, MethodOutputOf } from './methods/registry';
import type { LayerCount } from './masks/mask';
import type { Checkpoint } from './checkpoint';
import type { BackendInfo } from './runtime/backend';
import type { RunErrorKind } from './runtime/device-loss';

export interface CurvePoint {
  iteration: number;
  trainLoss: number;
  validationLoss: number | null;
  validationAccuracy: number | null;
  testLoss: number;
  testAccuracy: number;
}

export interface RoundResult {
  round: number;
  /** Fraction of prunable weights exactly zero in the evaluated network. */
  sparsity: number;
  layers: LayerCount[];
  testAccuracy: number;
  /** Iteration of minimum validation loss; null (with the next) when no validation split was held out. */
  earlyStopIteration: number | null;
  testAccuracyAtEarlyStop: number | null;
  trainSeconds: number;
  iterations: number;
  imagesPerSecond: number;
  curve: CurvePoint[];
}

export type SeriesName = 'ticket' | 'randomReinit' | 'randomPrune' | string;

export type ControlName = ExperimentConfig['controls'][number];

/** What every method returns; each adds its own keys (its results.ts). */
export interface MethodOutput {
  rounds: RoundResult[];
  /** The paper's random controls, by control, where the method ran them. */
  controls?: Partial<Record<ControlName, RoundResult[]>>;
}

/** What the lab records about every run, whatever its method. */
export interface RunInfo {
  config: ExperimentConfig;
  backend: string;
  /** WebGPU adapter architecture (e.g. `swiftshader`), null where no adapter was found. */
  adapter: string | null;
  backendInfo: BackendInfo;
  dataset: { source: string; train: number; validation: number; test: number; classes: number };
  imagesPerSecond: number;
  seconds: number;
  startedAt: string;
}

/** results.json: the run's record and its method's output, one member per registered method (narrow on `method`). */
export type RunResults = { [Name in MethodName]: RunInfo & { method: Name } & MethodOutputOf<Name> }[MethodName];

/** A run's results typed by its method's output; throws for another method's. */
export function resultsOf<Name extends MethodName>(results: RunResults, method: Name): Extract<RunResults, { method: Name }> {
  if (results.method !== method) throw new Error(`Expected results of method "${method}", got "${results.method}"`);
  return results as Extract<RunResults, { method: Name }>;
}

/**
 * Keys of results (at any depth) that are wall-clock measurements: two runs
 * of one experiment, or a run and its resumed copy, differ in these only.
 */
export const TIMING_KEYS: ReadonlySet<string> = new Set(['trainSeconds', 'imagesPerSecond', 'seconds', 'startedAt', 'secondsPerEpochBefore', 'secondsPerEpochAfter']);

/** Results (or views) with the wall-clock measurements left out, for comparing runs. */
export function withoutTimings(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutTimings);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => !TIMING_KEYS.has(key)).map(([key, v]) => [key, withoutTimings(v)]));
}

export interface ProgressEvent {
  type: 'progress';
  series: SeriesName;
  round: number;
  rounds: number;
  iteration: number;
  iterations: number;
  imagesPerSecond: number;
  /** Seconds left in the whole run, from the measured speed; null until measured. */
  etaSeconds: number | null;
  fractionDone: number;
}

export type EngineEvent =
  | { type: 'status'; message: string }
  | { type: 'backend'; info: BackendInfo }
  | ProgressEvent
  | { type: 'eval'; series: SeriesName; round: number; sparsity: number; point: CurvePoint }
  | { type: 'round'; series: SeriesName; result: RoundResult }
  /** Method-specific views (mask distances, channel masks, overlaps...): the UI draws by `view`. */
  | { type: 'view'; view: string; data: unknown }
  /** After each completed round: everything needed to resume from here, and the ticket so far. */
  | { type: 'checkpoint'; checkpoint: Checkpoint }
  | { type: 'done'; results: RunResults }
  /** The run ended early; `kind` says whether it can go on (runtime/device-loss.ts). */
  | { type: 'error'; message: string; kind: RunErrorKind };

export type EmitEvent = (event: EngineEvent) => void;

/** results.json of a run that ended before it finished: every round it did finish, and why it ended. */
export interface PartialResults {
  config: ExperimentConfig;
  method: MethodName;
  /** Null when the run ended before its backend was chosen. */
  backend: string | null;
  adapter: string | null;
  backendInfo: BackendInfo | null;
  /** The method's main series (the ticket), as in complete results. */
  rounds: RoundResult[];
  controls: Partial<Record<'randomReinit' | 'randomPrune', RoundResult[]>>;
  /** Every finished round by series, for methods with series of their own (COLT's `colt` and `imp`). */
  series: Record<SeriesName, RoundResult[]>;
  startedAt: string;
  endedEarly: { kind: RunErrorKind; message: string };
}

const CONTROL_SERIES = ['randomReinit', 'randomPrune'] as const;

/**
 * Collects a run's events into the shape of results.json, so that a run
 * that ends early (its GPU lost) still leaves the rounds it finished.
 */
export class ResultsSoFar {
  private backendInfo: BackendInfo | null = null;
  private readonly series: Record<SeriesName, RoundResult[]> = {};
  private readonly startedAt = new Date().toISOString();

  constructor(private readonly config: ExperimentConfig) {}

  record(event: EngineEvent): void {
    if (event.type === 'backend') this.backendInfo = event.info;
    // A resumed round replaces the one it redoes.
    if (event.type === 'round') this.series[event.series] = [...(this.series[event.series] ?? []).filter((r) => r.round !== event.result.round), event.result];
  }

  ended(error: { kind: RunErrorKind; message: string }): PartialResults {
    const [first = []] = Object.values(this.series);
    const main = this.series.ticket ?? first;
    const controls: PartialResults['controls'] = {};
    for (const name of CONTROL_SERIES) {
      // Controls share round 0 with the ticket, which the engine reports once, under the ticket.
      if (this.series[name]) controls[name] = [...main.filter((r) => r.round === 0), ...this.series[name]];
    }
    return {
      config: this.config,
      method: this.config.method,
      backend: this.backendInfo?.backend ?? null,
      adapter: this.backendInfo?.adapter?.architecture || null,
      backendInfo: this.backendInfo,
      rounds: main,
      controls,
      series: this.series,
      startedAt: this.startedAt,
      endedEarly: { kind: error.kind, message: error.message },
    };
  }
}
