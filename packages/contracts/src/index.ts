export * from './catalog.js';
export * from './settings.js';
export * from './policy.js';
export * from './event.js';
