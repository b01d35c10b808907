/** The page's handle on the engine worker: start a run, steer it, receive its events. */
import type { BackendRequest, ExperimentConfigInput } from '../engine/config';
import type { BackendInfo } from '../engine/runtime/backend';
import type { EngineEvent, RunResults } from '../engine/results';
import type { PytorchExportFiles } from '../export/pytorch';
import { PROBE_RUN_ID, type ExportAnswer, type FromWorker, type RunCommand, type ToWorker } from './protocol';

export interface RunHandle {
  runId: string;
  done: Promise<RunResults>;
  pause(): void;
  resume(): void;
  stop(): void;
}

/** A fresh id for a run: unique enough to key a run in the page's storage. */
export function newRunId(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export class EngineClient {
  private readonly worker: Worker;
  private listeners = new Map<string, (event: EngineEvent) => void>();
  private exports = new Map<string, (answer: ExportAnswer) => void>();

  constructor() {
    this.worker = new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module' });
    this.worker.onmessage = ({ data }: MessageEvent<FromWorker>) => {
      if ('exportId' in data) this.exports.get(data.exportId)?.(data);
      else this.listeners.get(data.runId)?.(data.event);
    };
    // A worker that fails to load would otherwise leave every probe and run waiting forever.
    this.worker.onerror = (error: ErrorEvent) => {
      const message = `The training worker failed: ${error.message || 'it could not be loaded'}`;
      for (const listener of [...this.listeners.values()]) listener({ type: 'error', kind: 'failed', message });
      for (const answer of [...this.exports.values()]) answer({ exportId: '', error: message });
    };
  }

  /** Initialise the backend in the worker and report what was chosen. */
  probe(backend: BackendRequest): Promise<BackendInfo> {
    return new Promise((resolve, reject) => {
      this.listeners.set(PROBE_RUN_ID, (event) => {
        this.listeners.delete(PROBE_RUN_ID);
        if (event.type === 'backend') resolve(event.info);
        else reject(new Error(event.type === 'error' ? event.message : 'Unexpected probe answer'));
      });
      this.send({ type: 'probe', backend });
    });
  }

  /** The files of `config` exported as a PyTorch experiment (the exporter creates tfjs tensors: the worker holds the backend). */
  exportPytorch(config: ExperimentConfigInput): Promise<PytorchExportFiles> {
    const exportId = newRunId();
    return new Promise((resolve, reject) => {
      this.exports.set(exportId, (answer) => {
        this.exports.delete(exportId);
        if ('files' in answer) resolve(answer.files);
        else reject(new Error(answer.error));
      });
      this.send({ type: 'export-pytorch', exportId, config });
    });
  }

  private send(command: ToWorker): void {
    this.worker.postMessage(command);
  }

  /** Starts a run under the caller's id (the stored run's, so a resumed run keeps it). */
  run(command: Omit<RunCommand, 'type'>, onEvent: (event: EngineEvent) => void): RunHandle {
    const { runId } = command;
    const done = new Promise<RunResults>((resolve, reject) => {
      this.listeners.set(runId, (event) => {
        onEvent(event);
        if (event.type === 'done' || event.type === 'error') {
          this.listeners.delete(runId);
          if (event.type === 'done') resolve(event.results);
          else reject(new Error(event.message));
        }
      });
    });
    this.send({ type: 'run', ...command });
    return {
      runId,
      done,
      pause: () => this.send({ type: 'pause' }),
      resume: () => this.send({ type: 'resume' }),
      stop: () => this.send({ type: 'stop' }),
    };
  }

  terminate(): void {
    this.worker.terminate();
  }
}
