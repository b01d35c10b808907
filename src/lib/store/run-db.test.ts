import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Checkpoint } from '../engine/checkpoint';
import { parseConfig } from '../engine/config';
import type { RoundResult } from '../engine/results';
import { newStoredRun, RunDb, type StoredRun } from './run-db';
import { RunRecorder } from './run-recorder';
import { StoppedRunNotes } from './stopped-runs';

const config = parseConfig({ name: 'db-test', method: 'imp' });

function storedRun(id: string, createdAt = 1): StoredRun {
  return newStoredRun(id, config, null, createdAt);
}

function round(index: number, testAccuracy = 0.5): RoundResult {
  return {
    round: index,
    sparsity: 1 - 0.8 ** index,
    layers: [],
    testAccuracy,
    earlyStopIteration: 10,
    testAccuracyAtEarlyStop: testAccuracy,
    trainSeconds: 1,
    iterations: 10,
    imagesPerSecond: 100,
    curve: [],
  };
}

function checkpoint(roundsDone: number): Checkpoint {
  return {
    version: 1,
    method: 'imp',
    round: roundsDone,
    state: { rounds: [], controls: {} },
    tensors: { 'conv_1/kernel': { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) } },
    masks: { conv_1: { shape: [2, 2], keep: new Uint8Array([1, 0, 1, 1]) } },
    ticket: null,
  };
}

let dbCount = 0;
const openFresh = () => RunDb.open(`run-db-test-${dbCount++}`);

afterEach(() => vi.restoreAllMocks());

describe('RunDb', () => {
  it('lists runs newest first, renames and deletes a run with its checkpoint', async () => {
    const db = await openFresh();
    await db.put(storedRun('old', 1));
    await db.put(storedRun('new', 2));
    await db.saveCheckpoint('old', checkpoint(1));
    expect((await db.list()).map((r) => r.id)).toEqual(['new', 'old']);

    await db.update('new', (run) => ({ ...run, name: 'renamed' }));
    expect((await db.get('new'))?.name).toBe('renamed');

    await db.delete('old');
    expect(await db.get('old')).toBeUndefined();
    expect(await db.getCheckpoint('old')).toBeUndefined();
  });

  it('keeps one result per round number, so a resumed run that redoes a round does not list it twice', async () => {
    const db = await openFresh();
    await db.put(storedRun('a'));
    await db.appendRound('a', 'ticket', round(0, 0.3));
    await db.appendRound('a', 'ticket', round(1, 0.4));
    await db.appendRound('a', 'ticket', round(1, 0.45));
    const rounds = (await db.get('a'))!.rounds.ticket;
    expect(rounds.map((r) => [r.round, r.testAccuracy])).toEqual([
      [0, 0.3],
      [1, 0.45],
    ]);
  });

  it('replaces the checkpoint each round and keeps its typed arrays', async () => {
    const db = await openFresh();
    await db.put(storedRun('a'));
    await db.saveCheckpoint('a', checkpoint(1));
    const run = await db.saveCheckpoint('a', { ...checkpoint(2), ticket: null });
    expect(run.checkpointRound).toBe(2);
    const saved = await db.getCheckpoint('a');
    expect(saved?.round).toBe(2);
    expect(saved?.tensors['conv_1/kernel'].data).toEqual(new Float32Array([1, 2, 3, 4]));
    expect(saved?.masks.conv_1.keep).toEqual(new Uint8Array([1, 0, 1, 1]));
  });
});

describe('RunRecorder', () => {
  it('writes rounds, views and checkpoints as they arrive, then the ending', async () => {
    const db = await openFresh();
    const saved = vi.fn();
    const failed = vi.fn();
    const recorder = new RunRecorder(db, 'r', { saved, failed });
    recorder.create(storedRun('r'));
    recorder.record({ type: 'round', series: 'ticket', result: round(0) });
    recorder.record({ type: 'view', view: 'masks', data: { distance: 0.1 } });
    recorder.record({ type: 'checkpoint', checkpoint: checkpoint(1) });
    recorder.record({ type: 'round', series: 'ticket', result: round(1) });
    await recorder.finish('stopped', { error: 'Run stopped' });

    const run = (await db.get('r'))!;
    expect(run.rounds.ticket.map((r) => r.round)).toEqual([0, 1]);
    expect(run.views).toEqual({ masks: { distance: 0.1 } });
    expect(run.checkpointRound).toBe(1);
    expect(run.status).toBe('stopped');
    expect(run.error).toBe('Run stopped');
    expect(failed).not.toHaveBeenCalled();
    expect(saved).toHaveBeenLastCalledWith(run);
  });

  it('reports a full disk once, writes nothing after it, and still records the ending with the reason', async () => {
    const db = await openFresh();
    const failed = vi.fn();
    const recorder = new RunRecorder(db, 'r', { saved: () => {}, failed });
    recorder.create(storedRun('r'));
    recorder.record({ type: 'round', series: 'ticket', result: round(0) });
    recorder.record({ type: 'checkpoint', checkpoint: checkpoint(1) });
    await recorder.finish('running', {});

    // The disk fills up: the next checkpoint (the biggest write) cannot be stored.
    const put = IDBObjectStore.prototype.put;
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, ...args) {
      if (this.name === 'checkpoints') throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return put.apply(this, args);
    });
    recorder.record({ type: 'round', series: 'ticket', result: round(1) });
    recorder.record({ type: 'checkpoint', checkpoint: checkpoint(2) });
    recorder.record({ type: 'round', series: 'ticket', result: round(2) });
    recorder.record({ type: 'checkpoint', checkpoint: checkpoint(3) });
    await recorder.finish('stopped', { error: 'Run stopped' });

    const message = "The browser's storage is full: the run was stopped, and the last round stored is round 1. Delete old runs in History to free space.";
    expect(failed).toHaveBeenCalledTimes(1);
    expect(failed).toHaveBeenCalledWith(message);
    const run = (await db.get('r'))!;
    expect(run.rounds.ticket.map((r) => r.round)).toEqual([0, 1]);
    expect(run.checkpointRound).toBe(1);
    expect((await db.getCheckpoint('r'))?.round).toBe(1);
    expect(run.status).toBe('stopped');
    expect(run.error).toBe(message);
  });

  it('with every write failing, notes the stop outside IndexedDB so a reload keeps the run stopped, naming the last stored round', async () => {
    const db = await openFresh();
    const kept = new Map<string, string>();
    const notes = new StoppedRunNotes({ getItem: (key) => kept.get(key) ?? null, setItem: (key, value) => void kept.set(key, value) });
    const failed = vi.fn();
    const recorder = new RunRecorder(db, 'r', { saved: () => {}, failed }, { notes });
    recorder.create(storedRun('r'));
    recorder.record({ type: 'round', series: 'ticket', result: round(0) });
    await recorder.finish('running', {});

    // The disk is full: no write of any kind succeeds, marking the run stopped included.
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(() => {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    });
    recorder.record({ type: 'checkpoint', checkpoint: checkpoint(1) });
    recorder.record({ type: 'round', series: 'ticket', result: round(1) });
    expect(await recorder.finish('stopped', { error: 'Run stopped' })).toBe(false);
    const message = "The browser's storage is full: the run was stopped, and the last round stored is round 0. Delete old runs in History to free space.";
    expect(failed).toHaveBeenCalledWith(message);
    expect((await db.get('r'))!.status).toBe('running');

    // What the page finds after a reload: the run is stopped, with the reason, not resumed.
    const stopped = notes.stoppedRuns(await db.list());
    expect(stopped.map((run) => [run.id, run.status, run.error])).toEqual([['r', 'stopped', message]]);
    expect(new StoppedRunNotes(null).stoppedRuns(await db.list())).toEqual([]);

    // Once space is free, the stopped status is stored and the note goes.
    vi.restoreAllMocks();
    expect(await new RunRecorder(db, 'r', { saved: () => {}, failed }, { notes }).finish('stopped', { error: message })).toBe(true);
    expect((await db.get('r'))!.status).toBe('stopped');
    expect(notes.stoppedRuns(await db.list())).toEqual([]);
    expect(notes.reasons().size).toBe(0);
  });

  it('names any other write failure', async () => {
    const db = await openFresh();
    const failed = vi.fn();
    const recorder = new RunRecorder(db, 'missing', { saved: () => {}, failed });
    recorder.record({ type: 'round', series: 'ticket', result: round(0) });
    await recorder.finish('done', {});
    expect(failed).toHaveBeenCalledWith(
      "The run could not be saved in the browser's storage (No stored run with id missing): it was stopped so no results are lost unsaved, and no round of it is stored.",
    );
  });
});
