import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', 'json'],
    outputFile: { json: '.reports/vitest.json' },
    // Property tests and fuzzers run long on a loaded 2-core CI machine; they assert behaviour, not speed.
    testTimeout: 120_000,
  },
});
