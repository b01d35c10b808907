/**
 * `npm run bench`: the lab's speed on every backend, side by side.
 *
 *   npm run bench -- [--quick] [--only node|browser] [--backends webgpu,wasm,...] [--cases conv-4@0.25,...] [--pairs N] [--out bench.json]
 *
 * Runs bench/suite.ts in Node (wasm and cpu; webgpu too when --backends names
 * it, through the `webgpu` npm package, Dawn for Node) and in headless
 * Chromium (webgpu, webgl, wasm, cpu, each started by name), times the same
 * steps in PyTorch on the CPU for reference (bench/torch_reference.py, given
 * each network's layers as the engine builds them), prints a table with the
 * wasm/PyTorch ratio of every case and writes JSON. For Node's wasm cases it
 * then pairs the lab with PyTorch (bench/paired.ts): short rounds of each,
 * alternating, one ratio per pair, which the machine's drift cannot skew.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { type ArchName, type BackendName } from '../src/lib/engine/config';
import { walkLayers } from '../src/lib/engine/models/layers';
import { ARCH_DEFINITIONS, archLayers } from '../src/lib/engine/models/registry';
import { initBackend } from '../src/lib/engine/runtime/backend';
import { CHROMIUM_ARGS, chromiumPath } from '../scripts/chromium';
import { pairCase, TorchServer, torchFailure, torchPython, type PairedComparison, type TorchCaseSpec } from './paired';
import {
  benchRuntime,
  caseRounds,
  DEFAULT_CASES,
  defaultOptions,
  isStat,
  NUM_CLASSES,
  type BackendReport,
  type BenchCase,
  type CaseReport,
  type Measurement,
  type RuntimeReport,
  type Stat,
} from './suite';

interface Cli {
  quick: boolean;
  only: 'node' | 'browser' | null;
  /** Backends to measure in each runtime; null for each runtime's default list. */
  backends: BackendName[] | null;
  /** The cases to run: DEFAULT_CASES, or those of the networks named by --cases. */
  cases: BenchCase[];
  /** Lab/PyTorch pairs per Node wasm case; 0 for none. */
  pairs: number;
  out: string;
}

interface TorchResult {
  /** The network, as `networkName` writes it. */
  name: string;
  batch: number;
  optimizer: BenchCase['optimizer'];
  threads: number;
  imagesPerSecond: Stat;
  /** Images per CPU-second of the Python process (all its threads). */
  cpuImagesPerSecond: Stat;
}

type TorchReference = { torch: string; results: TorchResult[] } | { skipped: string };

/** A case, with (Node wasm only) its paired comparison with PyTorch or why there is none. */
type PairedCaseReport = CaseReport & { pairedTorch?: PairedComparison | { skipped: string } };

interface BenchReport {
  date: string;
  quick: boolean;
  machine: { cpus: number; cpuModel: string; loadAverage: number[]; platform: string };
  pytorch: TorchReference;
  runtimes: RuntimeReport[];
  /** Runtimes that failed, with why; the others are still reported. */
  errors: string[];
}

const BROWSER_BACKENDS: BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];
/** Node runs webgpu only when asked for: it needs Dawn and a GPU driver (see docs/bench.md). */
const NODE_BACKENDS: BackendName[] = ['webgpu', 'wasm', 'cpu'];
const NODE_DEFAULT_BACKENDS: BackendName[] = ['wasm', 'cpu'];
/** The issue's target for wasm training throughput relative to PyTorch on the same CPU. */
const TORCH_RATIO_TARGET = 0.5;
/** Issue #15's target for the narrow networks users train. */
const NARROW_TORCH_RATIO_TARGET = 0.6;
const MASK_OVERHEAD_TARGET = 1.03;
/** Pairs per case and seconds per round of each side, for a full run and for --quick. */
const PAIRS = { full: 10, quick: 4 };
const ROUND_SECONDS = { full: 1.5, quick: 0.5 };
const PRUNE_TARGET_MS = 100;

function parseBackends(value: string | undefined): BackendName[] {
  const names = (value ?? '').split(',').filter(Boolean);
  const unknown = names.filter((name) => !BROWSER_BACKENDS.includes(name as BackendName));
  if (names.length === 0 || unknown.length > 0) throw new Error(`--backends takes a comma-separated list of ${BROWSER_BACKENDS.join(', ')}`);
  return names as BackendName[];
}

/**
 * `arch@width` items, comma-separated: the default cases of those networks
 * (all their batches and optimisers).
 */
function parseCases(value: string | undefined): BenchCase[] {
  const wanted = (value ?? '').split(',').filter(Boolean);
  const cases = DEFAULT_CASES.filter((c) => wanted.includes(networkName(c)));
  const unknown = wanted.filter((name) => !DEFAULT_CASES.some((c) => networkName(c) === name));
  if (wanted.length === 0 || unknown.length > 0) {
    const names = [...new Set(DEFAULT_CASES.map(networkName))];
    throw new Error(`--cases takes a comma-separated list of ${names.join(', ')}${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}`);
  }
  return cases;
}

function parseCli(argv: string[]): Cli {
  const cli: Cli = { quick: false, only: null, backends: null, cases: DEFAULT_CASES, pairs: -1, out: 'bench.json' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') cli.quick = true;
    else if (arg === '--pairs') {
      const value = argv[++i] ?? '';
      if (!/^\d+$/.test(value)) throw new Error('--pairs takes a whole number of lab/PyTorch pairs per case (0: none)');
      cli.pairs = Number(value);
    } else if (arg === '--only') {
      const value = argv[++i];
      if (value !== 'node' && value !== 'browser') throw new Error('--only takes node or browser');
      cli.only = value;
    } else if (arg === '--backends') cli.backends = parseBackends(argv[++i]);
    else if (arg === '--cases') cli.cases = parseCases(argv[++i]);
    else if (arg === '--out') cli.out = argv[++i] ?? cli.out;
    else throw new Error(`Unknown option ${arg} (use --quick, --only node|browser, --backends LIST, --cases LIST, --pairs N, --out FILE)`);
  }
  if (cli.pairs < 0) cli.pairs = cli.quick ? PAIRS.quick : PAIRS.full;
  return cli;
}

function log(line: string): void {
  console.log(line);
}

/** `conv-4-bn@0.25`: a network as --cases and the PyTorch results name it. */
function networkName(c: { arch: ArchName; width: number }): string {
  return `${c.arch}@${c.width}`;
}

type TorchLayer =
  | { type: 'conv'; filters: number; batchNorm: boolean }
  | { type: 'maxPool' }
  | { type: 'flatten' }
  | { type: 'dense'; units: number; relu: boolean };

/**
 * The network as bench/torch_reference.py builds it, read from the engine's
 * own layer list (conv layers are named conv_*, dense ones dense_*, the last
 * gives the logits), so the two cannot drift apart.
 */
function torchLayers(arch: ArchName, width: number): TorchLayer[] {
  const steps = [...walkLayers(archLayers(arch, width, NUM_CLASSES), [32, 32, 3])];
  return steps.map(({ layer, output }, i): TorchLayer => {
    if (layer.name.startsWith('conv_')) return { type: 'conv', filters: output[2]!, batchNorm: ARCH_DEFINITIONS[arch].batchNorm };
    if (layer.name.startsWith('dense_')) return { type: 'dense', units: output[0]!, relu: i < steps.length - 1 };
    return output.length === 1 ? { type: 'flatten' } : { type: 'maxPool' };
  });
}

/** A case as torch_reference.py takes it. */
function torchSpec(c: BenchCase): TorchCaseSpec {
  return { name: networkName(c), batch: c.batch, optimizer: c.optimizer, layers: torchLayers(c.arch, c.width) };
}

/** The PyTorch reference for every distinct network, batch and optimiser of `cases`, or why there is none. */
async function torchReference(quick: boolean, cases: BenchCase[]): Promise<TorchReference> {
  const python = torchPython();
  const script = path.join(import.meta.dirname, 'torch_reference.py');
  const threads = [...new Set([1, os.cpus().length])].map(String);
  const specs = new Set(cases.map((c) => JSON.stringify(torchSpec(c))));
  const args = [script, ...[...specs].flatMap((spec) => ['--case', spec]), '--threads', ...threads, '--repeats', quick ? '3' : '7'];
  args.push('--max-seconds', quick ? '8' : '40');
  try {
    const { stdout } = await promisify(execFile)(python, args, { timeout: 3_600_000 });
    return JSON.parse(stdout) as TorchReference;
  } catch (error) {
    const reason = torchFailure(python, String((error as { stderr?: string }).stderr ?? (error as Error).message));
    log(`pytorch: skipped, ${reason}`);
    return { skipped: reason };
  }
}

/**
 * Gives Node a `navigator.gpu` from the `webgpu` package (Dawn for Node,
 * an optional dependency), with its WebGPU globals, so that initBackend can
 * start tfjs's webgpu backend headless. Dawn picks the adapter itself (Vulkan
 * on Linux); DAWN_FLAGS (comma-separated Dawn options, e.g. `adapter=NAME`)
 * are passed to its `create`. Returns why not, or null.
 */
async function installNodeWebGpu(): Promise<string | null> {
  const name = 'webgpu'; // a variable, so TypeScript does not require the optional package
  let dawn: { create(flags: string[]): unknown; globals: object };
  try {
    dawn = (await import(name)) as typeof dawn;
  } catch (error) {
    return `the npm package \`webgpu\` (Dawn for Node) could not be loaded: ${(error as Error).message}`;
  }
  Object.assign(globalThis, dawn.globals);
  const scope = globalThis as { navigator?: object };
  scope.navigator ??= {};
  const flags = (process.env.DAWN_FLAGS ?? '').split(',').filter(Boolean);
  Object.defineProperty(scope.navigator, 'gpu', { value: dawn.create(flags), configurable: true });
  return null;
}

async function runNode(cli: Cli): Promise<RuntimeReport> {
  const backends = cli.backends?.filter((name) => NODE_BACKENDS.includes(name)) ?? NODE_DEFAULT_BACKENDS;
  const webGpuMissing = backends.includes('webgpu') ? await installNodeWebGpu() : null;
  const measured = webGpuMissing ? backends.filter((name) => name !== 'webgpu') : backends;
  const report = await benchRuntime('node', process.version, measured, defaultOptions(cli.quick, log, cli.cases));
  if (webGpuMissing) {
    log(`[node] webgpu: skipped, ${webGpuMissing}`);
    report.backends.unshift({ requested: 'webgpu', info: null, skipped: webGpuMissing, cases: [] });
  }
  const wasm = report.backends.find((b) => b.requested === 'wasm' && !b.skipped);
  if (wasm && cli.pairs > 0) await pairWithTorch(cli, wasm.cases);
  return report;
}

/**
 * Pairs every measured wasm case with PyTorch on as many threads (see
 * bench/paired.ts) and stores the result in the case as `pairedTorch`.
 */
async function pairWithTorch(cli: Cli, cases: PairedCaseReport[]): Promise<void> {
  const measured = cases.filter((c) => isStat(c.trainImagesPerSecond));
  if (measured.length === 0) return;
  let server: TorchServer;
  try {
    server = await TorchServer.start();
  } catch (error) {
    log(`[node] wasm paired with PyTorch: skipped, ${(error as Error).message}`);
    for (const c of measured) c.pairedTorch = { skipped: (error as Error).message };
    return;
  }
  try {
    // Other backends ran since wasm's cases; the lab's rounds run on wasm again.
    const threads = (await initBackend('wasm')).threads ?? 1;
    const roundSeconds = cli.quick ? ROUND_SECONDS.quick : ROUND_SECONDS.full;
    log(`[node] wasm paired with PyTorch ${server.version}: ${cli.pairs} pairs of ~${roundSeconds} s rounds per case, ${threads} thread(s) each`);
    for (const c of measured) {
      const label = `${c.arch} w${c.width} b${c.batch} ${c.optimizer}`;
      const lab = await caseRounds(c);
      try {
        const paired = await pairCase(lab, server, torchSpec(c), threads, cli.pairs, roundSeconds);
        c.pairedTorch = paired;
        log(`  ${label}: lab / PyTorch ${formatStat(paired.ratio, 2)}, per CPU-second ${formatStat(paired.cpuRatio, 2)}`);
      } catch (error) {
        c.pairedTorch = { skipped: (error as Error).message };
        log(`  ${label}: not paired, ${(error as Error).message}`);
      } finally {
        lab.dispose();
      }
    }
  } finally {
    await server.close();
  }
}

/**
 * The suite in headless Chromium, through bench.html served by Vite. Both are
 * imported here, not at the top, so that a Node-only run needs neither (the
 * packed GPU-machine bench, bench/pack-gpu.ts, carries no browser tooling).
 */
async function runBrowser(cli: Cli): Promise<RuntimeReport> {
  const { chromium } = await import('playwright-core');
  const { createServer } = await import('vite');
  // No file watching or HMR: others edit the tree meanwhile, and a reload would kill the run.
  const server = await createServer({ logLevel: 'error', server: { port: 0, strictPort: false, hmr: false, watch: null } });
  await server.listen();
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    page.on('pageerror', (error) => log(`page error: ${error.message}`));
    await page.exposeFunction('__benchLog', log);
    await page.goto(new URL('bench.html', server.resolvedUrls!.local[0]).href);
    return await page.evaluate(({ quick, backends, cases }) => window.__labBench(quick, backends, cases), {
      quick: cli.quick,
      backends: cli.backends ?? BROWSER_BACKENDS,
      cases: cli.cases,
    });
  } finally {
    await browser.close();
    await server.close();
  }
}

function formatStat(m: Measurement | null, digits: number): string {
  if (m == null) return '-';
  if (!isStat(m)) return `skipped (${m.skipped})`;
  return `${m.median.toFixed(digits)} [${m.min.toFixed(digits)}-${m.max.toFixed(digits)}]`;
}

/** A case's paired ratio (wall or CPU) as `median [min-max]x`, why it was not paired, or empty where no pairing ran. */
function pairedColumn(c: PairedCaseReport, which: 'ratio' | 'cpuRatio'): string {
  if (c.pairedTorch == null) return '';
  if ('skipped' in c.pairedTorch) return which === 'ratio' ? `not paired (${c.pairedTorch.skipped})` : '';
  const stat = c.pairedTorch[which];
  return stat ? `${formatStat(stat, 2)}x` : '';
}

function backendLabel(b: BackendReport): string {
  const info = b.info?.adapter;
  const adapter = info ? ` (${info.description || info.vendor || 'adapter'}${info.software ? ', software' : ''})` : '';
  const threads = b.info?.threads != null ? ` (${b.info.threads} thread${b.info.threads > 1 ? 's' : ''})` : '';
  return `${b.requested}${adapter}${threads}`;
}

function padTable(rows: string[][]): string {
  const widths = rows[0].map((_, col) => Math.max(...rows.map((row) => row[col]?.length ?? 0)));
  return rows.map((row) => row.map((cell, col) => cell.padEnd(widths[col])).join(' | ').trimEnd()).join('\n');
}

function torchResult(reference: TorchReference, c: BenchCase, threads: number): TorchResult | null {
  if ('skipped' in reference) return null;
  const name = networkName(c);
  return reference.results.find((r) => r.name === name && r.batch === c.batch && r.optimizer === c.optimizer && r.threads === threads) ?? null;
}

/** The threads a wasm case ran on, for the PyTorch figure on as many; null on other backends. */
function wasmThreads(b: BackendReport): number | null {
  return b.requested === 'wasm' ? (b.info?.threads ?? 1) : null;
}

function formatReport(report: BenchReport): string {
  const rows: string[][] = [
    [
      'runtime',
      'backend',
      'model',
      'batch',
      'optimizer',
      'train img/s median [min-max]',
      'PyTorch img/s, same threads',
      'ratio',
      'img per CPU-s, lab / PyTorch',
      'CPU ratio',
      'paired ratio median [min-max]',
      'paired CPU ratio',
      'masked/dense step time',
      '1 + mask cost/dense step',
      'eval img/s',
      'peak MB / tensors',
    ],
  ];
  for (const runtime of report.runtimes) {
    for (const b of runtime.backends) {
      if (b.skipped) {
        rows.push([runtime.runtime, b.requested, '-', '-', '-', `skipped (${b.skipped})`, '', '', '', '', '', '', '', '', '', '']);
        continue;
      }
      for (const c of b.cases as PairedCaseReport[]) {
        const memory = c.memory ? `${(c.memory.peakBytes / 2 ** 20).toFixed(1)} / ${c.memory.peakTensors}` : '-';
        const evalImages = isStat(c.evalImagesPerSecond) ? ` (${c.evalImages} img)` : '';
        const threads = wasmThreads(b);
        const torch = threads == null ? null : torchResult(report.pytorch, c, threads);
        const ratio = torch && isStat(c.trainImagesPerSecond) ? `${(c.trainImagesPerSecond.median / torch.imagesPerSecond.median).toFixed(2)}x` : '';
        const labCpu = c.trainCpuImagesPerSecond;
        const cpuRates = labCpu && isStat(labCpu) ? `${formatStat(labCpu, 0)}${torch ? ` / ${formatStat(torch.cpuImagesPerSecond, 0)}` : ''}` : '';
        const cpuRatio = torch && labCpu && isStat(labCpu) ? `${(labCpu.median / torch.cpuImagesPerSecond.median).toFixed(2)}x` : '';
        rows.push([
          runtime.runtime,
          backendLabel(b),
          `${c.arch} w${c.width}`,
          String(c.batch),
          c.optimizer,
          formatStat(c.trainImagesPerSecond, 1),
          torch ? formatStat(torch.imagesPerSecond, 1) : '',
          ratio,
          cpuRates,
          cpuRatio,
          pairedColumn(c, 'ratio'),
          pairedColumn(c, 'cpuRatio'),
          formatStat(c.maskedOverDense, 3),
          formatStat(c.maskCostOverDense, 4),
          formatStat(c.evalImagesPerSecond, 0) + evalImages,
          memory,
        ]);
      }
    }
  }
  if ('skipped' in report.pytorch) rows.push(['pytorch', 'cpu', '-', '-', '-', `skipped (${report.pytorch.skipped})`, '', '', '', '', '', '', '', '', '', '']);
  else {
    for (const r of report.pytorch.results) {
      const threads = `cpu (${r.threads} thread${r.threads > 1 ? 's' : ''})`;
      const model = r.name.replace('@', ' w');
      rows.push([
        `pytorch ${report.pytorch.torch}`, threads, model, String(r.batch), r.optimizer, formatStat(r.imagesPerSecond, 1), '', '',
        formatStat(r.cpuImagesPerSecond, 0), '', '', '', '', '', '', '',
      ]);
    }
  }
  const lines = [padTable(rows), ''];
  for (const runtime of report.runtimes) {
    const wasm = runtime.backends.find((b) => b.requested === 'wasm' && !b.skipped);
    for (const c of (wasm?.cases ?? []) as PairedCaseReport[]) {
      const threads = wasmThreads(wasm!) ?? 1;
      const torch = torchResult(report.pytorch, c, threads);
      const target = c.arch === 'conv-2' && c.width === 1 ? TORCH_RATIO_TARGET : c.width < 1 && c.arch.startsWith('conv-4') ? NARROW_TORCH_RATIO_TARGET : null;
      if (target == null || torch == null || !isStat(c.trainImagesPerSecond)) continue;
      const ratio = c.trainImagesPerSecond.median / torch.imagesPerSecond.median;
      const labCpu = c.trainCpuImagesPerSecond;
      const cpuRatio = labCpu && isStat(labCpu) ? `; per CPU-second ${(labCpu.median / torch.cpuImagesPerSecond.median).toFixed(2)}x` : '';
      const paired = c.pairedTorch && !('skipped' in c.pairedTorch) ? c.pairedTorch : null;
      const measured = paired
        ? `paired ${formatStat(paired.ratio, 2)}x over ${paired.ratio.samples} pairs` +
          (paired.cpuRatio ? `; per CPU-second ${formatStat(paired.cpuRatio, 2)}x` : '') +
          `; unpaired ${ratio.toFixed(2)}x${cpuRatio}`
        : `${ratio.toFixed(2)}x${cpuRatio}`;
      lines.push(
        `${runtime.runtime} wasm / PyTorch, ${c.arch} w${c.width} batch ${c.batch} ${c.optimizer}, ${threads} thread(s) each: ${measured} (target >= ${target}x)`,
      );
    }
    for (const b of runtime.backends) {
      const conv2 = b.cases.find((c) => c.arch === 'conv-2' && c.width === 1 && c.masked);
      if (conv2 && isStat(conv2.maskedOverDense)) {
        const parts = isStat(conv2.maskCostOverDense) ? `; from its parts ${conv2.maskCostOverDense.median.toFixed(4)}` : '';
        lines.push(
          `${runtime.runtime} ${b.requested} masked/dense, Conv-2: paired ${conv2.maskedOverDense.median.toFixed(3)}${parts} (target <= ${MASK_OVERHEAD_TARGET})`,
        );
      }
    }
    const p = runtime.pruning;
    lines.push(
      `${runtime.runtime} pruning ${p.arch} (${p.weights} weights): global ${formatStat(p.globalMs, 1)} ms, ` +
        `layer-wise ${formatStat(p.layerwiseMs, 1)} ms (target < ${PRUNE_TARGET_MS} ms)`,
    );
  }
  for (const error of report.errors) lines.push(`failed: ${error}`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2));
  const report: BenchReport = {
    date: new Date().toISOString(),
    quick: cli.quick,
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? '', loadAverage: os.loadavg(), platform: `${os.platform()} ${os.release()}` },
    pytorch: await torchReference(cli.quick, cli.cases),
    runtimes: [],
    errors: [],
  };
  const runners = { node: runNode, browser: runBrowser };
  for (const [name, run] of Object.entries(runners)) {
    if (cli.only != null && cli.only !== name) continue;
    try {
      report.runtimes.push(await run(cli));
    } catch (error) {
      report.errors.push(`${name}: ${(error as Error).message}`);
      log(`[${name}] failed: ${(error as Error).message}`);
    }
  }
  await writeFile(cli.out, JSON.stringify(report, null, 2) + '\n');
  console.log(`\n${formatReport(report)}\n\nload average at start ${report.machine.loadAverage.map((l) => l.toFixed(2)).join(' ')}, now ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; wrote ${cli.out}`);
}

await main();
// Dawn for Node keeps the process alive for as long as its GPU object exists.
process.exit(0);
