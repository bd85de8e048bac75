import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The engine serves the built app at `/` and the API at `/api` on the same
// origin. In development, Vite proxies `/api` to a locally running engine
// (override with NOISE_API_URL).
const target = process.env.NOISE_API_URL ?? 'http://127.0.0.1:18080';

export default defineConfig({
  base: './',
  plugins: [react()],
  server: {
    port: 5173,
    proxy: {
      '/api': { target, changeOrigin: false },
      '/healthz': { target },
    },
  },
  build: {
    outDir: 'dist',
    sourcemap: false,
    chunkSizeWarningLimit: 800,
  },
});
