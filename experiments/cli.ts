/**
 * npm run experiment -- <config.json> [--out <dir>] [--runtime node|browser]
 *                       [--backend auto|webgpu|webgl|wasm|cpu] [--data-dir <dir>]
 *
 * Runs one experiment headless and writes <out>/results.json (keys as in
 * ../shared/reference/experiment-contract.md), printing one line per evaluation.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BACKENDS, ConfigError, parseConfig, type ExperimentConfig } from '../src/lib/engine/config';
import type { EngineEvent, RunResults } from '../src/lib/engine/results';

export interface CliOptions {
  configPath: string;
  out: string | null;
  runtime: 'node' | 'browser';
  backend: string | null;
  dataDir: string | null;
}

export class UsageError extends Error {}

const USAGE =
  'usage: npm run experiment -- <config.json> [--out <dir>] [--runtime node|browser] [--backend auto|webgpu|webgl|wasm|cpu] [--data-dir <dir>]';

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
    else if (arg.startsWith('--')) throw new UsageError(`Unknown option ${arg}. ${USAGE}`);
    else if (!options.configPath) options.configPath = arg;
    else throw new UsageError(`Unexpected argument "${arg}". ${USAGE}`);
  }
  if (!options.configPath) throw new UsageError(USAGE);
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
export async function writeResults(outDir: string, results: RunResults): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const target = path.join(outDir, 'results.json');
  const temp = `${target}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(results, null, 2));
  await rename(temp, target);
  return target;
}

async function runInNode(config: ExperimentConfig, log: (line: string) => void): Promise<RunResults> {
  const { runExperiment } = await import('../src/lib/engine/experiment');
  const { nodeFileSource } = await import('../src/lib/engine/data/node-files');
  const files = config.data.source === 'synthetic' ? null : nodeFileSource(path.resolve(config.data.dir ?? '.'));
  return runExperiment(config, {
    files,
    emit: (event) => {
      const line = formatEvent(event);
      if (line) log(line);
    },
  });
}

export async function main(argv: string[], log: (line: string) => void = console.log): Promise<number> {
  try {
    const options = parseArgs(argv);
    const config = await loadConfig(options);
    const outDir = options.out ?? path.join('experiments', 'out', config.name);
    const results =
      options.runtime === 'node'
        ? await runInNode(config, log)
        : await (await import('./browser-runtime')).runInBrowser(config, log);
    const written = await writeResults(outDir, results);
    log(`wrote ${written}`);
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
