export * from './replay.js';
export { runCli, USAGE, type CliIo } from './cli.js';
export { eventJson, connectionJson, summaryJson, safe } from './format.js';
