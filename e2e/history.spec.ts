/**
 * Runs are kept in the browser: a reload mid-run resumes it from its last
 * checkpoint, past runs are listed, renamed, deleted and overlaid on the
 * accuracy chart, and the page stays responsive while a run streams in.
 * (A malformed shared link is covered by config-url.spec.ts.)
 */
import { expect, test, type Page } from '@playwright/test';
import type { ExperimentConfigInput } from '../src/lib/engine/config';
import { pauseAtFirstCheckpoint, recordWorkers } from './device';
import { autoBackendForReport, backendReport, chartDatasets, finalAccuracyLines, longTasksSince, openLab, recordLongTasks, runToEnd, storedRecords, waitForRunEnd } from './lab';

/** A few seconds per round on a loaded 2-core machine. */
const TINY: ExperimentConfigInput = {
  model: { arch: 'conv-2', width: 0.0625 },
  data: { syntheticTrain: 400, syntheticTest: 200, validation: 50 },
  train: { lr: 5e-3, batchSize: 32, iterations: 30, evalEvery: 15 },
};

/** Rounds completed by the latest checkpoint stored in the page's IndexedDB, null before the first. */
async function storedCheckpointRound(page: Page): Promise<number | null> {
  const rounds = (await storedRecords<{ round: number }>(page, 'checkpoints')).map((c) => c.round);
  return rounds.length ? Math.max(...rounds) : null;
}

const historyRows = (page: Page) => page.getByTestId('history-row');

/**
 * Four rounds: the pause armed at the first kept round lands within one
 * round, so three more leave room to spare however fast the backend.
 */
const RELOADED: ExperimentConfigInput = { ...TINY, method: 'imp', prune: { rounds: 3 }, train: { ...TINY.train, iterations: 90, evalEvery: 30 } };

/**
 * Clicks Run and holds the run, as the Pause button does, the moment its
 * worker reports its first kept round; returns the round stored by then.
 * Driven by the run's events, so a reload after it lands mid-run however
 * fast the backend. `recordWorkers` must have run before the page opened.
 */
async function runHeldAtFirstRound(page: Page): Promise<number> {
  await pauseAtFirstCheckpoint(page);
  await page.getByTestId('run-button').click();
  await expect(page.getByTestId('run-phase')).toHaveAttribute('data-phase', 'paused', { timeout: 120_000 });
  await expect.poll(() => storedCheckpointRound(page)).toBeGreaterThanOrEqual(1);
  return (await storedCheckpointRound(page))!;
}

// On the auto-chosen backend (wasm beside this machine's software WebGPU adapter) and on WebGPU
// itself, where SwiftShader emulates the GPU too slowly for convolutions: there the network is a narrow LeNet.
const RESUMED_ON = {
  auto: RELOADED,
  webgpu: { ...RELOADED, model: { arch: 'lenet-300-100', width: 0.25 }, train: { ...TINY.train, iterations: 45, evalEvery: 15 } },
} satisfies Record<string, ExperimentConfigInput>;
for (const backend of ['auto', 'webgpu'] as const) {
test(`a reload mid-run resumes it from its last completed round and it finishes with every round (${backend})`, async ({ page }) => {
  test.setTimeout(300_000);
  await recordWorkers(page);
  await openLab(page, { ...RESUMED_ON[backend], name: 'e2e-resume', backend });
  const storedBeforeReload = await runHeldAtFirstRound(page);
  expect(storedBeforeReload).toBeLessThan(4);
  await page.reload();

  const notice = page.getByTestId('run-notice');
  await expect(notice).toContainText(/Resumed "e2e-resume" from round \d+ after the page reloaded/);
  const resumedFrom = Number(/from round (\d+)/.exec(await notice.innerText())![1]);
  expect(resumedFrom).toBeGreaterThanOrEqual(storedBeforeReload);
  // The rounds from before the reload are drawn again at once.
  await expect.poll(async () => (await finalAccuracyLines(page))[0]?.data.length ?? 0).toBeGreaterThanOrEqual(1);
  // And training goes on from the next round, not from round 1.
  const progress = page.getByTestId('progress');
  await expect(progress).toContainText(/iteration \d+/, { timeout: 60_000 });
  // 'auto' trains where the policy sends it for this machine's adapter (wasm here, webgpu on a GPU).
  const trainsOn = backend === 'webgpu' ? 'webgpu' : autoBackendForReport((await backendReport(page)).adapter);
  await expect(progress).toContainText(`on ${trainsOn}`);
  const firstRoundTrained = Number(/Round (\d+) of 4/.exec(await progress.innerText())![1]);
  expect(firstRoundTrained).toBeGreaterThanOrEqual(resumedFrom + 1);

  await waitForRunEnd(page, 240_000);
  const [ticket] = await finalAccuracyLines(page);
  expect(ticket.label).toBe('e2e-resume · Ticket');
  expect(ticket.data).toHaveLength(4);
  await expect(page.getByTestId('results-table').locator('tbody tr')).toHaveCount(4);
  await expect(historyRows(page)).toHaveCount(1);
  await expect(historyRows(page)).toHaveAttribute('data-status', 'done');
});
}

/** A CIFAR-10 batch file of `records` random images (label byte, then 3,072 pixel bytes each). */
function fakeCifarBatch(name: string, records: number) {
  const buffer = Buffer.alloc(records * 3073);
  for (let i = 0; i < buffer.length; i++) buffer[i] = i % 3073 === 0 ? (i / 3073) % 10 : (i * 7919) % 256;
  return { name, mimeType: 'application/octet-stream', buffer };
}

test('a run on files added in the page is marked interrupted after a reload, with the reason', async ({ page }) => {
  test.setTimeout(240_000);
  await recordWorkers(page);
  await openLab(page, { ...RELOADED, name: 'e2e-added-files' });
  await page.getByTestId('data-source').selectOption('cifar10');
  await page.getByTestId('data-files').setInputFiles([fakeCifarBatch('data_batch_1.bin', 450), fakeCifarBatch('test_batch.bin', 200)]);
  expect(await runHeldAtFirstRound(page)).toBeLessThan(4);
  await page.reload();

  await expect(page.getByTestId('run-notice')).toContainText(
    /"e2e-added-files" was cut off by a page reload after round \d+ and cannot resume: it read CIFAR files added in the page, which are not kept\. Add the files again and re-run it from History\./,
  );
  await expect(historyRows(page).first()).toHaveAttribute('data-status', 'interrupted');
  await expect(page.getByTestId('run-phase')).toHaveAttribute('data-phase', 'idle');
});

test('runs of a session share the accuracy chart; seeds of one setting draw as a mean with a band', async ({ page }) => {
  test.setTimeout(300_000);
  await openLab(page, { ...TINY, name: 'e2e-seeds', method: 'dense', seed: 1 });
  await runToEnd(page, 120_000);
  await page.getByTestId('seed').fill('2');
  await runToEnd(page, 120_000);
  await openLab(page, { ...TINY, name: 'e2e-longer', method: 'dense', train: { ...TINY.train, iterations: 45 } });
  await runToEnd(page, 120_000);

  const lines = await finalAccuracyLines(page);
  expect(lines.map((d) => d.label)).toEqual(['e2e-seeds (mean of 2 seeds) · Ticket', 'e2e-longer · Ticket']);
  expect(lines[0].runIds).toHaveLength(2);
  const seedLine = lines[0].label;
  const datasets = await chartDatasets(page, 'accuracy');
  const band = datasets.filter((d) => d.bandOf);
  expect(band).toHaveLength(2);
  const [lowest, highest] = band.map((d) => d.data[0].y);
  expect(lowest).toBeLessThanOrEqual(lines[0].data[0].y);
  expect(highest).toBeGreaterThanOrEqual(lines[0].data[0].y);

  // A legend click hides the mean line and its band, and the band's edges have no legend entries of their own.
  const visibility = () =>
    page.evaluate((label) => {
      const chart = window.__labCharts.accuracy;
      const legendLabels = chart.legend!.legendItems!.map((item) => item.text);
      const seedIndexes = chart.data.datasets.flatMap((d, i) => (d.label!.startsWith(label.replace(' · Ticket', '')) ? [i] : []));
      return { legendLabels, visible: seedIndexes.map((i) => chart.isDatasetVisible(i)) };
    }, seedLine);
  const before = await visibility();
  expect(before.legendLabels.filter((text) => /seed$/.test(text))).toEqual([]);
  expect(before.visible.every(Boolean)).toBe(true);
  await page.evaluate((label) => {
    const chart = window.__labCharts.accuracy;
    const item = chart.legend!.legendItems!.find((i) => i.text === label)!;
    chart.options.plugins!.legend!.onClick!.call(chart.legend!, new MouseEvent('click') as never, item, chart.legend!);
  }, seedLine);
  await expect.poll(async () => (await visibility()).visible.filter((v) => !v).length).toBe(3);
  // A second click shows them again.
  await page.evaluate((label) => {
    const chart = window.__labCharts.accuracy;
    const item = chart.legend!.legendItems!.find((i) => i.text === label)!;
    chart.options.plugins!.legend!.onClick!.call(chart.legend!, new MouseEvent('click') as never, item, chart.legend!);
  }, seedLine);
  await expect.poll(async () => (await visibility()).visible.every(Boolean)).toBe(true);
});

test('one Run press trains the chosen method and each ticked under Also run, and the chart compares them', async ({ page }) => {
  test.setTimeout(300_000);
  await openLab(page, { ...TINY, name: 'e2e-methods', method: 'dense' });
  await page.getByTestId('also-run-imp').check();
  await page.getByTestId('run-button').click();
  await expect(page.getByTestId('queued-runs')).toHaveText(/e2e-methods-imp/);
  // The queue empties when the second run starts; that run ends the press.
  await expect(page.getByTestId('queued-runs')).toHaveCount(0, { timeout: 120_000 });
  await waitForRunEnd(page, 180_000);
  await expect(page.getByTestId('run-phase')).toHaveAttribute('data-phase', 'done');
  await expect(historyRows(page)).toHaveCount(2);
  const lines = await finalAccuracyLines(page);
  expect(lines.map((d) => d.label)).toEqual(['e2e-methods · Ticket', 'e2e-methods-imp · Ticket']);
  // Dense trains once at 100%; IMP's rounds go below it.
  expect(lines[0].data.map((p) => p.x)).toEqual([100]);
  expect(Math.min(...lines[1].data.map((p) => p.x))).toBeLessThan(100);
});

test('rename and delete in History survive a reload, and a stored run can be overlaid on the chart', async ({ page }) => {
  test.setTimeout(240_000);
  await openLab(page, { ...TINY, name: 'e2e-history', method: 'dense' });
  await runToEnd(page, 120_000);
  await page.getByTestId('history-rerun').click();
  await waitForRunEnd(page, 120_000);
  await expect(historyRows(page)).toHaveCount(2);

  const [newest, oldest] = [historyRows(page).nth(0), historyRows(page).nth(1)];
  const keptId = await oldest.getAttribute('data-run-id');
  await oldest.getByTestId('history-name').click();
  await oldest.getByTestId('history-name-input').fill('renamed run');
  await oldest.getByTestId('history-name-input').press('Enter');
  await expect(oldest.getByTestId('history-name')).toHaveText('renamed run');
  await newest.getByTestId('history-delete').click();
  await expect(historyRows(page)).toHaveCount(1);

  await page.reload();
  await expect(historyRows(page)).toHaveCount(1);
  const kept = historyRows(page).first();
  await expect(kept).toHaveAttribute('data-run-id', keptId!);
  await expect(kept.getByTestId('history-name')).toHaveText('renamed run');
  await expect(kept).toHaveAttribute('data-status', 'done');
  // No run of this session yet: the chart is empty until a stored run is ticked.
  await expect.poll(() => finalAccuracyLines(page)).toEqual([]);
  await kept.getByTestId('history-compare').check();
  await expect.poll(async () => (await finalAccuracyLines(page)).map((d) => d.label)).toEqual(['renamed run · Ticket']);
});

test('a full disk stops the run, keeps what was stored and says how to free space', async ({ page }) => {
  test.setTimeout(240_000);
  // The disk fills up after the first checkpoint: every later write of one fails as browsers fail it.
  await page.addInitScript(() => {
    const put = IDBObjectStore.prototype.put;
    let checkpoints = 0;
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      if (this.name === 'checkpoints' && ++checkpoints > 1) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return put.apply(this, args);
    };
  });
  await openLab(page, { ...TINY, name: 'e2e-full-disk', method: 'imp', prune: { rounds: 3 } });
  await page.getByTestId('run-button').click();
  await expect(page.getByTestId('storage-error')).toHaveText(
    "The browser's storage is full: the run was stopped, and the last round stored is round 1. Delete old runs in History to free space.",
    { timeout: 120_000 },
  );
  await expect(page.getByTestId('run-phase')).toHaveAttribute('data-phase', 'stopped', { timeout: 60_000 });
  const row = historyRows(page).first();
  await expect(row).toHaveAttribute('data-status', 'stopped');
  await expect(row.getByTestId('history-reason')).toContainText("The browser's storage is full");
  // A stopped run is not resumed after a reload: it keeps what was stored before the disk filled up.
  await page.reload();
  await expect(historyRows(page).first()).toHaveAttribute('data-status', 'stopped');
  await expect(page.getByTestId('run-notice')).toHaveCount(0);
  expect(await storedCheckpointRound(page)).toBe(1);
});

test('a disk too full to record the stop still shows the run stopped, and a reload does not restart it', async ({ page }) => {
  test.setTimeout(240_000);
  // After the first checkpoint no write succeeds at all, the one marking the run stopped included (before and after reloads).
  await page.addInitScript(() => {
    const put = IDBObjectStore.prototype.put;
    let checkpointWrite: IDBTransaction | null = null;
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      if (checkpointWrite && this.transaction !== checkpointWrite) sessionStorage.setItem('disk-full', '1');
      if (sessionStorage.getItem('disk-full') === '1') throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      if (this.name === 'checkpoints') checkpointWrite = this.transaction;
      return put.apply(this, args);
    };
  });
  await openLab(page, { ...TINY, name: 'e2e-disk-stays-full', method: 'imp', prune: { rounds: 3 } });
  await page.getByTestId('run-button').click();
  const message = "The browser's storage is full: the run was stopped, and the last round stored is round 0. Delete old runs in History to free space.";
  await expect(page.getByTestId('storage-error')).toHaveText(message, { timeout: 120_000 });
  await expect(page.getByTestId('run-phase')).toHaveAttribute('data-phase', 'stopped', { timeout: 60_000 });
  const row = historyRows(page).first();
  await expect(row).toHaveAttribute('data-status', 'stopped');
  await expect(row.getByTestId('history-reason')).toHaveText(message);
  for (let reload = 0; reload < 2; reload++) {
    await page.reload();
    await expect(historyRows(page).first()).toHaveAttribute('data-status', 'stopped');
    await expect(historyRows(page).first().getByTestId('history-reason')).toHaveText(message);
    await expect(page.getByTestId('run-notice')).toHaveCount(0);
    await expect(page.getByTestId('run-phase')).not.toHaveAttribute('data-phase', /running|stopping/);
  }
  expect(await storedCheckpointRound(page)).toBe(1);
});

/** A main-thread task in Chrome's trace: wall-clock start and length, and the CPU time the main thread spent in it (µs). */
interface TracedTask {
  ts: number;
  dur: number;
  tdur: number;
}

type TraceEvent = { name: string; ph: string; ts: number; dur?: number; tdur?: number; pid: number; tid: number; args?: { name?: string } };

function mainThreadTasks(events: TraceEvent[]): TracedTask[] {
  const main = new Set(events.filter((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
  return events
    .filter((e) => e.name === 'RunTask' && e.ph === 'X' && main.has(`${e.pid}:${e.tid}`))
    .map((e) => ({ ts: e.ts, dur: e.dur ?? 0, tdur: e.tdur ?? e.dur ?? 0 }));
}

test('the page stays responsive while a run trains: no main-thread task over 100 ms', async ({ page, browser }) => {
  test.setTimeout(240_000);
  await recordLongTasks(page);
  await openLab(page, { ...TINY, name: 'e2e-responsive', method: 'imp', prune: { rounds: 3 }, controls: ['randomReinit'] });
  await page.getByTestId('run-button').click();
  await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'blink.user_timing'] });
  await expect(page.getByTestId('progress')).toContainText(/iteration \d+\/30/, { timeout: 60_000 });
  const started = await page.evaluate(() => performance.mark('lab-run-progress').startTime);
  await waitForRunEnd(page, 200_000);
  const ended = await page.evaluate(() => performance.now());
  const trace = JSON.parse((await browser.stopTracing()).toString('utf8')) as { traceEvents: TraceEvent[] };

  const longTasks = await longTasksSince(page);
  const duringRun = longTasks.filter((task) => task.start >= started && task.start <= ended);
  // The mark ties the page's clock (ms) to the trace's (µs).
  const mark = trace.traceEvents.find((e) => e.name === 'lab-run-progress');
  expect(mark, 'the performance mark is in the trace').toBeTruthy();
  const traced = mainThreadTasks(trace.traceEvents);
  // Wall-clock time also counts the moments other processes held both cores
  // of this machine; the CPU time the main thread spent is what the page costs.
  const slow = duringRun
    .map((task) => {
      const ts = mark!.ts + (task.start - started) * 1000;
      const match = traced.find((t) => Math.abs(t.ts - ts) < 3_000 && Math.abs(t.dur / 1000 - task.duration) < 10);
      return { ...task, cpu: match ? match.tdur / 1000 : null };
    })
    .filter((task) => task.duration > 100 && (task.cpu === null || task.cpu > 100));
  expect(slow, `main-thread tasks over 100 ms during the run (cpu null: not found in the trace): ${JSON.stringify(slow)}`).toEqual([]);
  // The run really streamed in: every round of both series on the chart.
  expect((await finalAccuracyLines(page)).map((d) => d.data.length)).toEqual([4, 4]);
});
