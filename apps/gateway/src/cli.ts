import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ACTIONS, type Action } from '@smtpguard/contracts';
import { parseTransportKind, type TransportKind } from './transport/relay-socket.js';
import { DEFAULT_TIMEOUTS, parseHostPort, type FailMode, type HostPort, type Timeouts } from './options.js';
import { PolicyError, PolicySource } from './policy-source.js';

export const USAGE = `usage: pnpm gateway --listen HOST:PORT --upstream HOST:PORT [options]

  --listen HOST:PORT          where clients connect (default 127.0.0.1:2525; [::]:2525 for IPv6)
  --upstream HOST:PORT        the protected mail server (required)
  --policy FILE               policy JSON (contracts' policy shape); default: catalog defaults
  --default-action ACTION     prevent|detect|inactive: every protection's action at once
  --events FILE               inspection events as JSON lines (default: stdout)
  --name NAME                 gateway name on events and replies (default: host name)
  --xclient                   send XCLIENT ADDR/PORT when the upstream advertises it
  --proxy-protocol            expect a PROXY v1/v2 header on every connection
  --max-connections N         concurrent clients (default 1000); over it: 421 4.3.2
  --fail-open                 on an engine error pass the session uninspected (default: 421, close)
  --transport native|node     sockets: the native addon (default when built) or node:net
  --timeout-greeting S        seconds (default 300)
  --timeout-command S         seconds (default 300)
  --timeout-data-block S      seconds (default 180)
  --timeout-data-end S        seconds (default 600)
  --shutdown-deadline S       seconds sessions get to finish on SIGTERM/SIGINT (default 30)
  --log-level LEVEL           pino level (default info)
  --metrics HOST:PORT         Prometheus GET /metrics on its own port (default off; 0 = off)

  managed by a smtpguard manager (fleet link):
  --manager URL               the manager, e.g. http://10.0.0.5:8080
  --enroll-key KEY            one-time key from the manager (first start only)
  --data DIR                  keeps the credential, the last installed policy and the event spool
`;

export interface CliConfig {
  listen: HostPort;
  upstream: HostPort;
  policyFile?: string;
  defaultAction?: Action;
  eventsFile?: string;
  name?: string;
  xclient: boolean;
  proxyProtocol: boolean;
  maxConnections: number;
  failMode: FailMode;
  /** Absent: the gateway's default (SMTPGUARD_TRANSPORT, else native when built, else node). */
  transport?: TransportKind;
  timeouts: Timeouts;
  shutdownDeadlineMs: number;
  logLevel: string;
  /** Prometheus endpoint (`--metrics HOST:PORT`); absent = off. */
  metrics?: HostPort;
  /** Fleet link: manager URL, one-time key, data dir. */
  managerUrl?: string;
  enrollKey?: string;
  dataDir?: string;
}

/** A start-up problem: printed as is, exit code 2. */
export class CliError extends Error {
  override name = 'CliError';
}

function seconds(value: string | undefined, flag: string, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new CliError(`${flag}: expected a positive number of seconds, got ${JSON.stringify(value)}`);
  return Math.round(n * 1000);
}

/** Relative paths are relative to where the user ran `pnpm gateway` (INIT_CWD), not the package. */
export function userPath(path: string, env: NodeJS.ProcessEnv = process.env): string {
  return isAbsolute(path) ? path : resolve(env.INIT_CWD ?? process.cwd(), path);
}

/** `--help`: print usage, exit 0. */
export class HelpRequested extends Error {
  override name = 'HelpRequested';
}

export function parseCli(argv: string[], env: NodeJS.ProcessEnv = process.env): CliConfig {
  // `pnpm gateway -- --flag` passes the "--" through.
  if (argv[0] === '--') argv = argv.slice(1);
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        listen: { type: 'string' },
        upstream: { type: 'string' },
        policy: { type: 'string' },
        'default-action': { type: 'string' },
        events: { type: 'string' },
        name: { type: 'string' },
        xclient: { type: 'boolean' },
        'proxy-protocol': { type: 'boolean' },
        'max-connections': { type: 'string' },
        'fail-open': { type: 'boolean' },
        transport: { type: 'string' },
        'timeout-greeting': { type: 'string' },
        'timeout-command': { type: 'string' },
        'timeout-data-block': { type: 'string' },
        'timeout-data-end': { type: 'string' },
        'shutdown-deadline': { type: 'string' },
        'log-level': { type: 'string' },
        metrics: { type: 'string' },
        manager: { type: 'string' },
        'enroll-key': { type: 'string' },
        data: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n\n${USAGE}`);
  }
  if (values.help) throw new HelpRequested(USAGE);
  const str = (k: string) => values[k] as string | undefined;
  if (!str('upstream')) throw new CliError(`--upstream HOST:PORT is required\n\n${USAGE}`);
  const hostPort = (k: string, fallback: string) => {
    try {
      return parseHostPort(str(k) ?? fallback, `--${k}`);
    } catch (err) {
      throw new CliError((err as Error).message);
    }
  };
  const action = str('default-action');
  if (action !== undefined && !(ACTIONS as readonly string[]).includes(action)) {
    throw new CliError(`--default-action: expected one of ${ACTIONS.join('|')}, got ${JSON.stringify(action)}`);
  }
  const max = str('max-connections');
  const maxConnections = max === undefined ? 1000 : Number(max);
  if (!Number.isInteger(maxConnections) || maxConnections < 1) throw new CliError(`--max-connections: expected a positive integer, got ${JSON.stringify(max)}`);
  const config: CliConfig = {
    listen: hostPort('listen', '127.0.0.1:2525'),
    upstream: hostPort('upstream', ''),
    xclient: values.xclient === true,
    proxyProtocol: values['proxy-protocol'] === true,
    maxConnections,
    failMode: values['fail-open'] === true ? 'open' : 'closed',
    timeouts: {
      greeting: seconds(str('timeout-greeting'), '--timeout-greeting', DEFAULT_TIMEOUTS.greeting),
      command: seconds(str('timeout-command'), '--timeout-command', DEFAULT_TIMEOUTS.command),
      dataBlock: seconds(str('timeout-data-block'), '--timeout-data-block', DEFAULT_TIMEOUTS.dataBlock),
      dataEnd: seconds(str('timeout-data-end'), '--timeout-data-end', DEFAULT_TIMEOUTS.dataEnd),
      proxyHeader: DEFAULT_TIMEOUTS.proxyHeader,
    },
    shutdownDeadlineMs: seconds(str('shutdown-deadline'), '--shutdown-deadline', 30_000),
    logLevel: str('log-level') ?? 'info',
  };
  if (str('policy')) config.policyFile = userPath(str('policy')!, env);
  if (str('events')) config.eventsFile = userPath(str('events')!, env);
  if (action) config.defaultAction = action as Action;
  const transport = str('transport');
  if (transport !== undefined) {
    try {
      config.transport = parseTransportKind(transport, '--transport');
    } catch (err) {
      throw new CliError((err as Error).message);
    }
  }
  if (str('name')) config.name = str('name')!;
  const metrics = str('metrics');
  if (metrics !== undefined && metrics !== '0' && metrics !== 'off') config.metrics = hostPort('metrics', '');
  if (str('manager') !== undefined) {
    let url: URL;
    try {
      url = new URL(str('manager')!);
    } catch {
      throw new CliError(`--manager: expected a URL such as http://10.0.0.5:8080, got ${JSON.stringify(str('manager'))}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`--manager: expected an http:// or https:// URL, got ${JSON.stringify(str('manager'))}`);
    if (!str('data')) throw new CliError('--manager needs --data DIR (where the credential, the installed policy and the event spool live)');
    config.managerUrl = url.origin;
    config.dataDir = userPath(str('data')!, env);
    if (str('enroll-key')) config.enrollKey = str('enroll-key')!;
  } else if (str('enroll-key') !== undefined || str('data') !== undefined) {
    throw new CliError('--enroll-key and --data only make sense with --manager URL');
  }
  return config;
}

/** Read, validate and compile the policy file (or the catalog defaults). A bad file names the field. */
export function loadPolicy(file: string | undefined, defaultAction?: Action): PolicySource {
  let input: unknown = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new CliError(`cannot read policy file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    try {
      input = JSON.parse(text);
    } catch (err) {
      throw new CliError(`policy file ${file} is not valid JSON: ${(err as Error).message}`);
    }
  }
  try {
    return PolicySource.fromInput(input, defaultAction);
  } catch (err) {
    if (err instanceof PolicyError) throw new CliError(`invalid policy file ${file}:\n${err.message.replace(/^/gm, '  ')}`);
    throw err;
  }
}
