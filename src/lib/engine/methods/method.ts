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
import type { EmitEvent, EngineEvent, MethodOutput, SeriesName } from '../results';
import type { RunControl } from '../train/control';
import type { MethodName, MethodOutputOf, MethodStateOf } from './registry';
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
  /**
   * Runs another registered method beside this one, on the same data, seed
   * and progress plan (a branch, as open_lth's): its `ticket` series renamed,
   * its checkpoints carried inside this method's, and resumed from them.
   */
  runBeside<Name extends MethodName>(name: Name, branch: Branch<Name, State>): Promise<MethodOutputOf<Name>>;
}

/** How a method runs another beside it (`MethodContext.runBeside`). */
export interface Branch<Name extends MethodName, State> {
  /** The branch's config: the run's, with the settings it changes (its method is set to the branch's). */
  config: ExperimentConfig;
  /** The series its own `ticket` series is reported as. */
  series: SeriesName;
  /** Rounds this method completed before the branch starts: the branch's checkpoints count on from there. */
  roundsBefore: number;
  /** The branch's state in this method's checkpoint being resumed; null starts the branch from scratch. */
  resume: MethodStateOf<Name> | null;
  /** This method's checkpoint holding the branch's: its state, with the branch's inside, and the ticket to keep. */
  checkpoint(branch: MethodCheckpoint<MethodStateOf<Name>>): MethodCheckpoint<State>;
  /** Sees each of the branch's events as emitted (series renamed). */
  onEvent?: (event: EngineEvent) => void;
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
