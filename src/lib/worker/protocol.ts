/** Messages between the page and the engine worker. Plain, structured-clone-safe data only. */
import type { Checkpoint, Ticket } from '../engine/checkpoint';
import type { BackendRequest, ExperimentConfigInput } from '../engine/config';
import type { EngineEvent } from '../engine/results';
import type { PytorchExportFiles } from '../export/pytorch';

export type DataLocation =
  | { kind: 'none' }
  /** Files fetched from a URL prefix (the downloaded set under static/, or the CLI's served folder). */
  | { kind: 'url'; prefix: string }
  /** Files the user dropped or picked, by name. */
  | { kind: 'files'; files: Record<string, Blob | Uint8Array> };

export interface RunCommand {
  type: 'run';
  runId: string;
  config: ExperimentConfigInput;
  data: DataLocation;
  /** The checkpoint to continue from (a run cut off by a reload); null starts afresh. */
  resume: Checkpoint | null;
  /** The imported ticket a `retrain` run retrains; null for other methods. */
  ticket: Ticket | null;
}

export type ToWorker =
  | RunCommand
  /** Choose and initialise the backend now, so the page can report it before any run. */
  | { type: 'probe'; backend: BackendRequest }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  /** Export the config as a PyTorch experiment; answered by an ExportAnswer under the same id. */
  | { type: 'export-pytorch'; exportId: string; config: ExperimentConfigInput }
  /**
   * Tests only (the page never sends it): destroys the backend's WebGPU
   * device, as a driver reset would, to exercise the lost-device path.
   */
  | { type: 'lose-device' };

/** Events of a probe come under this id. */
export const PROBE_RUN_ID = 'probe';

/** The exported files, or why the config cannot be exported. */
export type ExportAnswer = { exportId: string } & ({ files: PytorchExportFiles } | { error: string });

export type FromWorker = { runId: string; event: EngineEvent } | ExportAnswer;
