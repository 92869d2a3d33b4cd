import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Built into dist/, which the server serves at / (packages/server/src/http/web-portal.ts). Everything the page
// needs is in the bundle: no CDN at run time. The build script sets NODE_ENV=production: Vite takes a NODE_ENV it
// finds set, and a build run under another (vitest's `test`, when the release test packs) made React's
// development build, which renders twice and navigates differently from what people get.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    // The first page must stay small (docs/web.md): a warning if one chunk grows past this.
    chunkSizeWarningLimit: 300,
  },
  server: {
    // `npm run dev -w @holdfast/web` next to `holdfast serve` on the default port.
    proxy: { '/v1': 'http://127.0.0.1:7870' },
  },
});
