/**
 * The page's state: the experiment being edited, the data files added to
 * it, the backend the worker chose, the run in progress and the runs kept
 * in the browser. Components read and edit this; only this talks to the
 * engine worker and writes runs to storage.
 */
import type { Checkpoint, Ticket } from '../engine/checkpoint';
import { parseConfig, type BackendRequest, type ExperimentConfig, type MethodName } from '../engine/config';
import { LONG_RUN_SECONDS, leastRunSeconds } from '../engine/estimate';
import { decodeTicket, ticketModel } from '../engine/io/ticket-file';
import { getMethod, METHOD_REGISTRY } from '../engine/methods/registry';
import type { EngineEvent, RunResults } from '../engine/results';
import type { BackendInfo } from '../engine/runtime/backend';
import { formatDuration } from '../ui/format';
import type { PytorchExportFiles } from '../export/pytorch';
import { activePreset, presetSeedConfigs } from '../presets/presets';
import { EngineClient, newRunId, type RunHandle } from '../worker/client';
import type { DataLocation } from '../worker/protocol';
import { dataLocation, describeAddedFiles, withSource } from './data-files';
import { RunHistory } from './history.svelte';
import { newStoredRun, type RunDb, type StoredRun, type StoredRunStatus } from './run-db';
import { lastStoredRound, RunRecorder } from './run-recorder';
import { StoppedRunNotes } from './stopped-runs';
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

/** A run, its name and what it has drawn so far: what the accuracy chart compares. */
export type ChartRun = Pick<StoredRun, 'id' | 'name' | 'config' | 'rounds'>;

/** Runs of one network, batch size and backend train at about one speed: what a new run's duration is estimated from. */
function speedKey(config: ExperimentConfig, backend: string | undefined): string {
  return JSON.stringify([config.model.arch, config.model.width, config.model.channels ?? null, config.model.branches ?? null, config.train.batchSize, backend ?? null]);
}

/** How long the builder's run would take, from a speed measured in this session; `seconds` null where none was. */
export interface RunEstimate {
  seconds: number | null;
  text: string;
}

/** An imported ticket and where it came from (a file name, or the stored run it was retrained in). */
export interface ImportedTicket {
  ticket: Ticket;
  source: string;
}

/**
 * A run holds this Web Lock while it trains, so another tab of the lab
 * opening meanwhile does not take the run for one a reload cut off.
 */
function runLockName(id: string): string {
  return `lottery-lab-run-${id}`;
}

function holdRunLock(id: string, until: Promise<unknown>): void {
  if ('locks' in navigator) void navigator.locks.request(runLockName(id), () => until.catch(() => {}));
}

async function runLocksHeld(): Promise<Set<string>> {
  if (!('locks' in navigator)) return new Set();
  const { held = [] } = await navigator.locks.query();
  return new Set(held.map((lock) => lock.name ?? ''));
}

/** The data set with as many classes as a ticket's output layer: its classes must match the run's labels. */
function dataForClasses(data: ExperimentConfig['data'], classes: number): ExperimentConfig['data'] {
  if (classes === 10) return data.source === 'cifar100' ? withSource(data, 'cifar10') : data;
  if (classes === 100) return { ...withSource(data, 'cifar100'), labels: 'fine' };
  if (classes === 20) return { ...withSource(data, 'cifar100'), labels: 'coarse' };
  throw new Error(
    `the ticket's network has ${classes} output classes; the lab's data sets have 10 (synthetic, CIFAR-10), 20 (CIFAR-100 coarse) or 100 (CIFAR-100 fine)`,
  );
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
  /** Replaced by a fresh worker when the GPU is lost under a run: a new worker gets a new device. */
  private client = new EngineClient();
  private handle: RunHandle | null = null;

  readonly history = new RunHistory();
  private db: RunDb | null = null;
  /** Runs stopped by a failed write whose stopped status is not stored yet: never resumed. */
  private readonly stoppedNotes = new StoppedRunNotes();
  /** The stored run shown in the run column: the one running, or the last one. */
  currentRunId = $state<string | null>(null);
  /** Runs started (or resumed) since the page loaded, oldest first: the accuracy chart shows them all. */
  sessionRunIds = $state.raw<string[]>([]);
  /** What happened to a run a reload cut off: resumed, or why it could not be. */
  notice = $state<string | null>(null);
  /** Why the current run could not be kept in storage (and so was stopped). */
  storageError = $state<string | null>(null);

  /** Methods to run after the builder's own, one run each with the same network, data and training, to compare methods. */
  alsoRun = $state<MethodName[]>([]);
  /** Runs still to start after the current one, from the same Run press. */
  queued = $state.raw<ExperimentConfig[]>([]);
  /** A classroom preset runs its first seed only, instead of all its seeds (drawn as a mean with a band). */
  quickPreset = $state(false);
  /** Every finished run's results, stored or of this session: what a preset's guidance reads. */
  readonly finishedResults: RunResults[] = $derived(
    this.history.runs.flatMap((run) => (run.status === 'done' && run.results ? [run.results] : [])),
  );

  /** Training speeds (img/s) measured in this session, by `speedKey`. */
  private speeds = $state.raw<ReadonlyMap<string, number>>(new Map());
  /** The builder's run's duration, estimated before it starts. */
  readonly estimate: RunEstimate | null = $derived.by(() => {
    const config = this.config.value;
    if (!config) return null;
    const speed = this.speeds.get(speedKey(config, this.backend?.backend));
    if (speed === undefined) {
      return { seconds: null, text: 'No time estimate yet: no run of this network and batch size has trained in this session.' };
    }
    const seconds = leastRunSeconds(config, speed, getMethod(config.method).plannedRounds(config));
    return { seconds, text: `At the ${speed.toFixed(0)} img/s measured in this session, this run trains for at least ${formatDuration(seconds)}.` };
  });
  /** Asks before a run estimated at many hours starts; true to start it. */
  confirmLongRun: (question: string) => boolean = (question) => window.confirm(question);

  /** The ticket a `retrain` run retrains. */
  importedTicket = $state.raw<ImportedTicket | null>(null);
  ticketError = $state<string | null>(null);

  /**
   * Runs on the accuracy chart, oldest first: this session's and the ones
   * ticked in History; the current one as it streams in. The same list
   * while none of them changed what the chart draws, so storing a run's
   * checkpoint or views does not redraw the chart.
   */
  readonly chartRuns: ChartRun[] = $derived.by(() => {
    const shown = new Set([...this.sessionRunIds, ...this.history.compared]);
    const runs = this.history.runs
      .filter((run) => shown.has(run.id))
      .reverse()
      .map(({ id, name, config, rounds }) => ({ id, name, config, rounds: id === this.currentRunId ? this.run.rounds : rounds }));
    const previous = this.previousChartRuns;
    const unchanged =
      runs.length === previous.length &&
      runs.every((run, i) => run.id === previous[i].id && run.name === previous[i].name && run.rounds === previous[i].rounds);
    if (!unchanged) this.previousChartRuns = runs;
    return this.previousChartRuns;
  });
  private previousChartRuns: ChartRun[] = [];

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

  /** Probes the backend, reads the stored runs and resumes the run a reload cut off, if any. */
  async init(): Promise<void> {
    const probed = this.probe();
    this.db = await this.history.open();
    // A run stopped for lack of space stays stopped, even where storage could not record that.
    for (const run of this.stoppedNotes.stoppedRuns(this.history.runs)) {
      this.history.replace(run);
      if (await this.storeRun(run)) this.stoppedNotes.forget(run.id);
    }
    const heldElsewhere = await runLocksHeld();
    const [latest, ...older] = this.history.runs.filter((run) => run.status === 'running' && !heldElsewhere.has(runLockName(run.id)));
    for (const run of older) {
      await this.markInterrupted(run, `"${run.name}" was cut off by a page reload; only the latest run cut off ("${latest.name}") was resumed.`);
    }
    await probed;
    if (latest) await this.resumeStored(latest, 'reload');
  }

  /**
   * Continues an interrupted stored run (its GPU was lost, or a reload
   * resumed another run) from its latest checkpoint.
   */
  async continueRun(id: string): Promise<void> {
    const stored = this.history.find(id);
    if (!stored || this.run.active || this.probing) return;
    await this.resumeStored(stored, 'continue');
  }

  /**
   * Continues a stored run from its latest checkpoint, showing what it had
   * drawn before: after a reload cut it off, or when the user asks to.
   */
  private async resumeStored(stored: StoredRun, why: 'reload' | 'continue'): Promise<void> {
    const when = stored.checkpointRound === null ? 'before its first round completed' : `after round ${stored.checkpointRound}`;
    if (this.run.active) {
      await this.markInterrupted(stored, `"${stored.name}" was cut off by a page reload ${when}, and another run started before it could resume.`);
      return;
    }
    // Files added in the page are gone after a reload, but still there when a run continues in the same session.
    const { value: location } = attempt(() => dataLocation(stored.config.data, this.addedFiles));
    if (!location) {
      const what = why === 'reload' ? `was cut off by a page reload ${when} and cannot resume` : 'cannot continue';
      await this.markInterrupted(
        stored,
        `"${stored.name}" ${what}: it read CIFAR files added in the page, which are not kept. Add the files again and re-run it from History.`,
      );
      return;
    }
    const checkpoint = (await this.db?.getCheckpoint(stored.id)) ?? null;
    this.draft = structuredClone(stored.config);
    this.importedTicket = stored.ticket ? { ticket: stored.ticket, source: `run "${stored.name}"` } : this.importedTicket;
    this.run.beginFrom(stored.rounds, stored.views, checkpoint);
    const after = why === 'reload' ? ' after the page reloaded' : '';
    this.notice = checkpoint
      ? `${why === 'reload' ? 'Resumed' : 'Continued'} "${stored.name}" from round ${checkpoint.round}${after}.`
      : `Restarted "${stored.name}" from the beginning${after}: it had not completed a round yet.`;
    this.launch({ ...stored, status: 'running', error: null }, location, checkpoint);
  }

  private async markInterrupted(stored: StoredRun, message: string): Promise<void> {
    this.notice = message;
    const interrupted: StoredRun = { ...stored, status: 'interrupted', error: message };
    this.history.replace(interrupted);
    if (!(await this.storeRun(interrupted))) this.history.error = `Could not mark "${stored.name}" as interrupted in the browser's storage.`;
  }

  /** Writes a run's record; false when storage refused it (the page still shows it as given). */
  private async storeRun(run: StoredRun): Promise<boolean> {
    try {
      await this.db?.put(run);
      return true;
    } catch {
      return false;
    }
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

  /** `config` exported as a PyTorch experiment's files (the worker builds its network: the exporter creates tfjs tensors, and the worker holds the backend). */
  exportPytorch(config: ExperimentConfig): Promise<PytorchExportFiles> {
    return this.client.exportPytorch(config);
  }

  /**
   * Runs the builder's experiment; then, for a classroom preset not run
   * quick, its other seeds; then one run per method ticked under "Also run".
   */
  start(): void {
    const config = this.config.value;
    if (!config || this.run.active || this.probing) return;
    const { seconds, text } = this.estimate ?? { seconds: null, text: '' };
    if (seconds !== null && seconds >= LONG_RUN_SECONDS && !this.confirmLongRun(`${text} Start it?`)) return;
    const preset = activePreset(config);
    const otherSeeds = preset && !this.quickPreset ? presetSeedConfigs(preset).slice(1) : [];
    this.queued = [
      ...otherSeeds,
      ...this.alsoRun
        .filter((method) => method !== config.method && METHOD_REGISTRY[method].runsBeside)
        .map((method) => ({ ...config, method, name: `${config.name}-${method}` })),
    ];
    this.startRun(config);
  }

  /** Runs these one after another, as the runs of one Run press do (a sweep's runs). */
  startQueue(configs: ExperimentConfig[]): void {
    const [first, ...rest] = configs;
    if (!first || this.run.active || this.probing) return;
    this.queued = rest;
    this.startRun(first);
  }

  private startRun(config: ExperimentConfig): void {
    // The run's own data: a queued sweep run need not read what the builder shows.
    const { value: location, error } = attempt(() => dataLocation(config.data, this.addedFiles));
    if (!location) {
      this.run.refuse(error);
      return;
    }
    const takesTicket = METHOD_REGISTRY[config.method].takesTicket;
    const ticket = takesTicket ? (this.importedTicket?.ticket ?? null) : null;
    if (takesTicket === true && !ticket) {
      this.run.refuse(`${config.method} starts from an imported ticket: import a .safetensors ticket first (Import ticket, below the run controls).`);
      return;
    }
    this.notice = null;
    this.run.begin();
    const stored = newStoredRun(newRunId(), config, ticket);
    this.history.replace(stored);
    this.launch(stored, location, null);
  }

  /** Starts the worker on a stored run (new, or resumed from `resume`) and records its events as they arrive. */
  private launch(stored: StoredRun, location: DataLocation, resume: Checkpoint | null): void {
    this.storageError = null;
    this.currentRunId = stored.id;
    if (!this.sessionRunIds.includes(stored.id)) this.sessionRunIds = [...this.sessionRunIds, stored.id];
    const recorder = this.db
      ? new RunRecorder(
          this.db,
          stored.id,
          { saved: (run) => this.history.replace(run), failed: (message) => this.stopForStorage(message) },
          { lastRound: lastStoredRound(stored.rounds), notes: this.stoppedNotes },
        )
      : null;
    // History shows how the run ended even when storage could not record it.
    const finish = async (status: StoredRunStatus, ending: { results?: RunResults; error?: string }) => {
      if (!recorder || (await recorder.finish(status, ending))) return;
      const run = this.history.find(stored.id);
      if (run) this.history.replace({ ...run, status, results: ending.results ?? run.results, error: recorder.failureMessage ?? ending.error ?? null });
    };
    if (resume) recorder?.reopen();
    else recorder?.create(stored);
    const onEvent = (event: EngineEvent) => {
      this.run.apply(event);
      if (event.type === 'round' && event.result.imagesPerSecond > 0) {
        this.speeds = new Map(this.speeds).set(speedKey(stored.config, this.backend?.backend), event.result.imagesPerSecond);
      }
      recorder?.record(event);
      if (event.type === 'done') {
        void finish('done', { results: event.results });
        this.startQueued();
      }
      if (event.type === 'error') {
        if (this.queued.length) this.notice = `Not run, because "${stored.name}" ended early: ${this.queued.map((c) => c.name).join(', ')}.`;
        this.queued = [];
        // A stop the user asked for is no error; one forced by full storage keeps the recorder's reason.
        const stopped = this.run.phase === 'stopped';
        if (this.run.phase === 'interrupted') {
          void finish('interrupted', { error: `${event.message} Continue resumes it from its last checkpoint.` });
          this.replaceWorker();
        } else {
          void finish(stopped ? 'stopped' : 'failed', stopped ? {} : { error: event.message });
        }
      }
    };
    this.handle = this.client.run({ runId: stored.id, config: stored.config, data: location, resume, ticket: stored.ticket }, onEvent);
    // The failure itself arrives as an error event; the promise only repeats it.
    this.handle.done.catch(() => {});
    holdRunLock(stored.id, this.handle.done);
  }

  /**
   * A worker whose GPU device was lost cannot compute again, and may still
   * wait on that device: a fresh worker asks for a new device (and its probe
   * falls back to wasm if none can be had), so Continue trains there.
   */
  private replaceWorker(): void {
    this.client.terminate();
    this.client = new EngineClient();
    void this.probe();
  }

  /** The next run of the same Run press, once the one before it is done. */
  private startQueued(): void {
    const [next, ...rest] = this.queued;
    if (!next) return;
    this.queued = rest;
    this.startRun(next);
  }

  /** A run whose results cannot be stored must not train on: stop it and say why. */
  private stopForStorage(message: string): void {
    this.storageError = message;
    if (this.run.active && this.run.phase !== 'stopping') this.stop();
  }

  /** Loads a stored run's experiment into the builder and runs it again. */
  rerun(id: string): void {
    const stored = this.history.find(id);
    if (!stored || this.run.active) return;
    this.draft = structuredClone(stored.config);
    if (stored.ticket) this.importedTicket = { ticket: stored.ticket, source: `run "${stored.name}"` };
    this.start();
  }

  /** Reads a .safetensors ticket and sets the builder up to retrain it. */
  async importTicket(file: File): Promise<void> {
    try {
      const ticket = decodeTicket(new Uint8Array(await file.arrayBuffer()));
      // A ticket drawn on a class subset retrains on those classes.
      const data = ticket.classes ? { ...this.draft.data, classes: ticket.classes } : dataForClasses(this.draft.data, ticket.numClasses);
      this.draft.method = 'retrain';
      // The network the ticket was drawn on; a slim ticket brings its channel counts.
      this.draft.model = ticketModel(ticket);
      this.draft.data = data;
      this.importedTicket = { ticket, source: file.name };
      this.ticketError = null;
    } catch (error) {
      this.ticketError = `Could not import ${file.name}: ${messageOf(error)}`;
    }
  }

  /** The latest checkpoint's ticket of a stored run, null when it has none. */
  async storedTicket(id: string): Promise<Ticket | null> {
    if (id === this.currentRunId && this.run.checkpoint) return this.run.checkpoint.ticket;
    return (await this.db?.getCheckpoint(id))?.ticket ?? null;
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
