/** Pause, resume and stop for a running experiment, shared by the worker, CLI and tests. */
export class StopRequested extends Error {
  constructor() {
    super('Run stopped');
    this.name = 'StopRequested';
  }
}

export class RunControl {
  private paused = false;
  private stopped = false;
  private wake: (() => void) | null = null;

  get isPaused(): boolean {
    return this.paused;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.wake?.();
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  /** Throws StopRequested after stop(); waits while paused. */
  async checkpoint(): Promise<void> {
    while (this.paused && !this.stopped) {
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
    if (this.stopped) throw new StopRequested();
  }
}

/**
 * Let queued messages (pause, stop) in. wasm and cpu kernels run synchronously,
 * so without this a worker would not see a click until training ended.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
