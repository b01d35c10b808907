/** Helpers the lab's end-to-end tests share: open the page on a config, run it, read its charts. */
import { expect, type Page } from '@playwright/test';
import { parseConfig, type ExperimentConfigInput } from '../src/lib/engine/config';
import { autoBackendFor } from '../src/lib/engine/runtime/backend-policy';
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

/**
 * The backend the lab's policy trains on for 'auto', given the adapter the
 * header names ("none", a name, or a name marked "(software, ...)"): webgpu on
 * a GPU, wasm here with SwiftShader. Tests ask this rather than assume a machine.
 */
export function autoBackendForReport(adapter: string): 'webgpu' | 'wasm' {
  return autoBackendFor(adapter === 'none' ? null : { software: /\(software\b/.test(adapter) });
}

/** Clicks Run and waits for the run to end; fails with the page's error if it did not finish. */
export async function runToEnd(page: Page, timeout: number): Promise<void> {
  await page.getByTestId('run-button').click();
  await waitForRunEnd(page, timeout);
}

export type Point = { x: number; y: number };

export interface DatasetData<T> {
  label: string;
  series?: string;
  measure?: string;
  /** Accuracy chart: the stored runs a line draws (several for a mean over seeds). */
  runIds?: string[];
  /** Accuracy chart: the line whose min-max band this dataset is an edge of; null for a line. */
  bandOf?: string | null;
  data: T[];
}

/** The datasets of one of the page's charts (window.__labCharts); `T` is a data item: a point, or a number for bars. */
export function chartDatasets<T = Point>(page: Page, name: string): Promise<DatasetData<T>[]> {
  return page.evaluate(
    (chartName) =>
      window.__labCharts[chartName].data.datasets.map((dataset) => {
        const { label, series, measure, runIds, bandOf, data } = dataset as typeof dataset & Omit<DatasetData<T>, 'label' | 'data'>;
        return { label: label ?? '', series, measure, runIds, bandOf, data: data as T[] };
      }),
    name,
  );
}

/** Test accuracy (%) at each evaluation of the last round's training curve. */
export async function testAccuracyCurve(page: Page): Promise<number[]> {
  const [testAccuracy] = (await chartDatasets(page, 'curve')).filter((d) => d.label.startsWith('Test accuracy'));
  return testAccuracy.data.map((p) => p.y);
}

/** The accuracy chart's lines of final accuracy (no early-stop lines, no band edges). */
export async function finalAccuracyLines(page: Page): Promise<DatasetData<Point>[]> {
  return (await chartDatasets(page, 'accuracy')).filter((d) => d.measure === 'final' && !d.bandOf);
}

/** Waits for the current run to finish (after a click on Run, a re-run or a resume); fails with the page's error otherwise. */
export async function waitForRunEnd(page: Page, timeout: number): Promise<void> {
  const phase = page.getByTestId('run-phase');
  await expect(phase).toHaveAttribute('data-phase', /^(done|failed|stopped)$/, { timeout });
  if ((await phase.getAttribute('data-phase')) !== 'done') throw new Error(`Run did not finish: ${await page.getByRole('alert').allInnerTexts()}`);
  // Charts redraw a task after the event that changed them (src/lib/store/deferred.svelte.ts).
  await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 50)));
}

/** Every record of one object store of the page's IndexedDB (`runs`, `checkpoints`); empty before the store exists. */
export function storedRecords<T>(page: Page, store: string): Promise<T[]> {
  return page.evaluate(
    (storeName) =>
      new Promise<T[]>((resolve, reject) => {
        const open = indexedDB.open('lottery-lab');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          if (!db.objectStoreNames.contains(storeName)) {
            db.close();
            return resolve([]);
          }
          const all = db.transaction(storeName).objectStore(storeName).getAll();
          all.onsuccess = () => {
            db.close();
            resolve(all.result as T[]);
          };
          all.onerror = () => reject(all.error);
        };
      }),
    store,
  );
}

/** A main-thread task over 50 ms, as the page's `longtask` PerformanceObserver saw it (page clock, ms). */
export interface LongTask {
  start: number;
  duration: number;
}

/** Records the page's long tasks from its first script on; `longTasksSince` reads them. */
export async function recordLongTasks(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const longTasks: { start: number; duration: number }[] = [];
    (window as unknown as { __longTasks: typeof longTasks }).__longTasks = longTasks;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) longTasks.push({ start: entry.startTime, duration: entry.duration });
    }).observe({ type: 'longtask', buffered: true });
  });
}

/** The long tasks recorded by `recordLongTasks` that started at or after `from` (page clock, ms). */
export function longTasksSince(page: Page, from = 0): Promise<LongTask[]> {
  return page.evaluate((since) => (window as unknown as { __longTasks: LongTask[] }).__longTasks.filter((task) => task.start >= since), from);
}
