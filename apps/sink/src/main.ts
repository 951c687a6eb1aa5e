import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startSink } from './sink.js';

const { values } = parseArgs({
  options: { listen: { type: 'string', default: '127.0.0.1:2526' }, dir: { type: 'string' }, keep: { type: 'string', default: '50' } },
});
const [host, port] = splitHostPort(values.listen!);
const base = process.env.INIT_CWD ?? process.cwd();
const sink = await startSink({ host, port, dir: values.dir ? resolve(base, values.dir) : undefined, keep: Number(values.keep) });
console.log(`sink MTA listening on ${host}:${sink.port}${values.dir ? `, keeping messages in ${resolve(base, values.dir)}` : ''}`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void sink.close().then(() => process.exit(0)));

function splitHostPort(value: string): [string, number] {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(value);
  if (!match) {
    console.error(`--listen: expected HOST:PORT, got "${value}"`);
    process.exit(2);
  }
  return [match[1]!, Number(match[2])];
}
