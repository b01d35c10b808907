/** CIFAR files added in the page: real ones train, a bad one fails the run with a message naming it. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { openLab, runToEnd } from './lab';

/** The shared copy of CIFAR-10 beside the repository (never committed). */
const CIFAR10_DIR = fileURLToPath(new URL('../../shared/data/cifar10/', import.meta.url));

test('picked CIFAR-10 batch files train', async ({ page }) => {
  test.skip(!existsSync(`${CIFAR10_DIR}test_batch.bin`), `no CIFAR-10 in ${CIFAR10_DIR}`);
  await openLab(page, {
    name: 'e2e-cifar10',
    method: 'dense',
    model: { arch: 'lenet-300-100', width: 0.1 },
    data: { source: 'synthetic', trainLimit: 1000, testLimit: 300, validation: 100 },
    train: { batchSize: 32, iterations: 20, evalEvery: 10 },
  });
  await page.getByTestId('data-source').selectOption('cifar10');
  await page.getByTestId('data-files').setInputFiles([`${CIFAR10_DIR}data_batch_1.bin`, `${CIFAR10_DIR}test_batch.bin`]);
  await expect(page.getByTestId('added-files')).toHaveText('Added: data_batch_1.bin, test_batch.bin');
  await runToEnd(page, 120_000);
  await expect(page.getByTestId('results-table').locator('tbody tr')).toHaveCount(1);
});

test('a truncated CIFAR-10 batch fails the run with a data error naming the file', async ({ page }) => {
  await openLab(page, { data: { source: 'synthetic' }, train: { iterations: 10 } });
  await page.getByTestId('data-source').selectOption('cifar10');
  await page.getByTestId('data-files').setInputFiles([
    { name: 'data_batch_1.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(3073 * 2 + 100) },
    { name: 'test_batch.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(3073 * 2) },
  ]);
  await expect(page.getByTestId('added-files')).toContainText('data_batch_1.bin');
  await page.getByTestId('run-button').click();
  const error = page.getByTestId('data-error');
  await expect(error).toBeVisible({ timeout: 60_000 });
  await expect(error).toContainText('data_batch_1.bin');
});

test('a broken archive dropped on the page fails with a data error naming the archive', async ({ page }) => {
  await openLab(page, { data: { source: 'synthetic' }, train: { iterations: 10 } });
  const dataTransfer = await page.evaluateHandle(() => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])], 'cifar-10-binary.tar.gz'));
    return transfer;
  });
  await page.dispatchEvent('body', 'dragenter', { dataTransfer });
  await page.dispatchEvent('body', 'drop', { dataTransfer });
  await expect(page.getByTestId('data-source')).toHaveValue('cifar10');
  await page.getByTestId('run-button').click();
  const error = page.getByTestId('data-error');
  await expect(error).toBeVisible({ timeout: 60_000 });
  await expect(error).toContainText('cifar-10-binary.tar.gz');
});
