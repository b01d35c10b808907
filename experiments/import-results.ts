/**
 * npm run import:results -- <dir> [--csv <file>]
 *
 * The command line's side of "results back in the lab": reads every
 * results.json in <dir> (the folder itself and its subfolders one level down,
 * as the lab's CLI and the exported PyTorch program write them), checks each
 * key by key exactly as the page's "Import results.json" does, prints each
 * run's series as weights remaining against test accuracy, and with --csv
 * writes them all into one table (the page's results.csv columns, led by the
 * run). A file that is not a results.json of this lab is named with the key
 * it lacks; the others are still read, and the exit status is 1.
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { importResults, ResultsImportError } from '../src/lib/store/imported-results';
import type { StoredRun } from '../src/lib/store/run-db';
import { csvField, resultsCsv } from '../src/lib/ui/export';
import { formatPercent, percentRemaining } from '../src/lib/ui/format';
import { errorMessage, runIfMain, UsageError } from './cli';

const USAGE = 'usage: npm run import:results -- <dir> [--csv <file>]';

/** The results.json files in `dir` and in its subfolders one level down, sorted. */
export async function findResultsFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`Cannot read folder ${JSON.stringify(dir)}: ${error.code ?? error.message}`);
  });
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isFile() && entry.name === 'results.json') found.push(full);
    if (entry.isDirectory()) {
      const inner = path.join(full, 'results.json');
      if ((await stat(inner).catch(() => null))?.isFile()) found.push(inner);
    }
  }
  return found.sort();
}

/** One line per series: "  ticket: 100% 61.2%, 80.0% 62.0%, ..." (weights remaining, test accuracy). */
function seriesLines(run: StoredRun): string[] {
  return Object.entries(run.rounds).map(
    ([series, rounds]) =>
      `  ${series}: ${rounds.map((r) => `${formatPercent(percentRemaining(r.sparsity) / 100)} remaining ${formatPercent(r.testAccuracy)}`).join(', ')}`,
  );
}

/** All runs' rounds in one CSV: a `run` column (the file's folder) before the page's results.csv columns. */
export function combinedCsv(runs: { label: string; run: StoredRun }[]): string {
  const lines = runs.flatMap(({ label, run }, index) => {
    const [header, ...rows] = resultsCsv(run.rounds).split('\r\n').filter((line) => line !== '');
    const prefixed = rows.map((row) => `${csvField(label)},${row}`);
    return index === 0 ? [`run,${header}`, ...prefixed] : prefixed;
  });
  return lines.length ? `${lines.join('\r\n')}\r\n` : '';
}

export async function importResultsFolder(argv: string[], log: (line: string) => void = console.log): Promise<number> {
  try {
    let dir = '';
    let csv: string | null = null;
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i];
      if (arg === '--csv') {
        csv = argv[++i] ?? '';
        if (!csv || csv.startsWith('--')) throw new UsageError(`--csv needs a file name. ${USAGE}`);
      } else if (arg.startsWith('--')) throw new UsageError(`Unknown option ${arg}. ${USAGE}`);
      else if (!dir) dir = arg;
      else throw new UsageError(`Unexpected argument "${arg}". ${USAGE}`);
    }
    if (!dir) throw new UsageError(USAGE);
    const files = await findResultsFiles(dir);
    if (!files.length) throw new UsageError(`No results.json in ${JSON.stringify(dir)} or its subfolders`);
    const runs: { label: string; run: StoredRun }[] = [];
    let refused = 0;
    for (const file of files) {
      const label = path.relative(dir, path.dirname(file)) || '.';
      try {
        const run = importResults(await readFile(file, 'utf8'), label);
        runs.push({ label, run });
        log(`${label}: ${run.name}, ${run.config.method} on ${run.config.model.arch} x${run.config.model.width}, seed ${run.config.seed}`);
        for (const line of seriesLines(run)) log(line);
      } catch (error) {
        if (!(error instanceof ResultsImportError)) throw error;
        refused++;
        console.error(`${file}: ${error.message}`);
      }
    }
    if (csv && runs.length) {
      await writeFile(csv, combinedCsv(runs));
      log(`wrote ${csv} (${runs.length} run${runs.length === 1 ? '' : 's'})`);
    }
    log(`${runs.length} read, ${refused} refused`);
    return refused ? 1 : 0;
  } catch (error) {
    console.error(errorMessage(error));
    return 1;
  }
}

runIfMain(import.meta.url, importResultsFolder);
