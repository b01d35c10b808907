/** The experiment lives in the URL hash: a broken one is reported and the defaults are shown. */
import { expect, test } from '@playwright/test';
import { parseConfig } from '../src/lib/engine/config';
import { experimentIdentity } from '../src/lib/engine/identity';
import { LAB_DEFAULTS } from '../src/lib/store/lab-defaults';
import { openLab } from './lab';
import { DEV_SERVER_URL } from './servers';

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

// Importing one of the page's own source modules needs the dev server, which serves each as a file of its own.
test.describe(() => {
test.use({ baseURL: DEV_SERVER_URL });
test('a link with a number JSON cannot hold names the field; the experiment identity is the same in the page as in Node', async ({ page }) => {
  const infinite = Buffer.from('{"method": "imp", "train": {"lr": 1e999}}').toString('base64url');
  await page.goto(`/#${infinite}`);
  await expect(page.getByTestId('config-error')).toContainText('train.lr: must be a finite number');

  const config = parseConfig({ name: 'identity', method: 'imp', seed: 3, model: { arch: 'conv-2', width: 0.25 }, prune: { rounds: 2 } });
  const inPage = await page.evaluate(async (config) => {
    // The page's own module, as Vite serves it to the browser.
    const identityModule = '/src/lib/engine/identity.ts';
    const { experimentIdentity } = (await import(/* @vite-ignore */ identityModule)) as typeof import('../src/lib/engine/identity');
    return experimentIdentity(config);
  }, config);
  expect(inPage).toEqual(await experimentIdentity(config));
});
});

test('a class-subset task goes into the link; a class the source lacks is refused, naming data.classes', async ({ page }) => {
  await openLab(page, null);
  await page.getByTestId('data-classes').fill('5, 6, 7');
  await expect(page).toHaveURL(/#.+/);
  await page.reload();
  await expect(page.getByTestId('data-classes')).toHaveValue('5, 6, 7');

  const missing = Buffer.from(JSON.stringify({ data: { classes: [5, 12] } })).toString('base64url');
  await page.goto(`/#${missing}`);
  await expect(page.getByTestId('config-error')).toContainText('data.classes: class 12 is not in synthetic, whose classes are 0..9');
});
