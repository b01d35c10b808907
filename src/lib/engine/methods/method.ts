/**
 * The one interface every pruning method implements. A method is one folder
 * (`methods/<name>/`: config.ts with its self-description, results.ts with
 * its typed results and checkpoint state, index.ts with its run) and one line
 * in registry.ts; it talks to the lab only through MethodContext.
 */
import type { MethodCheckpoint, Ticket } from '../checkpoint';
import type { ExperimentConfig } from '../config';
import type { Dataset } from '../data/types';
import type { Model } from '../models/model';
import type { EmitEvent, MethodOutput } from '../results';
import type { RunControl } from '../train/control';
import type { ProgressPlan } from './round';
import type { MethodSpec } from './spec';

export interface MethodContext<State = unknown> {
  config: ExperimentConfig;
  dataset: Dataset;
  emit: EmitEvent;
  control: RunControl;
  /** Iterations of one full training run of the configured schedule. */
  iterations: number;
  /** The configured architecture, initialised from `initSeed`, with `numClasses` outputs (default: the dataset's). */
  createModel(initSeed: number, numClasses?: number): Model;
  /** Iterations planned and done, for the ETA: a method adds what it will train up front. */
  progress: ProgressPlan;
  /** Rounds the run will show in its progress bar. */
  plannedRounds: number;
  /**
   * The method's own last checkpoint, already checked against the config:
   * the run continues after its `round` and returns every round's results.
   * null starts from scratch.
   */
  resume: MethodCheckpoint<State> | null;
  /** Hand over the state after a completed round (the lab emits it as a 'checkpoint' event). */
  checkpoint(checkpoint: MethodCheckpoint<State>): void;
  /** An imported ticket, for methods that start from one (`retrain`); null where none was given. */
  ticket: Ticket | null;
}

/** What a method does, beside what it says about itself. */
export interface MethodRun<Output extends MethodOutput, State> {
  /** Rounds of training the progress bar shows, for the config. */
  plannedRounds(config: ExperimentConfig): number;
  run(ctx: MethodContext<State>): Promise<Output>;
}

/**
 * A method: its self-description (config.ts), the results it returns (its
 * results.json keys beside `rounds`) and the state its checkpoints carry.
 */
export type PruningMethod<
  Spec extends MethodSpec = MethodSpec,
  Output extends MethodOutput = MethodOutput,
  State = unknown,
> = Spec & MethodRun<Output, State>;
