/** Every builder control explains itself in one line and links into the help panel, which opens at that section. */
import { expect, test, type Page } from '@playwright/test';
import { METHOD_REGISTRY } from '../src/lib/engine/methods/registry';
import { openLab } from './lab';

/** Test ids of the builder's inputs and selects that have no one-line hint under them. */
function controlsWithoutHint(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('form.builder :is(input, select)[data-testid]')]
      .map((control) => control.dataset.testid!)
      // Method radios carry their help beside the summary; the Also-run checkboxes share one hint for the group.
      .filter((id) => !id.startsWith('method-') && !id.startsWith('also-run-'))
      .filter((id) => document.querySelector(`[data-testid="hint-${id}"] [data-testid="help-link"]`) === null),
  );
}

test('builder controls carry a hint and a help link; help opens at the right section without touching the link', async ({ page }) => {
  await openLab(page, null);
  const panel = page.getByTestId('help-panel');

  for (const method of ['imp', 'earlybird', 'worm', 'colt']) {
    await page.getByTestId(`method-${method}`).check();
    await expect(page.getByTestId('prune-rounds').or(page.getByTestId('earlybird-ratio')).or(page.getByTestId('colt-segments')).first()).toBeVisible();
    expect(await controlsWithoutHint(page), `controls without a hint for ${method}`).toEqual([]);
  }
  await expect(page.getByTestId('hint-also-run').getByTestId('help-link')).toHaveAttribute('data-help-section', 'charts');
  for (const name of Object.keys(METHOD_REGISTRY)) {
    const methodLabel = page.locator('label', { has: page.getByTestId(`method-${name}`) });
    await expect(methodLabel.getByTestId('help-link'), name).toHaveAttribute('data-help-section', name);
  }

  await page.getByTestId('method-imp').check();
  const hashBefore = await page.evaluate(() => location.hash);
  await page.getByTestId('hint-train-lr').getByTestId('help-link').click();
  await expect(panel).toBeVisible();
  await expect(panel).toHaveAttribute('data-open-section', 'training');
  await expect(page.getByTestId('help-section-training')).toBeInViewport();
  await expect(page.getByTestId('help-section-training')).toContainText('Learning rate');
  expect(await page.evaluate(() => location.hash)).toBe(hashBefore);

  // A section far down the panel scrolls into view, and says where the method departs from its paper.
  const colt = METHOD_REGISTRY.colt!;
  await page.locator('label', { has: page.getByTestId('method-colt') }).getByTestId('help-link').click();
  await expect(panel).toHaveAttribute('data-open-section', 'colt');
  const coltSection = page.getByTestId('help-section-colt');
  await expect(coltSection).toBeInViewport();
  await expect(page.getByTestId('help-section-training')).not.toBeInViewport();
  await expect(page.getByTestId('help-differences-colt')).toContainText(colt.differences!.slice(0, 60));
  await expect(coltSection).toContainText(colt.summary);

  await page.getByTestId('hint-control-randomReinit').getByTestId('help-link').click();
  await expect(page.getByTestId('help-section-imp')).toBeInViewport();

  await page.keyboard.press('Escape');
  await expect(panel).toHaveCount(0);
  expect(await page.evaluate(() => location.hash)).toBe(hashBefore);
});
