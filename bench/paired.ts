/**
 * The paired lab/PyTorch comparison of `npm run bench` (Node, wasm): for each
 * case, short rounds of the lab's training steps and PyTorch's on the same
 * shapes and thread count alternate, and each pair gives one ratio.
 *
 * This machine's speed drifts by tens of percent over minutes, for reasons no
 * load average shows; timing every lab case and then every PyTorch case puts
 * minutes between the two sides of a ratio, so the ratio carries that drift.
 * Within a pair the two rounds are a second or two apart, and the side that
 * goes first alternates from pair to pair, so a steady drift raises one side
 * of half the pairs and the other side of the rest; the median of the pairs'
 * ratios is then the comparison, and their spread says how far to trust it.
 *
 * PyTorch runs as one long-lived `bench/torch_reference.py --serve` process
 * (its protocol is in that file's docstring), so a round pays no Python start
 * or import.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { summarize, type CaseRounds, type RoundTiming, type Stat } from './suite';

/** One pair of rounds: the lab's and PyTorch's, run back to back in the order `labFirst` says. */
export interface RoundPair {
  labFirst: boolean;
  lab: RoundTiming;
  torch: RoundTiming;
}

export interface PairedComparison {
  /** Intra-op threads of both sides. */
  threads: number;
  /** Steps per round, each side sized to last about `roundSeconds`. */
  labSteps: number;
  torchSteps: number;
  roundSeconds: number;
  /** Images/s of each side over the pairs' rounds. */
  labImagesPerSecond: Stat;
  torchImagesPerSecond: Stat;
  /** Lab img/s over PyTorch img/s, one value per pair: median and spread. */
  ratio: Stat;
  /** The same per CPU-second of each process; null where a side had no CPU clock. */
  cpuRatio: Stat | null;
  pairs: RoundPair[];
}

/** Images per second of a round. */
function rate(batch: number, t: RoundTiming): number {
  return (t.steps * batch) / t.seconds;
}

/** Images per CPU-second of a round, or null without a CPU clock. */
function cpuRate(batch: number, t: RoundTiming): number | null {
  return t.cpuSeconds == null ? null : (t.steps * batch) / Math.max(t.cpuSeconds, 1e-9);
}

/**
 * The comparison from the pairs' timings: each ratio is taken within its pair
 * (never lab round i against PyTorch round j), then summarised.
 */
export function comparePairs(batch: number, threads: number, roundSeconds: number, pairs: RoundPair[]): PairedComparison {
  if (pairs.length === 0) throw new Error('comparePairs needs at least one pair');
  const cpuRatios = pairs.map((p) => {
    const lab = cpuRate(batch, p.lab);
    const torch = cpuRate(batch, p.torch);
    return lab == null || torch == null ? null : lab / torch;
  });
  return {
    threads,
    labSteps: pairs[0].lab.steps,
    torchSteps: pairs[0].torch.steps,
    roundSeconds,
    labImagesPerSecond: summarize(pairs.map((p) => rate(batch, p.lab))),
    torchImagesPerSecond: summarize(pairs.map((p) => rate(batch, p.torch))),
    ratio: summarize(pairs.map((p) => rate(batch, p.lab) / rate(batch, p.torch))),
    cpuRatio: cpuRatios.every((r) => r != null) ? summarize(cpuRatios as number[]) : null,
    pairs,
  };
}

/** Times `count` pairs of rounds, lab first in even pairs and PyTorch first in odd ones. */
export async function runPairs(
  count: number,
  lab: () => Promise<RoundTiming>,
  torch: () => Promise<RoundTiming>,
): Promise<RoundPair[]> {
  const pairs: RoundPair[] = [];
  for (let i = 0; i < count; i++) {
    const labFirst = i % 2 === 0;
    let labTiming: RoundTiming;
    let torchTiming: RoundTiming;
    if (labFirst) {
      labTiming = await lab();
      torchTiming = await torch();
    } else {
      torchTiming = await torch();
      labTiming = await lab();
    }
    pairs.push({ labFirst, lab: labTiming, torch: torchTiming });
  }
  return pairs;
}

/**
 * Steps that make a round last about `roundSeconds`: probes with 1, 2, 4, …
 * steps until a probe lasts a quarter of that, so one stalled step does not
 * size every round.
 */
async function stepsPerRound(round: (steps: number) => Promise<RoundTiming>, roundSeconds: number): Promise<number> {
  for (let steps = 1; ; steps *= 2) {
    const probe = await round(steps);
    if (probe.seconds >= roundSeconds / 4) return Math.max(1, Math.round((roundSeconds * steps) / probe.seconds));
  }
}

/** The Python that runs the PyTorch reference: $PYTHON, else Debian's (where its torch lives), else python3. */
export function torchPython(): string {
  return process.env.PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
}

/** Why the PyTorch reference could not run, from its error output. */
export function torchFailure(python: string, text: string): string {
  return text.includes("No module named 'torch'")
    ? `PyTorch is not installed for ${python} (Debian: apt-get install -y python3-torch libopenblas0-pthread)`
    : `the PyTorch reference failed: ${text.trim().split('\n').pop()}`;
}

/** A PyTorch network case as torch_reference.py takes it (bench/run.ts builds it from the engine's layers). */
export type TorchCaseSpec = { name: string; batch: number; optimizer: string; layers: unknown[] };

/**
 * How long one PyTorch round may take to answer: rounds last about
 * `roundSeconds` (~1.5 s), and a loaded machine stretches them many times,
 * but never to this.
 */
const ANSWER_TIMEOUT_MS = 300_000;

/** One `torch_reference.py --serve` process: timed rounds of PyTorch training steps, one command at a time. */
export class TorchServer {
  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly lines: AsyncIterator<string>,
    /** Everything the process wrote on stderr, for error messages. */
    private readonly stderr: { text: string },
    /** torch.__version__ */
    readonly version: string,
    private readonly answerTimeoutMs: number,
  ) {}

  /** Starts the server; rejects, with torchFailure's reason, when Python or torch cannot start. */
  static async start(python = torchPython(), answerTimeoutMs = ANSWER_TIMEOUT_MS): Promise<TorchServer> {
    const script = path.join(import.meta.dirname, 'torch_reference.py');
    const child = spawn(python, [script, '--serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const stderr = { text: '' };
    child.stderr.on('data', (chunk: Buffer) => (stderr.text += chunk.toString()));
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    try {
      await spawned;
    } catch (error) {
      throw new Error(torchFailure(python, (error as Error).message));
    }
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.done) {
      await new Promise((resolve) => (child.exitCode != null ? resolve(null) : child.once('close', resolve)));
      throw new Error(torchFailure(python, stderr.text || 'the server ended before it answered'));
    }
    return new TorchServer(child, lines, stderr, (JSON.parse(first.value) as { torch: string }).torch, answerTimeoutMs);
  }

  /**
   * Wall and CPU seconds of `steps` steps of `spec` on `threads` threads (0
   * steps: build and warm it up only). A server that does not answer in
   * time (ANSWER_TIMEOUT_MS unless `start` was given another) is stopped and
   * the round fails, instead of the bench waiting forever.
   */
  async round(spec: TorchCaseSpec, threads: number, steps: number): Promise<RoundTiming> {
    this.child.stdin.write(`${JSON.stringify({ case: spec, threads, steps })}\n`);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const silence = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.child.kill();
        reject(new Error(`the PyTorch server gave no answer for ${spec.name} within ${this.answerTimeoutMs / 1000} s and was stopped`));
      }, this.answerTimeoutMs);
    });
    const answer = await Promise.race([this.lines.next(), silence]).finally(() => clearTimeout(timer));
    if (answer.done) throw new Error(`the PyTorch server ended: ${this.stderr.text.trim().split('\n').pop() ?? ''}`);
    const reply = JSON.parse(answer.value) as { error: string } | RoundTiming;
    if ('error' in reply) throw new Error(`the PyTorch server could not run ${spec.name}: ${reply.error}`);
    return reply;
  }

  /** Ends the process (closing its stdin ends its loop). */
  async close(): Promise<void> {
    if (this.child.exitCode != null) return;
    const closed = new Promise((resolve) => this.child.once('close', resolve));
    this.child.stdin.end();
    await closed;
  }
}

/**
 * `pairs` pairs of rounds of about `roundSeconds` each side: the lab's on the
 * current backend (`lab`, already warm) and PyTorch's on `threads` threads.
 */
export async function pairCase(
  lab: CaseRounds,
  server: TorchServer,
  spec: TorchCaseSpec,
  threads: number,
  pairs: number,
  roundSeconds: number,
): Promise<PairedComparison> {
  const torchRound = (steps: number): Promise<RoundTiming> => server.round(spec, threads, steps);
  await torchRound(0);
  const labSteps = await stepsPerRound(lab.round, roundSeconds);
  const torchSteps = await stepsPerRound(torchRound, roundSeconds);
  const timed = await runPairs(
    pairs,
    () => lab.round(labSteps),
    () => torchRound(torchSteps),
  );
  return comparePairs(spec.batch, threads, roundSeconds, timed);
}
