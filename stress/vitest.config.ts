import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', 'json'],
    outputFile: { json: '.reports/vitest.json' },
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 120_000,
  },
});
