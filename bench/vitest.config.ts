/**
 * The project's test config, for the tests under bench/ (the root config only
 * collects src/, tests/, experiments/ and scripts/).
 */
import { defineConfig } from 'vitest/config';
import base from '../vite.config.ts';

export default defineConfig({ ...base, test: { ...base.test, include: ['bench/**/*.test.ts'] } });
