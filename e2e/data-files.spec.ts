/** CIFAR files added in the page: a bad file fails the run with a message naming it. */
import { expect, test } from '@playwright/test';
import { openLab } from './lab';

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
