/**
 * The page and the CLI export the same files (issue 21): pytorchExportFiles
 * with run.py loaded the page's way (Vite's ?raw) gives, byte for byte, what
 * `npm run export:pytorch` writes to its folder.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportPytorch } from '../../../experiments/export-pytorch';
import { parseConfig } from '../engine/config';
import { exportRefusal, PAGE_DATA_DIR, PYTORCH_METHODS, pytorchExportFiles } from './pytorch';
import runPy from './pytorch/run.py?raw';

const QUICK = path.resolve('experiments/imp-conv-2-quick.json');
const DATA_DIR = path.resolve('../shared/data/cifar10');

beforeAll(async () => {
  await tf.setBackend('cpu');
});

async function quickConfig() {
  const raw = JSON.parse(await readFile(QUICK, 'utf8'));
  return parseConfig({ ...raw, data: { ...raw.data, dir: DATA_DIR } });
}

describe('pytorchExportFiles', () => {
  it('returns exactly the files the CLI writes for imp-conv-2-quick', async () => {
    const out = path.join(await mkdtemp(path.join(tmpdir(), 'lottery-pytorch-files-')), 'export');
    expect(await exportPytorch([QUICK, '--out', out, '--data-dir', DATA_DIR], () => {})).toBe(0);
    const files = pytorchExportFiles(await quickConfig(), runPy, DATA_DIR);
    expect(Object.keys(files).sort()).toEqual(['config.json', 'network.json', 'run.py']);
    for (const [name, text] of Object.entries(files)) expect(text, name).toBe(await readFile(path.join(out, name), 'utf8'));
    expect(JSON.parse(files['config.json']).data.dir).toBe(DATA_DIR);
    expect(files['run.py'].length).toBeGreaterThan(0);
  });

  it('writes the page placeholder as data.dir and changes nothing else', async () => {
    const config = await quickConfig();
    const onDisk = JSON.parse(pytorchExportFiles(config, runPy, DATA_DIR)['config.json']);
    const fromPage = JSON.parse(pytorchExportFiles(config, runPy, PAGE_DATA_DIR)['config.json']);
    expect(fromPage.data.dir).toBe(PAGE_DATA_DIR);
    expect({ ...fromPage, data: { ...fromPage.data, dir: DATA_DIR } }).toEqual(onDisk);
  });

  it('says why a method or data set is not covered, naming the covered methods', async () => {
    const config = await quickConfig();
    expect(exportRefusal(config)).toBeNull();
    expect(exportRefusal({ ...config, method: 'earlybird' })).toBe(
      `Cannot export method "earlybird" to PyTorch yet: the exporter covers ${PYTORCH_METHODS.join(' and ')} experiments`,
    );
    expect(exportRefusal({ ...config, data: { ...config.data, source: 'synthetic' } })).toMatch(/^Cannot export data.source "synthetic"/);
  });
});
