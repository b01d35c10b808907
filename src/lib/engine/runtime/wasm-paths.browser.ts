/**
 * Browser-only: lets Vite serve the tfjs wasm binaries and tells tfjs their
 * URLs. Import it for its side effect, once, in the worker or page that
 * trains, before initBackend:
 *
 *   import '../engine/runtime/wasm-paths.browser';
 *
 * It is separate from backend.ts because `?url` imports exist only under
 * Vite (dev, build and vitest) and would break plain Node (`npx tsx`).
 */
import plainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import simdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import threadedSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { setWasmBinaryUrls } from './backend';

setWasmBinaryUrls({
  'tfjs-backend-wasm.wasm': plainUrl,
  'tfjs-backend-wasm-simd.wasm': simdUrl,
  'tfjs-backend-wasm-threaded-simd.wasm': threadedSimdUrl,
});
