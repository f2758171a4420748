import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

// The chat server listens here during development; the built client is served by it directly.
const serverUrl = process.env.CHAT_SERVER_URL ?? 'http://127.0.0.1:3000';

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      '/api': { target: serverUrl, changeOrigin: false },
      '/socket.io': { target: serverUrl, ws: true, changeOrigin: false },
      '/uploads': { target: serverUrl, changeOrigin: false },
    },
  },
  preview: {
    proxy: {
      '/api': { target: serverUrl },
      '/socket.io': { target: serverUrl, ws: true },
      '/uploads': { target: serverUrl },
    },
  },
  build: {
    outDir: 'dist',
    sourcemap: false,
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
    restoreMocks: true,
  },
});
