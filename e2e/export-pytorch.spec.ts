/**
 * The page's "Download PyTorch experiment (.zip)" (issue 21): the zip holds
 * the files `npm run export:pytorch` writes, with data.dir left for the user
 * to edit; methods and data the exporter does not cover disable the button
 * with the exporter's own reason.
 */
import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { strFromU8, unzipSync } from 'fflate';
import { parseConfig, type ExperimentConfigInput } from '../src/lib/engine/config';
import { PAGE_DATA_DIR, pytorchExportFiles } from '../src/lib/export/pytorch';
import { ADDED_FILES_DIR } from '../src/lib/store/data-files';
import { openLab } from './lab';

const CIFAR_IMP: ExperimentConfigInput = {
  name: 'e2e-pytorch',
  method: 'imp',
  seed: 3,
  // A link to a config whose CIFAR files were added in the page names this folder.
  data: { source: 'cifar10', dir: ADDED_FILES_DIR, train: ['data_batch_1.bin'], test: 'test_batch.bin', trainLimit: 5000, testLimit: 2000, validation: 500 },
  model: { arch: 'conv-2', width: 0.25 },
  train: { optimizer: 'adam', lr: 0.0008, batchSize: 60, iterations: 300, evalEvery: 100 },
  prune: { strategy: 'layerwise', rounds: 3, rewindIteration: 0 },
  controls: ['randomReinit'],
};

test('a CIFAR IMP experiment downloads as a zip of config.json, network.json and run.py', async ({ page }) => {
  await openLab(page, CIFAR_IMP);
  const button = page.getByTestId('export-pytorch');
  await expect(button).toBeEnabled();
  await expect(page.getByTestId('export-pytorch-reason')).toHaveCount(0);
  await expect(page.getByTestId('hint-export-pytorch').getByTestId('help-link')).toHaveAttribute('data-help-section', 'exports');
  const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
  expect(download.suggestedFilename()).toBe('e2e-pytorch-pytorch.zip');
  const zipped = unzipSync(await readFile((await download.path())!));
  expect(Object.keys(zipped).sort()).toEqual(['e2e-pytorch-pytorch/config.json', 'e2e-pytorch-pytorch/network.json', 'e2e-pytorch-pytorch/run.py']);
  const file = (name: string) => strFromU8(zipped[`e2e-pytorch-pytorch/${name}`]);

  const config = JSON.parse(file('config.json'));
  expect([config.method, config.model.arch, config.model.width]).toEqual(['imp', 'conv-2', 0.25]);
  // The page's data is files in the tab: the user points data.dir at their copy.
  expect(config.data.dir).toBe(PAGE_DATA_DIR);
  const network = JSON.parse(file('network.json'));
  const named = network.layers.filter((layer: { name?: string }) => layer.name).map((layer: { name: string }) => layer.name);
  expect(named).toEqual(['conv_1', 'conv_2', 'dense_1', 'dense_2', 'dense_3']);
  expect(file('run.py')).toContain('torchrun');

  // Byte for byte what the shared exporter (the CLI's) makes of the page's config.
  const runPy = await readFile(new URL('../src/lib/export/pytorch/run.py', import.meta.url), 'utf8');
  const expected = pytorchExportFiles(parseConfig(config), runPy, PAGE_DATA_DIR);
  for (const name of ['config.json', 'network.json', 'run.py'] as const) expect(file(name), name).toBe(expected[name]);
});

test('synthetic data and uncovered methods disable the button with the exporter\'s reason', async ({ page }) => {
  await openLab(page, { ...CIFAR_IMP, data: { source: 'synthetic', validation: 100 } });
  const button = page.getByTestId('export-pytorch');
  const reason = page.getByTestId('export-pytorch-reason');
  await expect(button).toBeDisabled();
  await expect(reason).toHaveText('Cannot export data.source "synthetic": the PyTorch program reads the official CIFAR binary files (cifar10, cifar100)');
  await page.getByTestId('data-source').selectOption('cifar10');
  await expect(button).toBeEnabled();
  await expect(reason).toHaveCount(0);
  await page.getByTestId('method-earlybird').check();
  await expect(button).toBeDisabled();
  await expect(reason).toHaveText('Cannot export method "earlybird" to PyTorch yet: the exporter covers dense and imp experiments');
});
