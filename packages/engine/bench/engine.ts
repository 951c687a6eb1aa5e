/**
 * Engine throughput, each figure next to a baseline measured in the same run: a bare
 * CRLF line splitter over the same bytes (the least any line-aware inspector must do).
 *   (a) a 100 MB DATA body in 76-character lines, delivered in 64 KiB chunks
 *   (b) a command-heavy stream: many short pipelined transactions, both directions
 *   (c) whole connections, one 10 KB message each, EHLO answered with Postfix's 11 lines:
 *       the per-connection work the gateway pays for every short connection
 * Every protection is in Detect (all active, nothing blocked), medians of several runs.
 */
import { defaultPolicy } from '@smtpguard/contracts';
import { compilePolicy, createInspector } from '../src/index.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const BODY_MB = Number(process.env.BENCH_BODY_MB ?? 100);
const CHUNK = 64 * 1024;
const LF = 10;

const policy = compilePolicy(defaultPolicy('detect'));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function time(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** The baseline: find every LF, count the lines. */
function splitLines(chunks: Buffer[]): number {
  let lines = 0;
  for (const chunk of chunks) {
    let at = chunk.indexOf(LF);
    while (at >= 0) {
      lines++;
      at = chunk.indexOf(LF, at + 1);
    }
  }
  return lines;
}

function chunked(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += CHUNK) out.push(buf.subarray(i, i + CHUNK));
  return out;
}

function bodyBench() {
  const line = Buffer.from(`${'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ+/abcdefghijkl'}\r\n`);
  const lines = Math.ceil((BODY_MB * 1e6) / line.length);
  const body = Buffer.alloc(lines * line.length);
  for (let i = 0; i < lines; i++) line.copy(body, i * line.length);
  const chunks = chunked(Buffer.concat([body, Buffer.from('.\r\n')]));
  const open = () => {
    const inspector = createInspector(policy, {});
    inspector.fromServer(Buffer.from('220 mx ESMTP\r\n'));
    inspector.fromClient(Buffer.from('EHLO bench.example\r\n'));
    inspector.fromServer(Buffer.from('250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n'));
    inspector.fromClient(Buffer.from('MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n'));
    inspector.fromServer(Buffer.from('250 ok\r\n250 ok\r\n354 go\r\n'));
    return inspector;
  };
  const engine: number[] = [];
  const baseline: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const inspector = open();
    let forwarded = 0;
    engine.push(
      time(() => {
        for (const chunk of chunks) for (const out of inspector.fromClient(chunk).toServer) forwarded += out.length;
      }),
    );
    if (forwarded !== body.length + 3) throw new Error(`engine forwarded ${forwarded} of ${body.length + 3}`);
    baseline.push(time(() => splitLines(chunks)));
  }
  const mb = body.length / 1e6;
  return { mb, engine: median(engine), baseline: median(baseline) };
}

function commandBench() {
  const transactions = Number(process.env.BENCH_TRANSACTIONS ?? 50_000);
  const client = Buffer.from('MAIL FROM:<sender@example.org> SIZE=300\r\nRCPT TO:<one@example.com>\r\nRCPT TO:<two@example.com>\r\nDATA\r\n');
  const server = Buffer.from('250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n');
  const body = Buffer.from('Subject: hello\r\n\r\nshort message\r\n.\r\nRSET\r\n');
  const server2 = Buffer.from('250 2.0.0 Ok: queued\r\n250 2.0.0 Ok\r\n');
  const commandsPer = 5; // MAIL, RCPT, RCPT, DATA, RSET
  const bytesPer = client.length + server.length + body.length + server2.length;
  const all = [client, server, body, server2];
  const engine: number[] = [];
  const baseline: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const inspector = createInspector(policy, {});
    inspector.fromServer(Buffer.from('220 mx ESMTP\r\n'));
    inspector.fromClient(Buffer.from('EHLO bench.example\r\n'));
    inspector.fromServer(Buffer.from('250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n'));
    engine.push(
      time(() => {
        for (let t = 0; t < transactions; t++) {
          inspector.fromClient(client);
          inspector.fromServer(server);
          inspector.fromClient(body);
          inspector.fromServer(server2);
        }
      }),
    );
    // Limits are per connection; Detect keeps going past them, so this measures the full path.
    if (inspector.stats.messages !== transactions) throw new Error(`engine saw ${inspector.stats.messages} messages`);
    baseline.push(
      time(() => {
        for (let t = 0; t < transactions; t++) splitLines(all);
      }),
    );
  }
  return { commands: transactions * commandsPer, mb: (transactions * bytesPer) / 1e6, engine: median(engine), baseline: median(baseline) };
}

function connectionBench() {
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 50_000);
  const B = (text: string) => Buffer.from(text, 'latin1');
  const ehloReply = ['smtp.example', 'PIPELINING', 'SIZE 10240000', 'VRFY', 'ETRN', 'STARTTLS', 'ENHANCEDSTATUSCODES', '8BITMIME', 'DSN', 'SMTPUTF8', 'CHUNKING'];
  const conversation: Array<['client' | 'server', Buffer]> = [
    ['server', B('220 smtp.example ESMTP Postfix\r\n')],
    ['client', B('EHLO client.example\r\n')],
    ['server', B(ehloReply.map((line, i) => `250${i === ehloReply.length - 1 ? ' ' : '-'}${line}\r\n`).join(''))],
    ['client', B('MAIL FROM:<sender@example.org>\r\n')],
    ['server', B('250 2.1.0 Ok\r\n')],
    ['client', B('RCPT TO:<rcpt@example.com>\r\n')],
    ['server', B('250 2.1.5 Ok\r\n')],
    ['client', B('DATA\r\n')],
    ['server', B('354 End data with <CR><LF>.<CR><LF>\r\n')],
    ['client', B(`Subject: bench\r\n\r\n${'La la la la la la la la la la la la la la la la la la la la la la la la la.\r\n'.repeat(136)}.\r\n`)],
    ['server', B('250 2.0.0 Ok: queued as 1234\r\n')],
    ['client', B('QUIT\r\n')],
    ['server', B('221 2.0.0 Bye\r\n')],
  ];
  const bytesPer = conversation.reduce((n, [, bytes]) => n + bytes.length, 0);
  const all = conversation.map(([, bytes]) => bytes);
  const engine: number[] = [];
  const baseline: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let messages = 0;
    engine.push(
      time(() => {
        for (let c = 0; c < connections; c++) {
          const inspector = createInspector(policy, { clientAddress: '192.0.2.1', serverAddress: '192.0.2.2' });
          for (const [side, bytes] of conversation) {
            if (side === 'client') inspector.fromClient(bytes);
            else inspector.fromServer(bytes);
          }
          messages += inspector.stats.messages;
        }
      }),
    );
    if (messages !== connections) throw new Error(`engine saw ${messages} messages in ${connections} connections`);
    baseline.push(
      time(() => {
        for (let c = 0; c < connections; c++) splitLines(all);
      }),
    );
  }
  return { connections, mb: (connections * bytesPer) / 1e6, engine: median(engine), baseline: median(baseline) };
}

export function main() {
  const body = bodyBench();
  const commands = commandBench();
  const connections = connectionBench();
  const rows = [
    ['(a) DATA body, 76-char lines', `${(body.mb / body.engine).toFixed(0)} MB/s`, `${(body.mb / body.baseline).toFixed(0)} MB/s`, (body.engine / body.baseline).toFixed(2)],
    [
      '(b) short transactions',
      `${(commands.mb / commands.engine).toFixed(0)} MB/s, ${Math.round(commands.commands / commands.engine).toLocaleString('en')} commands/s`,
      `${(commands.mb / commands.baseline).toFixed(0)} MB/s`,
      (commands.engine / commands.baseline).toFixed(2),
    ],
    [
      '(c) whole connections, 10 KB message',
      `${Math.round(connections.connections / connections.engine).toLocaleString('en')} connections/s, ${((connections.engine / connections.connections) * 1e6).toFixed(1)} µs each`,
      `${(connections.mb / connections.baseline).toFixed(0)} MB/s`,
      (connections.engine / connections.baseline).toFixed(2),
    ],
  ];
  console.log(`\nengine (all 16 protections in Detect), median of ${RUNS} runs, ${body.mb.toFixed(0)} MB body`);
  console.log('| stream | engine | bare CRLF splitter | engine time / splitter time |');
  console.log('|---|---|---|---|');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
