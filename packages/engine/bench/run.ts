// The engine's part of `pnpm bench`: protocol throughput, then the Malicious Code Protector.
import { main as engine } from './engine.js';

engine();
const mcp = await import('./malicious-code.js').catch(() => null);
if (mcp && typeof mcp.main === 'function') await mcp.main();
