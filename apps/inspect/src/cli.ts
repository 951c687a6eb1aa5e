import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ACTIONS, type Action } from '@smtpguard/contracts';
import { detectFormat } from '@smtpguard/capture';
import {
  connectionFooter,
  connectionHeader,
  connectionJson,
  errorJson,
  eventJson,
  eventRow,
  reportFooter,
  summaryJson,
} from './format.js';
import {
  PolicyInputError,
  TranscriptInputError,
  looksLikeTranscript,
  preparePolicy,
  replayCapture,
  replayTranscript,
  type ReplayEvent,
  type ReplayReport,
} from './replay.js';

export const USAGE = `usage: pnpm inspect FILE [--policy FILE] [--default-action prevent|detect|inactive] [--json|--table]

  FILE                     a pcap or pcapng capture, or a transcript ("S: 220 ..." / "C: EHLO ..." lines)
  --policy FILE            policy JSON (contracts' policy shape); default: catalog defaults
  --default-action ACTION  prevent|detect|inactive: every protection's action at once
  --json                   JSON lines even on a terminal
  --table                  the human table even when piped

Prints one JSON line per event (finding, notice, gap, overlap, uninspected), one per
SMTP connection (summary), then one closing summary; a human table on a terminal.
Prevent verdicts are reported ("would prevent"), not enacted: the recorded server
already answered. Exit status: 0 when the whole input was read (findings or not),
1 when the input is damaged part-way (what came before its byte offset is replayed),
2 when it cannot be read at all or the options are wrong.
`;

export interface CliIo {
  env: NodeJS.ProcessEnv;
  out: (line: string) => void;
  err: (line: string) => void;
  isTTY: boolean;
}

export function userPath(path: string, env: NodeJS.ProcessEnv): string {
  return isAbsolute(path) ? path : resolve(env.INIT_CWD ?? process.cwd(), path);
}

export function runCli(argv: string[], io: CliIo): number {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        policy: { type: 'string' },
        'default-action': { type: 'string' },
        json: { type: 'boolean' },
        table: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    io.err(`expected exactly one FILE, got ${positionals.length}\n\n${USAGE}`);
    return 2;
  }
  const action = values['default-action'] as string | undefined;
  if (action !== undefined && !(ACTIONS as readonly string[]).includes(action)) {
    io.err(`--default-action: expected one of ${ACTIONS.join('|')}, got ${JSON.stringify(action)}`);
    return 2;
  }
  let policyInput: unknown = {};
  if (typeof values.policy === 'string') {
    const file = userPath(values.policy, io.env);
    try {
      policyInput = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      io.err(`cannot read policy file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      return 2;
    }
  }
  let policy;
  try {
    policy = preparePolicy(policyInput, action as Action | undefined);
  } catch (err) {
    if (err instanceof PolicyInputError) {
      io.err(`invalid policy:\n${err.message}`);
      return 2;
    }
    throw err;
  }

  const displayName = positionals[0]!;
  const file = userPath(displayName, io.env);
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    io.err(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    return 2;
  }

  const table = values.table === true || (io.isTTY && values.json !== true);
  const pending = new Map<number, ReplayEvent[]>();
  const options = {
    onEvent: (e: ReplayEvent) => {
      if (!table) io.out(JSON.stringify(eventJson(e)));
      else {
        const list = pending.get(e.connection) ?? [];
        list.push(e);
        pending.set(e.connection, list);
      }
    },
    onConnection: (c: Parameters<typeof connectionFooter>[0]) => {
      if (!table) {
        io.out(JSON.stringify(connectionJson(c)));
        return;
      }
      io.out(connectionHeader(c));
      for (const e of pending.get(c.id) ?? []) {
        const row = eventRow(e);
        if (row) io.out(row);
      }
      pending.delete(c.id);
      for (const line of connectionFooter(c)) io.out(line);
      io.out('');
    },
  };

  let report: ReplayReport;
  const format = detectFormat(buf);
  if (format === 'unknown') {
    if (!looksLikeTranscript(buf)) {
      const message = `${displayName}: not a pcap, pcapng or transcript file (first bytes ${Array.from(buf.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ') || 'none'})`;
      if (!table) io.out(JSON.stringify({ type: 'error', file: displayName, offset: 0, message }));
      io.err(`${message} at byte offset 0`);
      return 2;
    }
    try {
      report = replayTranscript(buf.toString('utf8'), options, policy);
    } catch (err) {
      if (err instanceof TranscriptInputError) {
        if (!table) io.out(JSON.stringify({ type: 'error', file: displayName, offset: err.offset, message: err.message }));
        io.err(`${displayName}: transcript unreadable at byte offset ${err.offset}: ${err.message}`);
        return 2;
      }
      throw err;
    }
  } else {
    report = replayCapture(buf, options, policy);
  }

  if (table) for (const line of reportFooter(displayName, report)) io.out(line);
  else {
    for (const e of report.errors) io.out(JSON.stringify(errorJson(displayName, e)));
    io.out(JSON.stringify(summaryJson(displayName, report)));
  }
  for (const e of report.errors) io.err(`${displayName}: damaged at byte offset ${e.offset}: ${e.message}`);
  if (report.errors.length === 0) return 0;
  // Nothing at all could be read: unreadable; otherwise damaged part-way.
  return report.input.packets === 0 ? 2 : 1;
}
