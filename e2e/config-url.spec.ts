/** The experiment lives in the URL hash: a broken one is reported and the defaults are shown. */
import { expect, test } from '@playwright/test';
import { LAB_DEFAULTS } from '../src/lib/store/lab-defaults';
import { openLab } from './lab';

test('a malformed hash shows the config error and falls back to the defaults', async ({ page }) => {
  await page.goto('/#this-is-not-a-config');
  await expect(page.getByTestId('config-error')).toBeVisible();
  await expect(page.getByTestId('config-error')).toContainText(/config/i);
  await expect(page.getByTestId(`method-${LAB_DEFAULTS.method}`)).toBeChecked();
  await expect(page.getByTestId('model-arch')).toHaveValue(LAB_DEFAULTS.model.arch);
  await expect(page.getByTestId('train-iterations')).toHaveValue(String(LAB_DEFAULTS.train.iterations));
});

test('a valid hash that breaks the schema names the field', async ({ page }) => {
  const wrong = Buffer.from(JSON.stringify({ model: { arch: 'resnet-9000' } })).toString('base64url');
  await page.goto(`/#${wrong}`);
  await expect(page.getByTestId('config-error')).toContainText('model.arch');
  await expect(page.getByTestId('model-arch')).toHaveValue(LAB_DEFAULTS.model.arch);
});

test('edits go into the link, and the link restores them', async ({ page }) => {
  await openLab(page, null);
  await page.getByTestId('method-dense').check();
  await page.getByTestId('train-iterations').fill('123');
  await expect(page).toHaveURL(/#.+/);
  await page.reload();
  await expect(page.getByTestId('method-dense')).toBeChecked();
  await expect(page.getByTestId('train-iterations')).toHaveValue('123');
  await expect(page.getByTestId('config-error')).toHaveCount(0);
});
