/**
 * runExperiment: config in, events out, results returned. The same function
 * runs in the page's worker, the CLI and the tests; the caller supplies where
 * data bytes come from and what to do with events.
 */
import * as tf from '@tensorflow/tfjs';
import type { Checkpoint, Ticket } from './checkpoint';
import { parseConfig, totalIterations, type ExperimentConfig } from './config';
import { loadDataset } from './data/dataset';
import { identityDifference } from './identity';
import type { FileSource } from './data/types';
import { getMethod } from './methods/registry';
import type { Branch, MethodContext } from './methods/method';
import type { MethodName, MethodOutputOf } from './methods/registry';
import type { EngineEvent } from './results';
import { ProgressPlan } from './methods/round';
import { createModel } from './models/registry';
import type { EmitEvent, RunResults } from './results';
import { initBackend, type BackendInfo } from './runtime/backend';
import { RunControl } from './train/control';

export interface RunOptions {
  /** Where CIFAR files come from; null for the synthetic set. */
  files: FileSource | null;
  emit?: EmitEvent;
  control?: RunControl;
  /** Backend already chosen by the host (the page reports it before the run); else the config's is initialised. */
  backend?: BackendInfo;
  /** The run's last 'checkpoint' event: continue after its round instead of starting over. */
  resume?: Checkpoint | null;
  /** An imported ticket for the `retrain` method (`decodeTicket` of a .safetensors file). */
  ticket?: Ticket | null;
}

/** Throws a one-line reason when `checkpoint` cannot continue a run of `config`. */
export function checkResumable(checkpoint: Checkpoint, config: ExperimentConfig): void {
  if (checkpoint.version !== 1) throw new Error(`Cannot resume: checkpoint version ${String(checkpoint.version)} is not supported (expected 1)`);
  if (checkpoint.method !== config.method) {
    throw new Error(`Cannot resume: the checkpoint is from method "${checkpoint.method}", the config runs "${config.method}"`);
  }
  // One rule for "the same experiment": the identity (identity.ts).
  const difference = checkpoint.config ? identityDifference(checkpoint.config, config) : null;
  if (difference) throw new Error(`Cannot resume: the config changed since the checkpoint: ${difference}`);
}

/**
 * A method's context with `runBeside`: a branch runs another registered
 * method on the same data, seed and progress plan, its `ticket` series
 * renamed, its checkpoints nested in the caller's (counting on after the
 * caller's rounds) and its resume taken from them.
 */
function withBranches<State>(ctx: Omit<MethodContext<State>, 'runBeside'>): MethodContext<State> {
  return {
    ...ctx,
    runBeside: <Name extends MethodName>(name: Name, branch: Branch<Name, State>) => {
      const method = getMethod(name);
      const config: ExperimentConfig = { ...branch.config, method: name };
      const emit = (event: EngineEvent) => {
        const renamed = 'series' in event && event.series === 'ticket' ? { ...event, series: branch.series } : event;
        ctx.emit(renamed);
        branch.onEvent?.(renamed);
      };
      const branchCtx = withBranches<unknown>({
        ...ctx,
        config,
        emit,
        plannedRounds: method.plannedRounds(config),
        resume: ctx.resume && branch.resume ? { ...ctx.resume, round: ctx.resume.round - branch.roundsBefore, state: branch.resume } : null,
        checkpoint: (checkpoint) =>
          ctx.checkpoint(branch.checkpoint({ ...checkpoint, round: branch.roundsBefore + checkpoint.round } as Parameters<typeof branch.checkpoint>[0])),
      });
      // The registry's entry for `name` returns that method's output.
      return method.run(branchCtx) as unknown as Promise<MethodOutputOf<Name>>;
    },
  };
}

export async function runExperiment(input: unknown, options: RunOptions): Promise<RunResults> {
  const config: ExperimentConfig = parseConfig(input);
  const emit: EmitEvent = options.emit ?? (() => {});
  const control = options.control ?? new RunControl();
  const startedAt = new Date();
  // Copies both ways: methods extend their saved arrays in place, and a
  // checkpoint handed out must not change as the run goes on.
  const resume = options.resume ? structuredClone(options.resume) : null;
  if (resume) checkResumable(resume, config);
  const backend = options.backend ?? (await initBackend(config.backend));
  emit({ type: 'backend', info: backend });
  emit({ type: 'status', message: `Loading ${config.data.source} data` });
  const dataset = await loadDataset(config.data, config.seed, options.files);
  try {
    const method = getMethod(config.method);
    const ctx: MethodContext = withBranches<unknown>({
      config,
      dataset,
      emit,
      control,
      iterations: totalIterations(config.train, dataset.train.size),
      createModel: (initSeed, numClasses = dataset.numClasses) =>
        createModel(config.model.arch, config.model.width, numClasses, initSeed, config.model.channels, config.model.branches),
      progress: new ProgressPlan(),
      plannedRounds: method.plannedRounds(config),
      resume,
      checkpoint: (checkpoint) =>
        // The method's own state, stored under its name: the registry types it per method.
        emit({ type: 'checkpoint', checkpoint: structuredClone({ version: 1, method: config.method, config, ...checkpoint } as Checkpoint) }),
      ticket: options.ticket ?? null,
    });
    emit({
      type: 'status',
      message: resume
        ? `Resuming ${method.name} after round ${resume.round} on ${backend.backend}`
        : `Running ${method.name} on ${backend.backend}`,
    });
    const output = await method.run(ctx);
    const all = [...output.rounds, ...Object.values(output.controls ?? {}).flat()];
    const images = all.reduce((n, r) => n + r.imagesPerSecond * r.trainSeconds, 0);
    const seconds = all.reduce((n, r) => n + r.trainSeconds, 0);
    // The method's output beside the run's record, under the method's name: the registry types it per method.
    const results = {
      config,
      method: config.method,
      backend: tf.getBackend(),
      adapter: backend.adapter?.architecture || null,
      backendInfo: backend,
      dataset: {
        source: dataset.source,
        train: dataset.train.size,
        validation: dataset.validation?.size ?? 0,
        test: dataset.test.size,
        classes: dataset.numClasses,
      },
      ...output,
      imagesPerSecond: seconds > 0 ? images / seconds : 0,
      seconds: (Date.now() - startedAt.getTime()) / 1000,
      startedAt: startedAt.toISOString(),
    } as RunResults;
    emit({ type: 'done', results });
    return results;
  } finally {
    dataset.dispose();
  }
}
