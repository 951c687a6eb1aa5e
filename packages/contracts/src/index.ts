export * from './catalog.js';
export * from './settings.js';
export * from './policy.js';
export * from './event.js';
export * from './fleet.js';
export * from './api.js';
export * from './log-export.js';
