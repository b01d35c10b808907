/**
 * npm run experiment -- <config.json> [--out <dir>] [--runtime node|browser]
 *                       [--backend auto|webgpu|webgl|wasm|cpu] [--data-dir <dir>]
 *                       [--ticket <in.safetensors>] [--save-ticket <out.safetensors>]
 *
 * Runs one experiment headless and writes <out>/results.json (keys as in
 * ../shared/reference/experiment-contract.md), printing one line per evaluation.
 * `--ticket` hands an exported ticket to the `retrain` method; `--save-ticket`
 * writes the run's final ticket (docs/tickets.md). Both run in Node only.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BACKENDS, ConfigError, parseConfig, type ExperimentConfig } from '../src/lib/engine/config';
import type { Ticket } from '../src/lib/engine/checkpoint';
import type { EngineEvent, PartialResults, RunResults } from '../src/lib/engine/results';
import type { BrowserHooks } from './browser-runtime';

export interface CliOptions {
  configPath: string;
  out: string | null;
  runtime: 'node' | 'browser';
  backend: string | null;
  dataDir: string | null;
  /** A .safetensors ticket for the `retrain` method. */
  ticket?: string;
  /** Where to write the run's final ticket as .safetensors. */
  saveTicket?: string;
}

export class UsageError extends Error {}

const USAGE =
  'usage: npm run experiment -- <config.json> [--out <dir>] [--runtime node|browser] [--backend auto|webgpu|webgl|wasm|cpu] [--data-dir <dir>] ' +
  '[--ticket <in.safetensors>] [--save-ticket <out.safetensors>]';

export function parseArgs(argv: string[]): CliOptions {
  const options: CliOptions = { configPath: '', out: null, runtime: 'node', backend: null, dataDir: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`${arg} needs a value. ${USAGE}`);
      return next;
    };
    if (arg === '--out') options.out = value();
    else if (arg === '--runtime') {
      const runtime = value();
      if (runtime !== 'node' && runtime !== 'browser') throw new UsageError(`--runtime must be node or browser, not "${runtime}"`);
      options.runtime = runtime;
    } else if (arg === '--backend') {
      const backend = value();
      if (!(BACKENDS as readonly string[]).includes(backend)) {
        throw new UsageError(`Unknown backend "${backend}": use one of ${BACKENDS.join(', ')}`);
      }
      options.backend = backend;
    } else if (arg === '--data-dir') options.dataDir = value();
    else if (arg === '--ticket') options.ticket = value();
    else if (arg === '--save-ticket') options.saveTicket = value();
    else if (arg.startsWith('--')) throw new UsageError(`Unknown option ${arg}. ${USAGE}`);
    else if (!options.configPath) options.configPath = arg;
    else throw new UsageError(`Unexpected argument "${arg}". ${USAGE}`);
  }
  if (!options.configPath) throw new UsageError(USAGE);
  if (options.runtime === 'browser' && (options.ticket || options.saveTicket)) {
    throw new UsageError('--ticket and --save-ticket work with --runtime node only');
  }
  return options;
}

/** Read the config file and apply the command-line overrides; throws a one-line reason. */
export async function loadConfig(options: CliOptions): Promise<ExperimentConfig> {
  let text: string;
  try {
    text = await readFile(options.configPath, 'utf8');
  } catch (error) {
    throw new UsageError(`Cannot read config ${options.configPath}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`Config ${options.configPath} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UsageError(`Config ${options.configPath} must be a JSON object`);
  if (options.backend) raw.backend = options.backend;
  if (options.dataDir) raw.data = { ...(raw.data as object), dir: options.dataDir };
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
        `[${event.series} round ${event.round}] it ${p.iteration} remaining ${pct(1 - event.sparsity)} ` +
        `loss ${p.trainLoss.toFixed(3)} val ${pct(p.validationAccuracy)} test ${pct(p.testAccuracy)}`
      );
    }
    case 'round': {
      const r = event.result;
      return (
        `== ${event.series} round ${r.round}: ${pct(1 - r.sparsity)} of weights remaining, test ${pct(r.testAccuracy)}, ` +
        `early-stop it ${r.earlyStopIteration} test ${pct(r.testAccuracyAtEarlyStop)}, ${r.imagesPerSecond.toFixed(0)} img/s, ${r.trainSeconds.toFixed(1)} s`
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

/** Write results.json next to nothing half-written: a temp file renamed into place. */
export async function writeResults(outDir: string, results: RunResults | PartialResults): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const target = path.join(outDir, 'results.json');
  const temp = `${target}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(results, null, 2));
  await rename(temp, target);
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
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, encodeTicket(ticket));
  await rename(temp, file);
}

/** Runs in Node; resolves with the results and the ticket of the run's last checkpoint (null if it drew none). */
async function runInNode(
  config: ExperimentConfig,
  log: (line: string) => void,
  ticket: Ticket | null,
): Promise<{ results: RunResults; ticket: Ticket | null }> {
  const { runExperiment } = await import('../src/lib/engine/experiment');
  const { nodeFileSource } = await import('../src/lib/engine/data/node-files');
  const files = config.data.source === 'synthetic' ? null : nodeFileSource(path.resolve(config.data.dir ?? '.'));
  let drawn: Ticket | null = null;
  const results = await runExperiment(config, {
    files,
    ticket,
    emit: (event) => {
      if (event.type === 'checkpoint') drawn = event.checkpoint.ticket;
      const line = formatEvent(event);
      if (line) log(line);
    },
  });
  return { results, ticket: drawn };
}

/** `browserHooks` let tests reach the headless page of `--runtime browser`. */
export async function main(argv: string[], log: (line: string) => void = console.log, browserHooks: BrowserHooks = {}): Promise<number> {
  try {
    const options = parseArgs(argv);
    const config = await loadConfig(options);
    const outDir = options.out ?? path.join('experiments', 'out', config.name);
    // parseArgs allows --ticket and --save-ticket with the Node runtime only.
    const run =
      options.runtime === 'node'
        ? { ...(await runInNode(config, log, options.ticket ? await readTicket(options.ticket) : null)), ended: null }
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
      log(`wrote ${options.saveTicket} (${(100 * (1 - run.ticket.sparsity)).toFixed(1)}% of weights remaining)`);
    }
    return 0;
  } catch (error) {
    const message = error instanceof UsageError || error instanceof ConfigError ? error.message : `${(error as Error).name}: ${(error as Error).message}`;
    console.error(message);
    return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
