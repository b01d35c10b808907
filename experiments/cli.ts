/**
 * npm run experiment -- <config.json> [--out <dir>] [--resume] [--runtime node|browser]
 *                       [--backend auto|webgpu|webgl|wasm|cpu] [--data-dir <dir>] [--seed <n>]
 *                       [--ticket <in.safetensors>] [--save-ticket <out.safetensors>]
 *
 * Runs one experiment headless and writes <out>/results.json (keys as in
 * ../shared/reference/experiment-contract.md), printing one line per evaluation.
 * The default <out> is experiments/out/<safe-name>-<identity>/ (identity.ts), so
 * runs of different configs never share a folder. In Node the folder also gets
 * the latest checkpoint and the finished rounds after every round, and
 * `--resume` continues from that checkpoint. `--ticket` hands an exported
 * ticket to the `retrain` method (a slim ticket's channel counts become
 * `model.channels` when the config names none, a supernet ticket's branches
 * `model.branches` too); `--save-ticket` writes the run's final
 * ticket (docs/tickets.md). Every output path is checked before training.
 */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import { BACKENDS, ConfigError, parseConfig, type ExperimentConfig, type MethodName } from '../src/lib/engine/config';
import type { Checkpoint, Ticket } from '../src/lib/engine/checkpoint';
import { LONG_RUN_SECONDS } from '../src/lib/engine/estimate';
import { experimentIdentity } from '../src/lib/engine/identity';
import { METHOD_REGISTRY } from '../src/lib/engine/methods/registry';
import type { EngineEvent, PartialResults, RoundResult, RunResults, SeriesName } from '../src/lib/engine/results';
import { withRound } from '../src/lib/store/run-db';
import { formatDuration } from '../src/lib/ui/format';
import type { BrowserHooks } from './browser-runtime';

export interface CliOptions {
  configPath: string;
  out: string | null;
  runtime: 'node' | 'browser';
  backend: string | null;
  dataDir: string | null;
  /** Overrides the config's seed: a classroom preset's seeds are one config run once per seed. */
  seed?: number;
  /** A .safetensors ticket for the `retrain` method. */
  ticket?: string;
  /** Where to write the run's final ticket as .safetensors. */
  saveTicket?: string;
  /** Continue from the checkpoint in the output folder. */
  resume?: boolean;
}

export class UsageError extends Error {}

/** What a command prints for an error: the message alone for the user's own mistakes (arguments, config), with the error's kind for anything unexpected. */
export function errorMessage(error: unknown): string {
  return error instanceof UsageError || error instanceof ConfigError ? error.message : `${(error as Error).name}: ${(error as Error).message}`;
}

/** Runs a command's entry point when its module is the file Node was started with, and exits with the code it returns. */
export function runIfMain(moduleUrl: string, entry: (argv: string[]) => Promise<number>): void {
  if (moduleUrl === pathToFileURL(process.argv[1] ?? '').href) entry(process.argv.slice(2)).then((code) => process.exit(code));
}

const USAGE =
  'usage: npm run experiment -- <config.json> [--out <dir>] [--resume] [--runtime node|browser] [--backend auto|webgpu|webgl|wasm|cpu] [--data-dir <dir>] [--seed <n>] ' +
  '[--ticket <in.safetensors>] [--save-ticket <out.safetensors>]';

/** The value of option `option`, at `argv[at]`; missing, or another option, is a usage error. */
export function optionValue(argv: readonly string[], at: number, option: string, usage: string): string {
  const value = argv[at];
  if (value === undefined || value.startsWith('--')) throw new UsageError(`${option} needs a value. ${usage}`);
  return value;
}

/** `--runtime`'s value, checked. */
export function runtimeOption(runtime: string): 'node' | 'browser' {
  if (runtime !== 'node' && runtime !== 'browser') throw new UsageError(`--runtime must be node or browser, not "${runtime}"`);
  return runtime;
}

export function parseArgs(argv: string[]): CliOptions {
  const options: CliOptions = { configPath: '', out: null, runtime: 'node', backend: null, dataDir: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => optionValue(argv, ++i, arg, USAGE);
    if (arg === '--out') options.out = value();
    else if (arg === '--runtime') options.runtime = runtimeOption(value());
    else if (arg === '--backend') {
      const backend = value();
      if (!(BACKENDS as readonly string[]).includes(backend)) {
        throw new UsageError(`Unknown backend "${backend}": use one of ${BACKENDS.join(', ')}`);
      }
      options.backend = backend;
    } else if (arg === '--data-dir') options.dataDir = value();
    else if (arg === '--seed') {
      const seed = value();
      if (!/^\d+$/.test(seed)) throw new UsageError(`--seed must be a whole number of 0 or more, not "${seed}"`);
      options.seed = Number(seed);
    } else if (arg === '--ticket') options.ticket = value();
    else if (arg === '--save-ticket') options.saveTicket = value();
    else if (arg === '--resume') options.resume = true;
    else if (arg.startsWith('--')) throw new UsageError(`Unknown option ${arg}. ${USAGE}`);
    else if (!options.configPath) options.configPath = arg;
    else throw new UsageError(`Unexpected argument "${arg}". ${USAGE}`);
  }
  if (!options.configPath) throw new UsageError(USAGE);
  if (options.runtime === 'browser' && (options.ticket || options.saveTicket || options.resume)) {
    throw new UsageError('--ticket, --save-ticket and --resume work with --runtime node only');
  }
  return options;
}

/** A JSON object from a file (`what` names it in errors: "config", "sweep"); throws a one-line reason. */
export async function readJsonObject(file: string, what: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`Cannot read ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  // Editors on Windows save UTF-8 with a byte-order mark, which JSON.parse reads as an invisible bad token.
  text = text.replace(/^\uFEFF/, '');
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${what[0].toUpperCase()}${what.slice(1)} ${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UsageError(`${what[0].toUpperCase()}${what.slice(1)} ${file} must be a JSON object`);
  return raw;
}

/** Read the config file and apply the command-line overrides; throws a one-line reason. */
export async function loadConfig(options: CliOptions): Promise<ExperimentConfig> {
  const raw = await readJsonObject(options.configPath, 'config');
  if (options.backend) raw.backend = options.backend;
  if (options.dataDir) raw.data = { ...(raw.data as object), dir: options.dataDir };
  if (options.seed !== undefined) raw.seed = options.seed;
  return parseConfig(raw);
}

export function formatEvent(event: EngineEvent): string | null {
  const pct = (x: number | null) => (x === null ? '  -  ' : `${(100 * x).toFixed(1)}%`);
  switch (event.type) {
    case 'backend': {
      const adapter = event.info.adapter ? ` (WebGPU adapter: ${event.info.adapter.vendor} ${event.info.adapter.architecture})` : '';
      return `backend ${event.info.backend}${adapter}${event.info.notice ? ` - ${event.info.notice}` : ''}`;
    }
    case 'status':
      return event.message;
    case 'eval': {
      const p = event.point;
      return (
        `[${event.series} round ${event.round}] it ${p.iteration} ${pct(1 - event.sparsity)} of weights remaining ` +
        `loss ${p.trainLoss.toFixed(3)} val ${pct(p.validationAccuracy)} test ${pct(p.testAccuracy)}`
      );
    }
    case 'round': {
      const r = event.result;
      return (
        `== ${event.series} round ${r.round}: ${pct(1 - r.sparsity)} of weights remaining, test ${pct(r.testAccuracy)}, ` +
        (r.earlyStopIteration === null
          ? 'no early stop (no validation split)'
          : `early-stop it ${r.earlyStopIteration} test ${pct(r.testAccuracyAtEarlyStop)}`) +
        `, ${r.imagesPerSecond.toFixed(0)} img/s, ${r.trainSeconds.toFixed(1)} s`
      );
    }
    case 'view':
      return typeof (event.data as { line?: unknown })?.line === 'string' ? (event.data as { line: string }).line : null;
    case 'error':
      return `error: ${event.message}`;
    default:
      return null;
  }
}

/** Methods that start from an imported ticket (`--ticket`), as the registry describes them. */
const TICKET_METHODS: readonly MethodName[] = Object.values(METHOD_REGISTRY)
  .filter((method) => method.takesTicket)
  .map((method) => method.name);

/** The latest checkpoint (Node's structured-clone format: it keeps the typed arrays) and the finished rounds, in the output folder. */
export const CHECKPOINT_FILE = 'checkpoint.bin';
export const ROUNDS_FILE = 'rounds.json';
/** The temp files `writeAtomically` makes in the output folder. */
const TEMP_FILE = /^(results\.json|checkpoint\.bin|rounds\.json)\.\d+\.tmp$/;

/** A path as error messages show it: quoted (so control characters show), and cut short when long. */
function shown(file: string): string {
  return file.length > 120 ? `${JSON.stringify(file.slice(0, 80))}… (${file.length} characters)` : JSON.stringify(file);
}

/** The reason a file operation failed, in one line. */
function reason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENAMETOOLONG') return 'ENAMETOOLONG: the name is longer than the file system allows';
  return code ?? (error as Error).message;
}

/**
 * A folder name from a config name: letters, digits, '.', '_' and '-', at
 * most 60 characters, never starting with '.' or '-' (so never '..' or a
 * hidden folder); 'experiment' when nothing is left.
 */
export function safeFolderName(name: string): string {
  const safe = name
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[.-]+/, '')
    .slice(0, 60)
    .replace(/[.-]+$/, '');
  return safe || 'experiment';
}

/** The default output folder: inside experiments/out whatever the config's name holds, one per experiment identity. */
export async function defaultOutDir(config: ExperimentConfig): Promise<string> {
  const { id } = await experimentIdentity(config);
  return path.join('experiments', 'out', `${safeFolderName(config.name)}-${id}`);
}

/** Writes `target` through a temp file renamed into place; the temp file never stays behind. */
export async function writeAtomically(target: string, data: string | Uint8Array): Promise<void> {
  const temp = `${target}.${process.pid}.tmp`;
  try {
    await writeFile(temp, data);
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Proves `file` can be written where it is (creating its folder), leaving nothing behind. */
async function checkWritable(file: string, what: string): Promise<void> {
  if (file.includes('\0')) throw new UsageError(`${what} ${shown(file)} holds a NUL byte`);
  const existing = await stat(file).catch(() => null);
  if (existing?.isDirectory()) throw new UsageError(`${what} ${shown(file)} is a folder; give a file name`);
  const temp = `${file}.${process.pid}.tmp`;
  try {
    await mkdir(path.dirname(path.resolve(file)), { recursive: true });
    await writeFile(temp, '');
  } catch (error) {
    throw new UsageError(`Cannot write ${what} ${shown(file)}: ${reason(error)}`);
  } finally {
    await rm(temp, { force: true }).catch(() => {});
  }
}

/** Checks every output path before training, so a bad one costs no run. */
export async function checkOutputs(outDir: string, saveTicket: string | undefined): Promise<void> {
  if (outDir.includes('\0')) throw new UsageError(`Output folder ${shown(outDir)} holds a NUL byte`);
  const existing = await stat(outDir).catch(() => null);
  if (existing && !existing.isDirectory()) throw new UsageError(`Output folder ${shown(outDir)} is a file, not a folder`);
  try {
    await mkdir(outDir, { recursive: true });
  } catch (error) {
    throw new UsageError(`Cannot create output folder ${shown(outDir)}: ${reason(error)}`);
  }
  // A process killed between writing a temp file and renaming it leaves the temp behind: clear ours away.
  const leftovers = (await readdir(outDir)).filter((name) => TEMP_FILE.test(name));
  await Promise.all(leftovers.map((name) => rm(path.join(outDir, name), { force: true })));
  await checkWritable(path.join(outDir, 'results.json'), 'results file');
  if (saveTicket) await checkWritable(saveTicket, '--save-ticket');
}

/** Write results.json next to nothing half-written: a temp file renamed into place. */
export async function writeResults(outDir: string, results: RunResults | PartialResults): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const target = path.join(outDir, 'results.json');
  await writeAtomically(target, JSON.stringify(results, null, 2));
  return target;
}

/** A ticket file for `--ticket`; throws a one-line reason naming the file. */
async function readTicket(file: string): Promise<Ticket> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new UsageError(`Cannot read ticket ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const { decodeTicket } = await import('../src/lib/engine/io/ticket-file');
  try {
    return decodeTicket(bytes);
  } catch (error) {
    throw new UsageError(`Ticket ${file}: ${(error as Error).message}`);
  }
}

async function writeTicket(file: string, ticket: Ticket): Promise<void> {
  const { encodeTicket } = await import('../src/lib/engine/io/ticket-file');
  await writeAtomically(file, encodeTicket(ticket));
}

/** What an earlier run left in `outDir` to resume from. */
interface SavedProgress {
  checkpoint: Checkpoint;
  rounds: Record<SeriesName, RoundResult[]>;
}

async function readProgress(outDir: string, config: ExperimentConfig, log: (line: string) => void): Promise<SavedProgress> {
  const file = path.join(outDir, CHECKPOINT_FILE);
  let checkpoint: Checkpoint;
  try {
    checkpoint = deserialize(await readFile(file)) as Checkpoint;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`--resume: no checkpoint in ${shown(outDir)} (a run writes ${CHECKPOINT_FILE} there after each completed round)`);
    throw new UsageError(`--resume: cannot read ${shown(file)}: ${reason(error)}`);
  }
  const { checkResumable } = await import('../src/lib/engine/experiment');
  try {
    checkResumable(checkpoint, config);
  } catch (error) {
    throw new UsageError(`--resume from ${shown(outDir)}: ${(error as Error).message}`);
  }
  // The rounds file is for people reading the folder; the checkpoint alone resumes, so an unreadable one starts empty.
  const saved = await readFile(path.join(outDir, ROUNDS_FILE), 'utf8').catch(() => null);
  let rounds: SavedProgress['rounds'] = {};
  try {
    if (saved) rounds = (JSON.parse(saved) as { rounds: SavedProgress['rounds'] }).rounds ?? {};
  } catch {
    log(`note: ${ROUNDS_FILE} in ${shown(outDir)} is not readable JSON; it will list the rounds from here on`);
  }
  return { checkpoint, rounds };
}

/**
 * Runs in Node, writing the latest checkpoint and the finished rounds to
 * `outDir` after every round; resolves with the results and the ticket of
 * the run's last checkpoint (null if it drew none).
 */
async function runInNode(
  config: ExperimentConfig,
  outDir: string,
  log: (line: string) => void,
  ticket: Ticket | null,
  resumed: SavedProgress | null,
): Promise<{ results: RunResults; ticket: Ticket | null }> {
  const { runExperiment } = await import('../src/lib/engine/experiment');
  const { nodeFileSource } = await import('../src/lib/engine/data/node-files');
  const { RunControl } = await import('../src/lib/engine/train/control');
  const files = config.data.source === 'synthetic' ? null : nodeFileSource(path.resolve(config.data.dir ?? '.'));
  const control = new RunControl();
  let drawn: Ticket | null = resumed?.checkpoint.ticket ?? null;
  let rounds = resumed?.rounds ?? {};
  let latestProgress: Extract<EngineEvent, { type: 'progress' }> | null = null;
  let projected = false;
  // Events arrive synchronously; their files are written one after another.
  let writes = Promise.resolve();
  let writeFailure: string | null = null;
  const write = (what: () => Promise<void>) => {
    writes = writes.then(async () => {
      if (writeFailure) return;
      try {
        await what();
      } catch (error) {
        writeFailure = `Could not write the checkpoint to ${shown(outDir)}: ${reason(error)}; the run was stopped`;
        control.stop();
      }
    });
  };
  const onEvent = (event: EngineEvent) => {
    const line = formatEvent(event);
    if (line) log(line);
    if (event.type === 'progress') latestProgress = event;
    if (event.type === 'eval' && !projected && latestProgress?.etaSeconds != null) {
      projected = true;
      log(projection(latestProgress));
    }
    if (event.type === 'round') rounds = withRound(rounds, event.series, event.result);
    if (event.type === 'checkpoint') {
      const { checkpoint } = event;
      drawn = checkpoint.ticket;
      const finished = { config, checkpointRound: checkpoint.round, rounds };
      // Rounds first: a checkpoint on disk then never lacks the rounds before it.
      write(async () => {
        await writeAtomically(path.join(outDir, ROUNDS_FILE), JSON.stringify(finished, null, 2));
        await writeAtomically(path.join(outDir, CHECKPOINT_FILE), serialize(checkpoint));
      });
    }
  };
  try {
    const results = await runExperiment(config, { files, ticket, control, resume: resumed?.checkpoint ?? null, emit: onEvent });
    return { results, ticket: drawn };
  } finally {
    await writes;
    if (writeFailure) throw new UsageError(writeFailure);
  }
}

/** "projected: ..." from the first measured speed: how long the whole run would take on this machine. */
export function projection(progress: Extract<EngineEvent, { type: 'progress' }>): string {
  const eta = progress.etaSeconds ?? 0;
  const line = `projected: about ${formatDuration(eta)} more for the whole run, at the ${progress.imagesPerSecond.toFixed(0)} img/s measured so far`;
  return eta >= LONG_RUN_SECONDS ? `${line}. Warning: that is many hours; stop with Ctrl-C and lower train.iterations or train.epochs for a shorter run` : line;
}

/** `browserHooks` let tests reach the headless page of `--runtime browser`. */
export async function main(argv: string[], log: (line: string) => void = console.log, browserHooks: BrowserHooks = {}): Promise<number> {
  try {
    const options = parseArgs(argv);
    let config = await loadConfig(options);
    if (options.ticket && !TICKET_METHODS.includes(config.method)) {
      throw new UsageError(`--ticket: method "${config.method}" does not use a ticket; the methods that take one: ${TICKET_METHODS.join(', ')}`);
    }
    const ticket = options.ticket ? await readTicket(options.ticket) : null;
    // A slim ticket (its pruned channels cut out) builds its own network: a
    // config that names no channel counts takes the ticket's, as the page's
    // import does; one that names others is refused by the method, naming both.
    if (ticket?.branches && !config.model.branches) {
      // A supernet ticket (SuperTickets) brings its branches with its channels.
      config = parseConfig({ ...config, model: { ...config.model, branches: ticket.branches, ...(config.model.channels ? {} : { channels: ticket.channels }) } });
      log(`--ticket: a supernet ticket; model.branches ${JSON.stringify(config.model.branches)} and model.channels ${JSON.stringify(config.model.channels)} from it`);
    } else if (ticket?.channels && !config.model.channels) {
      config = parseConfig({ ...config, model: { ...config.model, channels: ticket.channels } });
      log(`--ticket: a slim ticket; model.channels ${JSON.stringify(config.model.channels)} from it`);
    }
    if (ticket?.classes && !config.data.classes) {
      config = parseConfig({ ...config, data: { ...config.data, classes: ticket.classes } });
      log(`--ticket: drawn on classes ${JSON.stringify(ticket.classes)}; data.classes from it`);
    }
    const outDir = options.out ?? (await defaultOutDir(config));
    await checkOutputs(outDir, options.saveTicket);
    const resumed = options.resume ? await readProgress(outDir, config, log) : null;
    if (resumed) log(`resuming from ${path.join(outDir, CHECKPOINT_FILE)} (round ${resumed.checkpoint.round})`);
    // parseArgs allows --ticket, --save-ticket and --resume with the Node runtime only.
    const run =
      options.runtime === 'node'
        ? { ...(await runInNode(config, outDir, log, ticket, resumed)), ended: null }
        : { ...(await (await import('./browser-runtime')).runInBrowser(config, log, browserHooks)), ticket: null };
    const written = await writeResults(outDir, run.results);
    log(`wrote ${written}`);
    // A lost GPU ends the run early: the rounds it finished are written, and the exit status says it did not finish.
    if (run.ended !== null) {
      console.error(run.ended);
      return 1;
    }
    if (options.saveTicket) {
      if (!run.ticket) throw new UsageError(`--save-ticket: the ${config.method} run drew no ticket to save`);
      await writeTicket(options.saveTicket, run.ticket);
      const slim = run.ticket.branches
        ? ` in the searched supernet with branches ${JSON.stringify(run.ticket.branches)} and channels ${JSON.stringify(run.ticket.channels)}`
        : run.ticket.channels
          ? ` in the slim network with channels ${JSON.stringify(run.ticket.channels)}`
          : '';
      log(`wrote ${options.saveTicket} (${(100 * (1 - run.ticket.sparsity)).toFixed(1)}% of weights remaining${slim})`);
    }
    return 0;
  } catch (error) {
    console.error(errorMessage(error));
    return 1;
  }
}

runIfMain(import.meta.url, main);
