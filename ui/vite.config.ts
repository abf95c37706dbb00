import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// The console is served by the Go binary at "/" (ui/embed.go); the dev
// server proxies the API to a running `crm serve` (CRM_DEV_API, default :8080).
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: false, // keep dist/.keep, which go:embed needs on a fresh clone
    chunkSizeWarningLimit: 1200,
  },
  server: {
    proxy: {
      '/api': { target: process.env.CRM_DEV_API ?? 'http://127.0.0.1:8080', ws: true },
    },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test/setup.ts'],
    testTimeout: 20000,
  },
});
