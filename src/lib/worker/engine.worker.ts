/**
 * The Web Worker that hosts the engine for the page, so training never blocks
 * the main thread. It turns messages into runExperiment calls and posts every
 * engine event back.
 */
import '../engine/runtime/wasm-paths.browser';
import { parseConfig, type BackendRequest, type ExperimentConfigInput } from '../engine/config';
import { mapFileSource, urlFileSource } from '../engine/data/sources';
import type { FileSource } from '../engine/data/types';
import { runExperiment } from '../engine/experiment';
import { PAGE_DATA_DIR, pytorchExportFiles } from '../export/pytorch';
import runPy from '../export/pytorch/run.py?raw';
import type { EngineEvent } from '../engine/results';
import { initBackend, type BackendInfo } from '../engine/runtime/backend';
import { backendDevice, classifyRunError, deviceLostMessage, DeviceLossWatch, DeviceLostError } from '../engine/runtime/device-loss';
import { RunControl, StopRequested } from '../engine/train/control';
import { PROBE_RUN_ID, type DataLocation, type ExportAnswer, type FromWorker, type RunCommand, type ToWorker } from './protocol';

let control: RunControl | null = null;
/**
 * How long an error on WebGPU waits for the device's loss to be reported:
 * the browser rejects a pending read-back about when it resolves `lost`.
 */
const LOSS_GRACE_MS = 1000;
/** Backend set-up is global to tfjs: a run and a probe must not initialise it at once. */
let backendReady: Promise<unknown> = Promise.resolve();

function initBackendInTurn(request: BackendRequest): Promise<BackendInfo> {
  const next = backendReady.catch(() => undefined).then(() => initBackend(request));
  backendReady = next;
  return next;
}

function fileSource(data: DataLocation): FileSource | null {
  if (data.kind === 'url') return urlFileSource(data.prefix);
  if (data.kind === 'files') return mapFileSource(new Map(Object.entries(data.files)), 'the files you added');
  return null;
}

async function run({ runId, config: input, data, resume, ticket }: RunCommand): Promise<void> {
  // Where the run is, so that a lost device can be reported with what is kept.
  let during: number | null = null;
  let kept = resume?.round ?? 0;
  const post = (event: EngineEvent) => {
    if (event.type === 'progress') during = event.round;
    if (event.type === 'checkpoint') kept = event.checkpoint.round;
    postMessage({ runId, event } satisfies FromWorker);
  };
  control = new RunControl();
  let watch = new DeviceLossWatch(null);
  try {
    const config = parseConfig(input);
    const backend = await initBackendInTurn(config.backend);
    watch = new DeviceLossWatch(backendDevice());
    // A read-back on a lost device may never settle: the loss itself ends the run.
    const lost = watch.lost.then((loss) => Promise.reject(new DeviceLostError(loss)));
    lost.catch(() => {});
    await Promise.race([runExperiment(config, { files: fileSource(data), emit: post, control, backend, resume, ticket }), lost]);
  } catch (error) {
    const { kind, message, deviceLoss } = classifyRunError(error, error instanceof StopRequested ? null : await watch.settle(LOSS_GRACE_MS));
    post({ type: 'error', kind, message: deviceLoss ? deviceLostMessage(deviceLoss, during, kept) : message });
  } finally {
    control = null;
  }
}

async function probe(backend: BackendRequest): Promise<void> {
  const post = (event: EngineEvent) => postMessage({ runId: PROBE_RUN_ID, event } satisfies FromWorker);
  try {
    post({ type: 'backend', info: await initBackendInTurn(backend) });
  } catch (error) {
    post({ type: 'error', kind: 'failed', message: `No backend could be initialised: ${(error as Error).message}` });
  }
}

/**
 * The exporter builds the network's layers with tfjs tensors, so it runs
 * where the page's backend is set up; it waits for any backend set-up in progress, and is synchronous, so
 * it slips between a running experiment's steps without disturbing them.
 */
async function exportPytorch(exportId: string, input: ExperimentConfigInput): Promise<void> {
  try {
    await backendReady.catch(() => undefined);
    postMessage({ exportId, files: pytorchExportFiles(parseConfig(input), runPy, PAGE_DATA_DIR) } satisfies ExportAnswer);
  } catch (error) {
    postMessage({ exportId, error: (error as Error).message } satisfies ExportAnswer);
  }
}

onmessage = (message: MessageEvent<ToWorker>) => {
  const command = message.data;
  if (command.type === 'probe') void probe(command.backend);
  else if (command.type === 'run') void run(command);
  else if (command.type === 'pause') control?.pause();
  else if (command.type === 'resume') control?.resume();
  else if (command.type === 'stop') control?.stop();
  else if (command.type === 'export-pytorch') void exportPytorch(command.exportId, command.config);
  else if (command.type === 'lose-device') backendDevice()?.destroy();
};
