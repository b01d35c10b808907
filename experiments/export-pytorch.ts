/**
 * npm run export:pytorch -- <config.json> --out <dir> [--data-dir <dir>]
 *
 * Writes <dir>/config.json (validated, defaults filled, data.dir made
 * absolute), <dir>/network.json (the lab's layers and pruning rule) and
 * <dir>/run.py (src/lib/export/pytorch/run.py), which runs the same
 * experiment in PyTorch: `python run.py` or `torchrun --nproc_per_node=N run.py`.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pytorchExportFiles } from '../src/lib/export/pytorch';
import { errorMessage, loadConfig, runIfMain, UsageError } from './cli';

const USAGE = 'usage: npm run export:pytorch -- <config.json> --out <dir> [--data-dir <dir>]';
export const RUN_PY = fileURLToPath(new URL('../src/lib/export/pytorch/run.py', import.meta.url));

export async function exportPytorch(argv: string[], log: (line: string) => void = console.log): Promise<number> {
  try {
    let configPath = '';
    let out = '';
    let dataDir: string | null = null;
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i];
      const value = () => {
        const next = argv[++i];
        if (next === undefined || next.startsWith('--')) throw new UsageError(`${arg} needs a value. ${USAGE}`);
        return next;
      };
      if (arg === '--out') out = value();
      else if (arg === '--data-dir') dataDir = value();
      else if (arg.startsWith('--')) throw new UsageError(`Unknown option ${arg}. ${USAGE}`);
      else if (!configPath) configPath = arg;
      else throw new UsageError(`Unexpected argument "${arg}". ${USAGE}`);
    }
    if (!configPath || !out) throw new UsageError(USAGE);
    const config = await loadConfig({ configPath, out, runtime: 'node', backend: null, dataDir });
    // run.py may be started from anywhere: a relative data folder would follow the caller.
    const files = pytorchExportFiles(config, await readFile(RUN_PY, 'utf8'), path.resolve(config.data.dir ?? '.'));
    await mkdir(out, { recursive: true });
    for (const [name, text] of Object.entries(files)) await writeFile(path.join(out, name), text);
    log(`wrote ${path.join(out, 'config.json')}, network.json and run.py (${config.method}, ${config.model.arch} x${config.model.width})`);
    log(`run: python ${path.join(out, 'run.py')}   or: torchrun --nproc_per_node=N ${path.join(out, 'run.py')}`);
    return 0;
  } catch (error) {
    console.error(errorMessage(error));
    return 1;
  }
}

runIfMain(import.meta.url, exportPytorch);
