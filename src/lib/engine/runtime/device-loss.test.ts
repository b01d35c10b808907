import { describe, expect, it } from 'vitest';
import { DataError } from '../data/cifar';
import { ResultsSoFar, type RoundResult } from '../results';
import { parseConfig } from '../config';
import { StopRequested } from '../train/control';
import { classifyRunError, deviceLostMessage, DeviceLossWatch, DeviceLostError, type DeviceLoss, type GpuDeviceLike } from './device-loss';

const destroyed: DeviceLoss = { reason: 'destroyed', message: '' };

/** A device whose loss the test reports when it likes. */
function fakeDevice(): { device: GpuDeviceLike; lose(info: DeviceLoss): void } {
  let lose!: (info: DeviceLoss) => void;
  const lost = new Promise<DeviceLoss>((resolve) => (lose = resolve));
  return { device: { lost, destroy: () => lose(destroyed) }, lose };
}

/** What Chromium rejects a pending read-back with when the device goes away under it. */
const unmapped = new DOMException("Failed to execute 'mapAsync' on 'GPUBuffer': Buffer was unmapped before mapping was resolved.", 'AbortError');

describe('classifyRunError', () => {
  it('takes any error after a lost device for the loss, however it is worded', () => {
    expect(classifyRunError(unmapped, destroyed)).toEqual({ kind: 'device-lost', message: 'destroyed', deviceLoss: destroyed });
    const unknown = { reason: 'unknown', message: 'GPU connection lost.' };
    expect(classifyRunError(new Error('Device is lost'), unknown)).toEqual({ kind: 'device-lost', message: 'GPU connection lost', deviceLoss: unknown });
    expect(classifyRunError(new DeviceLostError(destroyed), null).kind).toBe('device-lost');
  });

  it('leaves other GPU errors, bugs, bad data and a full disk as failures, and a stop as a stop', () => {
    // The same words without a lost device: some other GPU failure, which continuing would not cure.
    expect(classifyRunError(unmapped, null)).toEqual({ kind: 'failed', message: unmapped.message, deviceLoss: null });
    expect(classifyRunError(new DOMException('Out of memory', 'OperationError'), null).kind).toBe('failed');
    expect(classifyRunError(new TypeError("Cannot read properties of undefined (reading 'shape')"), null).kind).toBe('failed');
    expect(classifyRunError(new DataError('data_batch_1.bin: 100 bytes is not a whole number of 3073-byte records'), null).kind).toBe('failed');
    expect(classifyRunError(new DOMException('The quota has been exceeded.', 'QuotaExceededError'), null).kind).toBe('failed');
    expect(classifyRunError(new StopRequested(), null)).toEqual({ kind: 'stopped', message: 'Run stopped', deviceLoss: null });
  });
});

describe('DeviceLossWatch', () => {
  it("records the device's loss", async () => {
    const { device, lose } = fakeDevice();
    const watch = new DeviceLossWatch(device);
    expect(watch.loss).toBeNull();
    lose({ reason: 'unknown', message: 'GPU process restarted' });
    await expect(watch.lost).resolves.toEqual({ reason: 'unknown', message: 'GPU process restarted' });
    expect(watch.loss).toEqual({ reason: 'unknown', message: 'GPU process restarted' });
  });

  it('waits for a loss reported just after the error it caused', async () => {
    const { device } = fakeDevice();
    const watch = new DeviceLossWatch(device);
    setTimeout(() => device.destroy(), 5);
    expect(await watch.settle(60_000)).toEqual(destroyed);
  });

  it('does not wait where there is no device (wasm, cpu)', async () => {
    expect(await new DeviceLossWatch(null).settle(60_000)).toBeNull();
  });
});

describe('deviceLostMessage', () => {
  it('says what happened and which rounds are kept', () => {
    expect(deviceLostMessage(destroyed, 2, 2)).toBe('The GPU stopped responding (device lost: destroyed) during round 2. Rounds 0–1 are kept.');
    expect(deviceLostMessage({ reason: 'unknown', message: 'GPU process restarted.' }, 1, 1)).toBe(
      'The GPU stopped responding (device lost: GPU process restarted) during round 1. Round 0 is kept.',
    );
    expect(deviceLostMessage({ reason: 'destroyed', message: 'Device was destroyed.' }, 3, 3)).toBe(
      'The GPU stopped responding (device lost: destroyed) during round 3. Rounds 0–2 are kept.',
    );
    expect(deviceLostMessage(destroyed, null, 0)).toBe('The GPU stopped responding (device lost: destroyed) before training started. No round had finished yet.');
  });
});

describe('ResultsSoFar', () => {
  const round = (n: number, testAccuracy: number): RoundResult => ({
    round: n,
    sparsity: 1 - 0.8 ** n,
    layers: [],
    testAccuracy,
    earlyStopIteration: 10,
    testAccuracyAtEarlyStop: testAccuracy,
    trainSeconds: 1,
    iterations: 20,
    imagesPerSecond: 100,
    curve: [],
  });

  it('keeps every finished round in the shape of results.json, with why the run ended', () => {
    const config = parseConfig({ name: 'partial', method: 'imp', controls: ['randomReinit'] });
    const soFar = new ResultsSoFar(config);
    soFar.record({ type: 'backend', info: { backend: 'webgpu', adapter: { vendor: 'google', architecture: 'swiftshader', description: '', isFallbackAdapter: false, software: true }, notice: null, threads: null, simd: null } });
    soFar.record({ type: 'round', series: 'ticket', result: round(0, 0.3) });
    soFar.record({ type: 'round', series: 'ticket', result: round(1, 0.31) });
    soFar.record({ type: 'round', series: 'randomReinit', result: round(1, 0.25) });
    // A continued run redoes the round the loss cut off: the later result stands.
    soFar.record({ type: 'round', series: 'ticket', result: round(1, 0.32) });
    const partial = soFar.ended({ kind: 'device-lost', message: 'The GPU stopped responding (device lost: destroyed) during round 2. Rounds 0–1 are kept.' });
    expect(partial.backend).toBe('webgpu');
    expect(partial.adapter).toBe('swiftshader');
    expect(partial.method).toBe('imp');
    expect(partial.rounds.map((r) => [r.round, r.testAccuracy])).toEqual([
      [0, 0.3],
      [1, 0.32],
    ]);
    // Controls share round 0 with the ticket, as in complete results.
    expect(partial.controls.randomReinit?.map((r) => [r.round, r.testAccuracy])).toEqual([
      [0, 0.3],
      [1, 0.25],
    ]);
    expect(partial.endedEarly.kind).toBe('device-lost');
  });
});
