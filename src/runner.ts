/**
 * Entry of runner.html, the page the CLI drives with `--runtime browser`: it
 * runs a config through the same worker the lab page uses.
 */
import type { ExperimentConfigInput } from './lib/engine/config';
import type { EngineEvent, RunResults } from './lib/engine/results';
import { EngineClient, newRunId } from './lib/worker/client';

/** The run's results, or the error event that ended it (whose kind says whether its finished rounds stand). */
export type RunnerOutcome = { results: RunResults; error: null } | { results: null; error: Extract<EngineEvent, { type: 'error' }> };

declare global {
  interface Window {
    __labRun(config: ExperimentConfigInput, dataPrefix: string | null): Promise<RunnerOutcome>;
    __labEvent?(event: EngineEvent): void;
  }
}

window.__labRun = async (config, dataPrefix) => {
  const client = new EngineClient();
  let ended: Extract<EngineEvent, { type: 'error' }> | null = null;
  try {
    const data = dataPrefix ? { kind: 'url' as const, prefix: dataPrefix } : { kind: 'none' as const };
    const handle = client.run({ runId: newRunId(), config, data, resume: null, ticket: null }, (event) => {
      if (event.type === 'error') ended = event;
      window.__labEvent?.(event);
    });
    return { results: await handle.done, error: null };
  } catch (error) {
    return { results: null, error: ended ?? { type: 'error', kind: 'failed', message: (error as Error).message } };
  } finally {
    client.terminate();
  }
};
