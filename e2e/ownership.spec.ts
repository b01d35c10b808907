/** Issue 18 in the page: sign a run's ticket, download it, import it and verify it; an unsigned ticket does not verify. */
import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { chartDatasets, openLab, runToEnd } from './lab';

test('sign a ticket, download it, import it and verify it; the unsigned ticket is not verified', async ({ page }) => {
  test.setTimeout(300_000);
  // Conv-2 at width 0.375: conv_2's kernel map is 24x24, room for a version-1 (21x21) code.
  await openLab(page, {
    name: 'e2e-ownership',
    method: 'imp',
    model: { arch: 'conv-2', width: 0.375 },
    data: { syntheticTrain: 200, syntheticTest: 100, validation: 20 },
    train: { lr: 5e-3, batchSize: 20, iterations: 6, evalEvery: 6 },
    prune: { rounds: 1, rate: { conv: 0.8 } },
    // For the ownership run at the end: a short payload (version 1), a trigger set, few attacks.
    ownership: { payload: 'owner', triggers: 10, triggersPerBatch: 4, prune: [0.5], reactivate: [0.05], attackIterations: 2, randomMasks: 0, forgePayload: 'thief' },
  });
  await runToEnd(page, 200_000);

  // A layer picked by hand is the one signed: conv_1's kernel map (3 input channels) is too small, and the message says so.
  await page.getByTestId('sign-payload').fill('owner');
  await page.getByTestId('sign-layer').selectOption('conv_1');
  await page.getByTestId('sign-ticket').click();
  await expect(page.getByTestId('sign-error')).toContainText('No conv layer named conv_1 has a kernel map large enough for a version-1 QR code');
  await page.getByTestId('sign-layer').selectOption('');

  // Sign: the signed ticket downloads with its key in the metadata.
  const signing = page.waitForEvent('download');
  await page.getByTestId('sign-ticket').click();
  const signedDownload = await signing;
  await expect(page.getByTestId('sign-result')).toContainText('Signed conv_2');
  await expect(page.getByTestId('sign-result')).toContainText('bit error rate 0');
  const signed = readFileSync((await signedDownload.path())!);
  const header = JSON.parse(signed.subarray(8, 8 + Number(signed.readBigUInt64LE(0))).toString('utf8'));
  expect(header.__metadata__).toMatchObject({ 'ownership.layer': 'conv_2', 'ownership.version': '1' });

  // Verify the imported signed ticket: its code drawn beside the owner's, the text, zero bit errors.
  await page.getByTestId('import-ticket').setInputFiles({ name: signedDownload.suggestedFilename(), mimeType: 'application/octet-stream', buffer: signed });
  await expect(page.getByTestId('ticket-error')).toHaveCount(0);
  await page.getByTestId('verify-payload').fill('owner');
  await page.getByTestId('verify-ticket').click();
  await expect(page.getByTestId('verify-verdict')).toHaveText('Verified: the code at the key decodes to "owner".');
  await expect(page.getByTestId('verify-details')).toContainText('Bit error rate (data and error-correction modules): 0.0%');
  const side = (21 + 8) * 4;
  await expect(page.getByTestId('extracted-code')).toHaveJSProperty('width', side);
  await expect(page.getByTestId('reference-code')).toHaveJSProperty('width', side);

  // The unsigned ticket, under the signed ticket's key: nothing decodes.
  const unsigning = page.waitForEvent('download');
  await page.getByTestId('download-ticket').click();
  const unsigned = readFileSync((await (await unsigning).path())!);
  await page.getByTestId('import-ticket').setInputFiles({ name: 'unsigned.safetensors', mimeType: 'application/octet-stream', buffer: unsigned });
  await page.getByTestId('verify-ticket').click();
  await expect(page.getByTestId('verify-error')).toHaveText(
    'This ticket carries no ownership key, and no QR code decodes anywhere in its conv kernel maps.',
  );

  // The ownership method on the imported ticket: signs, retrains with the trigger set beside the unsigned ticket, attacks, and charts it.
  await page.getByTestId('method-ownership').check();
  await runToEnd(page, 200_000);
  await expect(page.getByTestId('ownership-trigger-summary')).toContainText('Trigger set (10 images, 4 per batch): the signed network');
  const pruneLines = await chartDatasets(page, 'ownership-prune');
  expect(pruneLines.map((line) => [line.label, line.data.length])).toEqual([
    ['Bit error rate, data + EC modules (● decodes, ✕ not)', 2],
    ['Test accuracy', 2],
    ['Trigger accuracy', 2],
    ['Chance on the triggers (10.0%)', 2],
  ]);
  await expect(page.getByTestId('ownership-prune-chart')).toBeVisible();
  await expect(page.getByTestId('ownership-attacks-table').locator('tbody tr')).toHaveCount(5);

  // A file that is not a ticket is refused with a reason.
  await page.getByTestId('import-ticket').setInputFiles({ name: 'junk.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from('junk') });
  await expect(page.getByTestId('ticket-error')).toContainText('Not a valid .safetensors file');
});
