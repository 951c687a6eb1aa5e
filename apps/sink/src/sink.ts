import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';

/**
 * The built-in sink MTA of the quick start: a real SMTP server (nodemailer's smtp-server)
 * that accepts every message and keeps the last ones as .eml files, so a newcomer sees
 * mail flow through the gateway. Not a mail store: it keeps `keep` messages, no more.
 */
export interface SinkOptions {
  host: string;
  port: number;
  /** Folder for the kept messages; none keeps them only in memory. */
  dir?: string;
  keep?: number;
  maxMessageBytes?: number;
  onMessage?: (message: SinkMessage) => void;
}

export interface SinkMessage {
  id: number;
  from: string;
  to: string[];
  bytes: number;
  receivedAt: string;
  data: Buffer;
}

export interface Sink {
  port: number;
  messages: SinkMessage[];
  close(): Promise<void>;
}

export async function startSink(options: SinkOptions): Promise<Sink> {
  const keep = options.keep ?? 50;
  const maxBytes = options.maxMessageBytes ?? 50 * 1024 * 1024;
  const messages: SinkMessage[] = [];
  let nextId = 1;
  if (options.dir) mkdirSync(options.dir, { recursive: true });

  const server = new SMTPServer({
    name: 'sink.smtpguard.local',
    banner: 'smtpguard sink MTA',
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    size: maxBytes,
    logger: false,
    onData(stream, session, callback) {
      const parts: Buffer[] = [];
      let bytes = 0;
      stream.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes <= maxBytes) parts.push(chunk);
      });
      stream.on('end', () => {
        if (stream.sizeExceeded) return callback(Object.assign(new Error('Message too big'), { responseCode: 552 }));
        const message: SinkMessage = {
          id: nextId++,
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          bytes,
          receivedAt: new Date().toISOString(),
          data: Buffer.concat(parts),
        };
        messages.push(message);
        if (messages.length > keep) messages.shift();
        if (options.dir) {
          writeFileSync(join(options.dir, `${String(message.id).padStart(6, '0')}.eml`), message.data);
          const files = readdirSync(options.dir).filter((f) => f.endsWith('.eml')).sort();
          for (const old of files.slice(0, Math.max(0, files.length - keep))) rmSync(join(options.dir, old), { force: true });
        }
        options.onMessage?.(message);
        callback(null, `Message ${message.id} kept by the sink`);
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  server.on('error', () => {});
  const address = server.server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    messages,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
