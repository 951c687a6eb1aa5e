import { resolvePolicy, zPolicy, type Action, type Finding, type PolicyInput, type ProtectionId } from '@smtpguard/contracts';
import { compilePolicy, createInspector, parseTranscript, type Notice, type SmtpInspector, type Verdict } from '../src/index.js';

export interface RunResult {
  toServer: string;
  toClient: string;
  findings: Finding[];
  notices: Notice[];
  closedClient: boolean;
  closedServer: boolean;
  inspector: SmtpInspector;
}

export function policyWith(protections: PolicyInput['protections'] = {}, defaultAction: Action = 'inactive') {
  // Every protection the test does not name is Inactive, so a test sees only its own protection.
  const all = Object.fromEntries(
    Object.entries(resolvePolicy(zPolicy.parse({})).actions).map(([id]) => [id, { action: defaultAction }]),
  ) as Record<ProtectionId, { action: Action }>;
  return compilePolicy(resolvePolicy(zPolicy.parse({ protections: { ...all, ...protections } })));
}

export function only(id: ProtectionId, action: Action, settings?: Record<string, unknown>) {
  return policyWith({ [id]: settings ? { action, settings } : { action } } as PolicyInput['protections']);
}

/** Feeds a transcript, each segment optionally split at the given offsets. */
export function run(
  transcript: string | { from: 'client' | 'server'; bytes: Buffer }[],
  policy = policyWith(),
  split: (segment: Buffer, index: number) => Buffer[] = (b) => [b],
): RunResult {
  const segments = typeof transcript === 'string' ? parseTranscript(transcript) : transcript;
  const inspector = createInspector(policy, { clientAddress: '192.0.2.10', serverAddress: '198.51.100.25', gateway: 'test' });
  const toServer: Buffer[] = [];
  const toClient: Buffer[] = [];
  const findings: Finding[] = [];
  const notices: Notice[] = [];
  let closedClient = false;
  let closedServer = false;
  const take = (v: Verdict) => {
    toServer.push(...v.toServer.map((b) => Buffer.from(b)));
    toClient.push(...v.toClient.map((b) => Buffer.from(b)));
    findings.push(...v.findings);
    notices.push(...v.notices);
    closedClient ||= v.closeClient;
    closedServer ||= v.closeServer;
  };
  segments.forEach((segment, index) => {
    for (const piece of split(segment.bytes, index)) {
      take(segment.from === 'client' ? inspector.fromClient(piece) : inspector.fromServer(piece));
    }
  });
  return {
    toServer: Buffer.concat(toServer).toString('latin1'),
    toClient: Buffer.concat(toClient).toString('latin1'),
    findings,
    notices,
    closedClient,
    closedServer,
    inspector,
  };
}

export const ids = (r: RunResult) => r.findings.map((f) => `${f.protectionId}:${f.action}`);

/** Bytes one side sent in a transcript, concatenated. */
export function sent(transcript: string, from: 'client' | 'server'): string {
  return Buffer.concat(parseTranscript(transcript).filter((s) => s.from === from).map((s) => s.bytes)).toString('latin1');
}

/** Greeting and EHLO exchange most cases start with (server advertises PIPELINING, CHUNKING, SMTPUTF8, STARTTLS). */
export const HELLO = `S: 220 mx.example.com ESMTP
C: EHLO client.example.org
S: 250-mx.example.com
S: 250-PIPELINING
S: 250-SIZE 10240000
S: 250-STARTTLS
S: 250-8BITMIME
S: 250-SMTPUTF8
S: 250 CHUNKING
`;

/** A transcript of the three modes of one case: the engine's output under Detect, Prevent and Inactive. */
export function modes(id: ProtectionId, transcript: string, settings?: Record<string, unknown>) {
  return {
    detect: run(transcript, only(id, 'detect', settings)),
    prevent: run(transcript, only(id, 'prevent', settings)),
    inactive: run(transcript, only(id, 'inactive', settings)),
  };
}

/** Detect and Inactive never change a byte: the peers see exactly what the other side sent. */
export function expectUntouched(r: RunResult, transcript: string) {
  return r.toServer === sent(transcript, 'client') && r.toClient === sent(transcript, 'server') && !r.closedClient;
}
