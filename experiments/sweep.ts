/**
 * npm run sweep -- <sweep.json> [--out <dir>] [--runtime node|browser] [--jobs N] [--yes]
 *
 * Runs a sweep (src/lib/engine/sweep/spec.ts): every method over its axes
 * and the seeds, each run through the experiment CLI into <out>/<identity>/
 * (its config.json and results.json; the folder is named by the run's config
 * identity, so `npm run import:results -- <out>` reads them all), and keeps
 * <out>/sweep.json up to date after every run: the runs with their metric
 * and the summary (rankings with their flips, expected best after n draws,
 * pairwise win probabilities), and at the end <out>/sweep.csv (one row per run).
 *
 * - Resumes: a run whose results.json is complete is not redone; a Node run
 *   cut off midway continues from its checkpoint (`--resume`).
 * - A sweep of more than CONFIRM_RUNS_ABOVE runs needs `--yes`.
 * - `--jobs N` runs N experiments at once, each in its own Node process
 *   (tfjs has one backend per process); the default, 1, runs them in this one.
 * - The default <out> is experiments/out/sweep-<safe-name>/.
 */
import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../src/lib/engine/config';
import { experimentIdentity, identityText } from '../src/lib/engine/identity';
import { pendingRecord, runMetric, sweepEtaSeconds, sweepFile, type SweepFile, type SweepRunRecord } from '../src/lib/engine/sweep/record';
import { CONFIRM_RUNS_ABOVE, expandSweep, parseSweep, type SweepRun, type SweepSpec } from '../src/lib/engine/sweep/spec';
import { formatDuration } from '../src/lib/ui/format';
import { sweepCsv } from '../src/lib/ui/sweep-export';
import { CHECKPOINT_FILE, checkOutputs, errorMessage, main as runExperimentCli, optionValue, readJsonObject, runtimeOption, runIfMain, safeFolderName, UsageError, writeAtomically } from './cli';

export interface SweepOptions {
  sweepPath: string;
  out: string | null;
  runtime: 'node' | 'browser';
  jobs: number;
  yes: boolean;
}

const USAGE = 'usage: npm run sweep -- <sweep.json> [--out <dir>] [--runtime node|browser] [--jobs N] [--yes]';

export function parseSweepArgs(argv: string[]): SweepOptions {
  const options: SweepOptions = { sweepPath: '', out: null, runtime: 'node', jobs: 1, yes: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => optionValue(argv, ++i, arg, USAGE);
    if (arg === '--out') options.out = value();
    else if (arg === '--runtime') options.runtime = runtimeOption(value());
    else if (arg === '--jobs') {
      const jobs = value();
      if (!/^[1-9][0-9]?$/.test(jobs)) throw new UsageError(`--jobs must be a whole number from 1 to 99, not "${jobs}"`);
      options.jobs = Number(jobs);
    } else if (arg === '--yes') options.yes = true;
    else if (arg.startsWith('--')) throw new UsageError(`Unknown option ${arg}. ${USAGE}`);
    else if (!options.sweepPath) options.sweepPath = arg;
    else throw new UsageError(`Unexpected argument "${arg}". ${USAGE}`);
  }
  if (!options.sweepPath) throw new UsageError(USAGE);
  return options;
}

/** One run of the sweep as the CLI handles it: its identity and folder. */
interface PlannedRun {
  run: SweepRun;
  id: string;
  dir: string;
}

const RESULTS_FILE = 'results.json';
export const SWEEP_FILE = 'sweep.json';

/** The metric of a finished run in `dir`, or null when it has no complete results.json of this config. */
async function finishedMetric(planned: PlannedRun, spec: SweepSpec): Promise<ReturnType<typeof runMetric>> {
  const text = await readFile(path.join(planned.dir, RESULTS_FILE), 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    const results = JSON.parse(text) as { config: unknown; rounds?: unknown; endedEarly?: unknown };
    // A run cut short (a lost GPU) or of another config is run again.
    if (results.endedEarly || !Array.isArray(results.rounds)) return null;
    if (identityText(parseConfig(results.config)) !== identityText(planned.run.config)) return null;
    return runMetric(results.rounds, spec.metric);
  } catch {
    return null;
  }
}

/** Runs one experiment through the experiment CLI: in this process, or (for --jobs > 1) in a child process of its own. */
async function runOne(argv: string[], inProcess: boolean, log: (line: string) => void): Promise<number> {
  if (inProcess) return runExperimentCli(argv, log);
  const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', cli, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = (stream: NodeJS.ReadableStream, write: (line: string) => void) => {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const parts = (rest + chunk).split('\n');
        rest = parts.pop() ?? '';
        parts.forEach(write);
      });
      stream.on('end', () => rest && write(rest));
    };
    lines(child.stdout!, log);
    lines(child.stderr!, (line) => console.error(line));
    child.on('close', (code) => resolve(code ?? 1));
    child.on('error', (error) => {
      console.error(`could not start a run: ${error.message}`);
      resolve(1);
    });
  });
}

const percent = (x: number) => `${(100 * x).toFixed(1)}%`;
const valuesText = (values: Record<string, unknown>) =>
  Object.entries(values)
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
    .join(' ') || 'base values';

/** The summary as lines for the terminal. */
export function summaryLines(file: SweepFile): string[] {
  const lines = ['', `== sweep ${file.name}: ${file.runs.filter((r) => r.metric !== null).length} of ${file.runs.length} runs finished`];
  for (const arm of file.summary.distributions) {
    const spread = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(1)} points`);
    lines.push(
      `${arm.method}: ${arm.runs} runs, ${arm.configs.length} configs, mean ${percent(arm.mean)}, range ${percent(arm.min)}-${percent(arm.max)}, ` +
        `seed spread (sd) ${spread(arm.seedSpread)}, hyperparameter spread (sd of config means) ${spread(arm.hyperSpread)}`,
    );
  }
  lines.push(file.summary.rankings.text);
  for (const [method, curve] of Object.entries(file.summary.expectedBest)) {
    const shownN = [1, 2, 4, 8, 16, 32].filter((n) => n <= curve.length);
    lines.push(`expected best of n draws, ${method}: ${shownN.map((n) => `n=${n} ${percent(curve[n - 1])}`).join(', ')}`);
  }
  for (const pair of file.summary.pairwise) {
    lines.push(`P(${pair.a} beats ${pair.b}) = ${pair.pAWins.toFixed(2)} over random (config, seed) pairs; tuned gap ${pair.tunedGap >= 0 ? '+' : ''}${(100 * pair.tunedGap).toFixed(1)} points`);
  }
  return lines;
}

export async function sweepMain(argv: string[], log: (line: string) => void = console.log): Promise<number> {
  try {
    const options = parseSweepArgs(argv);
    const spec = parseSweep(await readJsonObject(options.sweepPath, 'sweep'));
    const runs = expandSweep(spec);
    if (runs.length > CONFIRM_RUNS_ABOVE && !options.yes) {
      throw new UsageError(`This sweep has ${runs.length} runs, more than ${CONFIRM_RUNS_ABOVE}: add --yes to run them, or sweep fewer values or seeds`);
    }
    const outDir = options.out ?? path.join('experiments', 'out', `sweep-${safeFolderName(spec.name)}`);
    await checkOutputs(outDir, undefined);
    const planned: PlannedRun[] = await Promise.all(
      runs.map(async (run) => {
        const { id } = await experimentIdentity(run.config);
        return { run, id, dir: path.join(outDir, id) };
      }),
    );
    const records: SweepRunRecord[] = planned.map(({ run, id }) => pendingRecord(run, id));
    // Arms that share a config (the same experiment) share its run.
    const byId = new Map<string, number[]>();
    planned.forEach(({ id }, index) => byId.set(id, [...(byId.get(id) ?? []), index]));
    const finish = (id: string, metric: NonNullable<ReturnType<typeof runMetric>>) => {
      for (const index of byId.get(id) ?? []) {
        records[index] = { ...records[index], metric: metric.value, remaining: metric.remaining, results: `${id}/${RESULTS_FILE}` };
      }
    };
    const toRun: PlannedRun[] = [];
    for (const [id, indices] of byId) {
      const first = planned[indices[0]];
      const metric = await finishedMetric(first, spec);
      if (metric) finish(id, metric);
      else toRun.push(first);
    }
    const sweepPath = path.join(outDir, SWEEP_FILE);
    const save = () => writeAtomically(sweepPath, JSON.stringify(sweepFile(spec, records), null, 2));
    await save();
    log(`sweep ${spec.name}: ${runs.length} runs (${byId.size} distinct), ${byId.size - toRun.length} finished already, ${toRun.length} to run; writing ${sweepPath}`);

    let next = 0;
    let done = 0;
    let failed = 0;
    const runSeconds: number[] = [];
    const worker = async () => {
      while (next < toRun.length) {
        const planned = toRun[next++];
        const label = `[run ${next}/${toRun.length} ${planned.run.arm} ${valuesText(planned.run.values)} seed ${planned.run.seed}]`;
        await checkOutputs(planned.dir, undefined);
        const configFile = path.join(planned.dir, 'config.json');
        await writeAtomically(configFile, JSON.stringify(planned.run.config, null, 2));
        const resume = options.runtime === 'node' && (await stat(path.join(planned.dir, CHECKPOINT_FILE)).catch(() => null)) !== null;
        const started = performance.now();
        const code = await runOne(
          [configFile, '--out', planned.dir, '--runtime', options.runtime, ...(resume ? ['--resume'] : [])],
          options.jobs === 1,
          (line) => log(`${label} ${line}`),
        );
        runSeconds.push((performance.now() - started) / 1000);
        done++;
        const metric = code === 0 ? await finishedMetric(planned, spec) : null;
        if (metric) finish(planned.id, metric);
        else failed++;
        await save();
        const left = toRun.length - done;
        const eta = sweepEtaSeconds(runSeconds, left, options.jobs) ?? 0;
        log(
          `${label} ${metric ? `${percent(metric.value)} test accuracy at ${metric.remaining.toFixed(1)}% of weights remaining` : 'FAILED'}, ` +
            `${runSeconds[runSeconds.length - 1].toFixed(0)} s; ${left ? `about ${formatDuration(eta)} left for ${left} run${left === 1 ? "" : "s"}` : 'all runs done'}`,
        );
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.jobs, Math.max(1, toRun.length)) }, worker));
    const file = sweepFile(spec, records);
    await writeAtomically(sweepPath, JSON.stringify(file, null, 2));
    await writeAtomically(path.join(outDir, 'sweep.csv'), sweepCsv(file));
    summaryLines(file).forEach((line) => log(line));
    log(`wrote ${sweepPath}`);
    if (failed) {
      console.error(`${failed} run${failed === 1 ? '' : 's'} failed (their errors are above); run the same command again to retry them`);
      return 1;
    }
    return 0;
  } catch (error) {
    console.error(errorMessage(error));
    return 1;
  }
}

runIfMain(import.meta.url, sweepMain);
