/** The frame parser thread (see frame-parser.ts). */
import { parentPort } from 'node:worker_threads';
import { prepareFrame } from './frames.js';

const decoder = new TextDecoder();
parentPort!.on('message', ({ id, bytes, gatewayName }: { id: number; bytes: ArrayBuffer; gatewayName: string }) => {
  let r;
  try {
    r = prepareFrame(decoder.decode(bytes), gatewayName);
  } catch (err) {
    r = { kind: 'error' as const, message: `manager could not read the frame: ${(err as Error).message}` };
  }
  parentPort!.postMessage({ id, r }, r.kind === 'events' ? [r.packed.seqs.buffer as ArrayBuffer, r.packed.times.buffer as ArrayBuffer, r.packed.clientKeys.buffer as ArrayBuffer, r.packed.ends.buffer as ArrayBuffer] : []);
});
parentPort!.postMessage({ ready: true });
