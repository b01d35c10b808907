/**
 * Entry of runner.html, the page the CLI drives with `--runtime browser`: it
 * runs a config through the same worker the lab page uses.
 */
import type { ExperimentConfigInput } from './lib/engine/config';
import type { EngineEvent, RunResults } from './lib/engine/results';
import { EngineClient } from './lib/worker/client';

declare global {
  interface Window {
    __labRun(config: ExperimentConfigInput, dataPrefix: string | null): Promise<RunResults>;
    __labEvent?(event: EngineEvent): void;
  }
}

window.__labRun = async (config, dataPrefix) => {
  const client = new EngineClient();
  try {
    const handle = client.run(config, dataPrefix ? { kind: 'url', prefix: dataPrefix } : { kind: 'none' }, (event) => window.__labEvent?.(event));
    return await handle.done;
  } finally {
    client.terminate();
  }
};
