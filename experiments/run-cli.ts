/** Runs the CLI's `main` in-process for tests, collecting its progress lines and the errors it prints. */
import { vi } from 'vitest';
import type { BrowserHooks } from './browser-runtime';
import { main } from './cli';

export async function runCli(argv: string[], browserHooks: BrowserHooks = {}): Promise<{ code: number; errors: string; lines: string[] }> {
  const lines: string[] = [];
  const errors: string[] = [];
  const spy = vi.spyOn(console, 'error').mockImplementation((message: string) => errors.push(message));
  try {
    const code = await main(argv, (line) => lines.push(line), browserHooks);
    return { code, errors: errors.join('\n'), lines };
  } finally {
    spy.mockRestore();
  }
}
