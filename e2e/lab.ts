/** Helpers the lab's end-to-end tests share: open the page on a config, run it, read its charts. */
import { expect, type Page } from '@playwright/test';
import { parseConfig, type ExperimentConfigInput } from '../src/lib/engine/config';
import { encodeConfigHash } from '../src/lib/store/config-hash';

/** Opens the lab on `config` (through the URL hash, as a shared link would); `search` like `?backend=webgpu`. */
export async function openLab(page: Page, config: ExperimentConfigInput | null, search = ''): Promise<void> {
  await page.goto(`/${search}${config ? `#${encodeConfigHash(parseConfig(config))}` : ''}`);
}

/** Waits until the page has probed its backend, and returns what the header says. */
export async function backendReport(page: Page): Promise<{ backend: string; adapter: string }> {
  const backend = page.getByTestId('backend');
  await expect(backend).not.toHaveText(/starting/, { timeout: 60_000 });
  return { backend: await backend.innerText(), adapter: await page.getByTestId('adapter').innerText() };
}

/** Clicks Run and waits for the run to end; fails with the page's error if it did not finish. */
export async function runToEnd(page: Page, timeout: number): Promise<void> {
  await page.getByTestId('run-button').click();
  const phase = page.getByTestId('run-phase');
  await expect(phase).toHaveAttribute('data-phase', /^(done|failed|stopped)$/, { timeout });
  const failure = page.getByRole('alert');
  if ((await phase.getAttribute('data-phase')) !== 'done') throw new Error(`Run did not finish: ${await failure.allInnerTexts()}`);
}

export type Point = { x: number; y: number };

export interface DatasetData<T> {
  label: string;
  series?: string;
  measure?: string;
  data: T[];
}

/** The datasets of one of the page's charts (window.__labCharts); `T` is a data item: a point, or a number for bars. */
export function chartDatasets<T = Point>(page: Page, name: string): Promise<DatasetData<T>[]> {
  return page.evaluate(
    (chartName) =>
      window.__labCharts[chartName].data.datasets.map((dataset) => {
        const { label, series, measure, data } = dataset as typeof dataset & { series?: string; measure?: string };
        return { label: label ?? '', series, measure, data: data as T[] };
      }),
    name,
  );
}

/** Test accuracy (%) at each evaluation of the last round's training curve. */
export async function testAccuracyCurve(page: Page): Promise<number[]> {
  const [testAccuracy] = (await chartDatasets(page, 'curve')).filter((d) => d.label.startsWith('Test accuracy'));
  return testAccuracy.data.map((p) => p.y);
}
