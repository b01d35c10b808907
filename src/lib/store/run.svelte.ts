/**
 * What the page knows about the current run, built only from engine events.
 * Views read the parts they draw; which parts exist depends on which events
 * arrived, never on the method's name.
 */
import type { Checkpoint } from '../engine/checkpoint';
import type { BackendInfo } from '../engine/runtime/backend';
import type { CurvePoint, EngineEvent, ProgressEvent, RoundResult, RunResults, SeriesName } from '../engine/results';
import { withRound } from './run-db';

/** `interrupted`: the GPU was lost under the run, which can continue from its last checkpoint. */
export type RunPhase = 'idle' | 'running' | 'paused' | 'stopping' | 'done' | 'stopped' | 'failed' | 'interrupted';

/** The training curve of the round being trained now. */
export interface LiveCurve {
  series: SeriesName;
  round: number;
  sparsity: number;
  points: CurvePoint[];
}

export interface RunFailure {
  message: string;
  /** True when the run failed before training started: loading the data is what it was doing. */
  beforeTraining: boolean;
  /** The GPU was lost under the run: it can continue from its last checkpoint on a fresh device. */
  deviceLost: boolean;
}

type Handlers = { [K in EngineEvent['type']]: (event: Extract<EngineEvent, { type: K }>) => void };

export class RunState {
  phase = $state<RunPhase>('idle');
  status = $state<string | null>(null);
  backend = $state.raw<BackendInfo | null>(null);
  progress = $state.raw<ProgressEvent | null>(null);
  curve = $state.raw<LiveCurve | null>(null);
  /** Every finished round, by series, by round number. */
  rounds = $state.raw<Record<SeriesName, RoundResult[]>>({});
  latestRound = $state.raw<{ series: SeriesName; result: RoundResult } | null>(null);
  /** Latest data of each method-specific view, by view name. */
  views = $state.raw<Record<string, unknown>>({});
  results = $state.raw<RunResults | null>(null);
  /** The latest checkpoint: what a reload resumes from, and the ticket so far. */
  checkpoint = $state.raw<Checkpoint | null>(null);
  failure = $state.raw<RunFailure | null>(null);

  readonly active = $derived(this.phase === 'running' || this.phase === 'paused' || this.phase === 'stopping');

  private readonly handlers: Handlers = {
    status: (event) => (this.status = event.message),
    backend: (event) => (this.backend = event.info),
    progress: (event) => (this.progress = event),
    eval: (event) => {
      const current = this.curve;
      const sameRound = current !== null && current.series === event.series && current.round === event.round;
      this.curve = {
        series: event.series,
        round: event.round,
        sparsity: event.sparsity,
        points: sameRound ? [...current.points, event.point] : [event.point],
      };
    },
    round: (event) => {
      this.rounds = withRound(this.rounds, event.series, event.result);
      this.latestRound = { series: event.series, result: event.result };
    },
    view: (event) => (this.views = { ...this.views, [event.view]: event.data }),
    checkpoint: (event) => (this.checkpoint = event.checkpoint),
    done: (event) => {
      this.results = event.results;
      // Controls share round 0 with the ticket and the engine reports that
      // round once, under the ticket; the results list it in every series.
      this.rounds = { ...this.rounds, ...event.results.controls };
      this.phase = 'done';
      this.status = null;
    },
    error: (event) => {
      if (this.phase === 'stopping') {
        this.phase = 'stopped';
      } else {
        const deviceLost = event.kind === 'device-lost';
        this.phase = deviceLost ? 'interrupted' : 'failed';
        this.failure = { message: event.message, beforeTraining: this.progress === null && !deviceLost, deviceLost };
      }
      this.status = null;
    },
  };

  /** Forget the previous run and show a new one as running. */
  begin(): void {
    this.phase = 'running';
    this.status = 'Starting';
    this.backend = null;
    this.progress = null;
    this.curve = null;
    this.rounds = {};
    this.latestRound = null;
    this.views = {};
    this.results = null;
    this.checkpoint = null;
    this.failure = null;
  }

  /** Start a run that continues a stored one: show what it had before the reload. */
  beginFrom(rounds: Record<SeriesName, RoundResult[]>, views: Record<string, unknown>, checkpoint: Checkpoint | null): void {
    this.begin();
    this.rounds = rounds;
    this.views = views;
    this.checkpoint = checkpoint;
    const [latestSeries, latestResults] = Object.entries(rounds)[0] ?? [];
    if (latestSeries && latestResults.length) this.latestRound = { series: latestSeries, result: latestResults[latestResults.length - 1] };
  }

  /** A run that could not be started at all (no data to hand the worker). */
  refuse(message: string): void {
    this.begin();
    this.handlers.error({ type: 'error', kind: 'failed', message });
  }

  apply(event: EngineEvent): void {
    (this.handlers[event.type] as (event: EngineEvent) => void)(event);
  }
}
