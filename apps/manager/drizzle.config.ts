import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'sqlite',
  // src/observability/schema.ts: the log-export table (kept apart from the core schema).
  schema: ['./src/db/schema.ts', './src/observability/schema.ts'],
  out: './drizzle',
});
