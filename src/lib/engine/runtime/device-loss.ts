/**
 * A lost WebGPU device: a driver reset, the GPU process restarting, the
 * browser reclaiming a background tab's device. The device's `lost` promise
 * resolves, and every GPU call after it fails (a pending read-back rejects
 * with "Buffer was unmapped before mapping was resolved") or never settles.
 * Nothing more can be computed on that device, but nothing is wrong with the
 * run: its checkpoints are intact and it can continue on a fresh device. So
 * a lost device is its own kind of error, apart from a bug or bad data (and
 * from a full disk, which the page's storage reports).
 */
import * as tf from '@tensorflow/tfjs';
import { StopRequested } from '../train/control';

/** What the browser said when the device was lost (GPUDeviceLostInfo). */
export interface DeviceLoss {
  /** 'destroyed' or 'unknown'. */
  reason: string;
  /** The browser's explanation; often empty. */
  message: string;
}

/**
 * How a run ended early. `stopped`: the user (or a full disk, through the
 * page) asked it to stop. `device-lost`: the GPU went away under it; it can
 * continue from its last checkpoint. `failed`: anything else (a bug, data
 * that cannot be read), which running again would not cure.
 */
export type RunErrorKind = 'stopped' | 'device-lost' | 'failed';

export interface RunError {
  kind: RunErrorKind;
  /** The error's own words; for a lost device, the loss's reason. */
  message: string;
  deviceLoss: DeviceLoss | null;
}

/** Thrown in place of a run that was waiting on the GPU when its device was lost. */
export class DeviceLostError extends Error {
  constructor(readonly loss: DeviceLoss) {
    super(`The WebGPU device was lost (${describeLossReason(loss)})`);
    this.name = 'DeviceLostError';
  }
}

/** The part of GPUDevice used here; keeps the engine free of @webgpu/types. */
export interface GpuDeviceLike {
  lost: Promise<{ reason: string; message: string }>;
  destroy(): void;
}

/** The device tfjs's webgpu backend computes on; null on any other backend. */
export function backendDevice(): GpuDeviceLike | null {
  if (tf.getBackend() !== 'webgpu') return null;
  return (tf.backend() as { device?: GpuDeviceLike }).device ?? null;
}

/**
 * The reason in a few words: "destroyed" (the page, or the browser for it,
 * gave the device up), else the browser's own explanation where it gave one.
 */
export function describeLossReason(loss: DeviceLoss): string {
  return loss.reason !== 'destroyed' && loss.message ? loss.message.replace(/\.$/, '') : loss.reason;
}

/**
 * Watches one device for loss. `lost` resolves when it is lost and never on
 * a backend without a device, so a run can race against it.
 */
export class DeviceLossWatch {
  loss: DeviceLoss | null = null;
  readonly lost: Promise<DeviceLoss>;

  constructor(private readonly device: GpuDeviceLike | null) {
    this.lost = device
      ? device.lost.then(({ reason, message }) => (this.loss = { reason: String(reason), message: message ?? '' }))
      : new Promise<never>(() => {});
  }

  /**
   * The loss, once an error has been thrown. The browser may reject a
   * pending read-back a moment before it resolves `lost`, so an error is
   * given `graceMs` for the loss to be reported before it is taken for
   * something else.
   */
  async settle(graceMs: number): Promise<DeviceLoss | null> {
    if (this.loss || !this.device) return this.loss;
    await Promise.race([this.lost, new Promise((resolve) => setTimeout(resolve, graceMs))]);
    return this.loss;
  }
}

/**
 * Sorts an error that ended a run into its kind. `loss` is what the device
 * watch saw: once the device is lost, every error after it (an aborted
 * read-back, an unmapped buffer) is a consequence of the loss, however it
 * is worded. The same words without a loss are some other GPU failure.
 */
export function classifyRunError(error: unknown, loss: DeviceLoss | null): RunError {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof StopRequested) return { kind: 'stopped', message, deviceLoss: null };
  const deviceLoss = error instanceof DeviceLostError ? error.loss : loss;
  if (deviceLoss) return { kind: 'device-lost', message: describeLossReason(deviceLoss), deviceLoss };
  return { kind: 'failed', message, deviceLoss: null };
}

/**
 * The lost device in plain words, with what is kept: `during` is the round
 * being trained (0-based, as in results), `kept` the rounds the last
 * checkpoint completed (rounds 0 to kept - 1).
 */
export function deviceLostMessage(loss: DeviceLoss, during: number | null, kept: number): string {
  const when = during === null ? ' before training started' : ` during round ${during}`;
  const what =
    kept === 0 ? 'No round had finished yet.' : kept === 1 ? 'Round 0 is kept.' : `Rounds 0–${kept - 1} are kept.`;
  return `The GPU stopped responding (device lost: ${describeLossReason(loss)})${when}. ${what}`;
}
