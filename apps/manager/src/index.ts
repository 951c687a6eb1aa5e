export { buildApp, type ManagerDeps } from './app.js';
