/**
 * How the project starts Chromium headless: Debian's system build (Playwright's
 * own browser download is unavailable here) with a real WebGPU adapter (on a
 * machine without a GPU that adapter is SwiftShader, running on the CPU).
 */
import { existsSync } from 'node:fs';

export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
  const found = candidates.find((p): p is string => !!p && existsSync(p));
  if (!found) {
    throw new Error('No Chromium found: install it (Debian: apt-get install -y chromium) or set CHROMIUM_PATH');
  }
  return found;
}

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
