/**
 * Entry of runner.html, the page the CLI drives with `--runtime browser`: it
 * runs a config through the same worker the lab page uses.
 */
import type { ExperimentConfigInput } from './lib/engine/config';
import type { EngineEvent, RunResults } from './lib/engine/results';
import { EngineClient, newRunId } from './lib/worker/client';

declare global {
  interface Window {
    __labRun(config: ExperimentConfigInput, dataPrefix: string | null): Promise<RunResults>;
    __labEvent?(event: EngineEvent): void;
  }
}

window.__labRun = async (config, dataPrefix) => {
  const client = new EngineClient();
  try {
    const data = dataPrefix ? { kind: 'url' as const, prefix: dataPrefix } : { kind: 'none' as const };
    const handle = client.run({ runId: newRunId(), config, data, resume: null, ticket: null }, (event) => window.__labEvent?.(event));
    return await handle.done;
  } finally {
    client.terminate();
  }
};
