/**
 * The page's state: the experiment being edited, the data files added to
 * it, the backend the worker chose, and the run in progress. Components read
 * and edit this; only this talks to the engine worker.
 */
import { parseConfig, type BackendRequest, type ExperimentConfig } from '../engine/config';
import type { BackendInfo } from '../engine/runtime/backend';
import { EngineClient, type RunHandle } from '../worker/client';
import type { DataLocation } from '../worker/protocol';
import { dataLocation, describeAddedFiles } from './data-files';
import { RunState } from './run.svelte';
import { readUrlState, type InitialState } from './url-state';

/** A value, or the message of what prevented it. */
export type Outcome<T> = { value: T; error: null } | { value: null; error: string };

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function attempt<T>(compute: () => T): Outcome<T> {
  try {
    return { value: compute(), error: null };
  } catch (error) {
    return { value: null, error: messageOf(error) };
  }
}

export class Lab {
  /** The experiment as edited in the builder; fields a user cleared are undefined and take their defaults. */
  draft: ExperimentConfig;
  /** What was wrong with the link the page was opened with. */
  urlError: string | null;
  /** The draft validated, with defaults filled in: what a run and the link use. */
  readonly config: Outcome<ExperimentConfig> = $derived(attempt(() => parseConfig($state.snapshot(this.draft))));

  /** CIFAR files picked or dropped, by name; they never go into the link. */
  addedFiles = $state.raw<Record<string, File> | null>(null);
  /** Files added that are not CIFAR data. */
  filesError = $state<string | null>(null);
  /** Where a run would read its data, or why it cannot. */
  readonly data: Outcome<DataLocation> = $derived(attempt(() => dataLocation(this.draft.data, this.addedFiles)));

  backend = $state.raw<BackendInfo | null>(null);
  backendError = $state<string | null>(null);
  /** The worker initialises one backend at a time: a run started mid-probe would race it. */
  readonly probing = $derived(this.backend === null && this.backendError === null);
  private probedRequest: BackendRequest | null = null;

  readonly run = new RunState();
  private readonly client = new EngineClient();
  private handle: RunHandle | null = null;

  constructor(initial: InitialState) {
    this.draft = $state(structuredClone(initial.config));
    this.urlError = $state(initial.error);
  }

  /** Take the experiment from a link pasted into the address bar. */
  loadUrl(location: { hash: string; search: string }): void {
    const initial = readUrlState(location);
    this.draft = structuredClone(initial.config);
    this.urlError = initial.error;
    if (!this.run.active && this.draft.backend !== this.probedRequest) void this.probe();
  }

  /** Initialise the draft's backend in the worker so the page can say which one trains. */
  async probe(): Promise<void> {
    const request = this.draft.backend;
    this.probedRequest = request;
    this.backend = null;
    this.backendError = null;
    try {
      this.backend = await this.client.probe(request);
    } catch (error) {
      this.backendError = messageOf(error);
    }
  }

  addFiles(list: File[]): void {
    if (list.length === 0) return;
    try {
      const added = describeAddedFiles(list);
      this.addedFiles = added.files;
      this.draft.data = { ...this.draft.data, ...added.data };
      this.filesError = null;
    } catch (error) {
      this.filesError = messageOf(error);
    }
  }

  start(): void {
    const config = this.config.value;
    if (!config || this.run.active || this.probing) return;
    const { value: location, error } = this.data;
    if (!location) {
      this.run.refuse(error);
      return;
    }
    this.run.begin();
    this.handle = this.client.run(config, location, (event) => this.run.apply(event));
    // The failure itself arrives as an error event; the promise only repeats it.
    this.handle.done.catch(() => {});
  }

  pause(): void {
    this.handle?.pause();
    this.run.phase = 'paused';
  }

  resume(): void {
    this.handle?.resume();
    this.run.phase = 'running';
  }

  stop(): void {
    this.handle?.stop();
    this.run.phase = 'stopping';
  }
}
