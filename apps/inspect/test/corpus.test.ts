/**
 * Replays EVERY capture in fixtures/corpus (Suricata, Zeek and Arkime test suites: captures
 * nobody here wrote) with the catalog-default policy, and checks per capture:
 * - exactly which protections fire (so both "must fire" and "must not fire"),
 * - that every connection's replies are matched to commands (unmatchedReplies 0) unless
 *   the capture says otherwise, and why,
 * - what is left uninspected and why (STARTTLS, implicit TLS, TCP gap, one-sided capture).
 * INDEX.md in the corpus says what each capture's authors expect; where our verdict
 * differs on purpose the entry says why. A capture added to the corpus without an entry
 * here fails the completeness test.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ProtectionId } from '@smtpguard/contracts';
import { replayCapture, type ReplayReport, type UninspectedReason } from '../src/index.js';

const CORPUS = new URL('../../../fixtures/corpus/', import.meta.url).pathname;

interface Expectation {
  /** Every protection that fires in the capture (default policy); any other firing fails. */
  fires: ProtectionId[];
  /** Sum of unmatched replies over the capture's connections (default 0), with the reason. */
  unmatched?: number;
  /** Reasons some connection is (partly) not inspected. */
  uninspected?: UninspectedReason[];
  /** SMTP connections found (default 1). */
  smtp?: number;
  /** The file is damaged: reading stops at this byte offset. */
  damagedAt?: number;
  /** Why this verdict (especially where it differs from the capture authors' expectation). */
  why?: string;
  /**
   * Engine behaviour believed wrong (reported to the engine author). The exact `fires` set
   * is then not asserted; only `mustNotFire`/`mustFire` that hold either way are.
   */
  engineIssue?: { expected: string; got: string; mustNotFire?: ProtectionId[]; mustFire?: ProtectionId[] };
}

const CLEAN: Expectation = { fires: [] };

const EXPECT: Record<string, Expectation> = {
  // ---- Arkime ----
  'arkime/smtp-data-250.pcap': {
    fires: [],
    unmatched: 1,
    why: 'the server ends with an unsolicited "421" (timeout) that answers no command: legal (RFC 5321 3.8), no finding, but unmatched',
  },
  'arkime/smtp-data-521.pcap': CLEAN,
  'arkime/smtp-decrypted.pcap': {
    fires: [],
    uninspected: ['starttls'],
    smtp: 4,
    why: 'the capture holds the decrypted SMTP after STARTTLS; the gateway would see TLS there, so replay stops inspecting at STARTTLS on purpose',
  },
  'arkime/smtp-html.pcap': {
    fires: [],
    uninspected: ['server-missing'],
    why: 'one crafted client packet on port 8000, found by its HELO; no server side: not inspected rather than blaming the client for talking first',
  },
  'arkime/smtp-moloch-bof.pcap': {
    fires: ['max-data-line-length', 'non-compliant'],
    why: 'the historical Moloch overflow line (1001 bytes) is the data-line finding; non-compliant: the client sends HELO before the greeting and pipelines MAIL/RCPT/DATA/body to a server that never advertised PIPELINING',
  },
  'arkime/smtp-nospaces.pcap': {
    fires: ['non-compliant'],
    why: 'Arkime only parses it; the client pipelines without PIPELINING advertised (Sendmail, HELO-only). Brackets-less MAIL FROM:addr is tolerated (strictAddressSyntax off): not what fires',
  },
  'arkime/smtp-originating.pcap': CLEAN,
  'arkime/smtp-rcpt-553.pcap': CLEAN,
  'arkime/smtp-starttls.pcap': { fires: [], uninspected: ['starttls'] },
  'arkime/smtp-subject-8859-b.pcap': CLEAN,
  'arkime/smtp-subject-8859-multi.pcap': CLEAN,
  'arkime/smtp-subject-8859-q.pcap': CLEAN,
  'arkime/smtp-subject-encoded-empty.pcap': CLEAN,
  'arkime/smtp-subject-gb2312-b.pcap': CLEAN,
  'arkime/smtp-subject-multi-nospace.pcap': {
    fires: [],
    uninspected: ['server-missing'],
    why: 'client-only, mid-stream crafted capture: nothing to match replies against',
  },
  'arkime/smtp-subject-utf8-mixed.pcap': CLEAN,
  'arkime/smtp-subject-utf8-q.pcap': CLEAN,
  'arkime/smtp-subject-windows.pcap': {
    fires: ['non-compliant'],
    why: 'bare LF after DATA and a junk line (server answers 500): RFC 5321 2.3.8 violations Arkime does not judge',
  },
  'arkime/smtp-zip.pcap': CLEAN,
  'arkime/socks5-smtp-503.pcap': {
    fires: [],
    smtp: 0,
    why: 'SMTP inside a SOCKS5 tunnel on port 1080: the stream starts with the SOCKS handshake, so it is neither on an SMTP port nor opened by a greeting/EHLO; the gateway would not see this traffic as SMTP either',
  },
  'arkime/wireshark-bdat.pcap': { fires: [], why: 'null sender, BDAT LAST and the non-standard 225 reply are legal' },

  // ---- suricata-verify-extra ----
  'suricata-verify-extra/bug-1045/smtpsuricataflowbitsFN.pcap': CLEAN,
  'suricata-verify-extra/bug-1449-01/suricata_stackoverflow.pcap': {
    fires: [],
    why: 'multi-KB MIME boundary is inside header lines under 1000 bytes each; DATA without MAIL is accepted by this server and followed as such',
  },
  'suricata-verify-extra/bug-5867-fp-drop-01/input.pcap': { fires: [], why: 'port 225 is found by the 220 greeting' },
  'suricata-verify-extra/bug-6207-1/input.pcap': CLEAN,
  'suricata-verify-extra/bug-6207-2/input.pcap': CLEAN,
  'suricata-verify-extra/bug-7126/input.pcap': { fires: [], why: 'two BDAT LAST mails with BODY=8BITMIME, pipelined: all legal' },
  'suricata-verify-extra/detect-email-received/input.pcap': {
    fires: ['non-compliant', 'unknown-commands'],
    why: 'flowsynth-generated: the 220 greeting has no CRLF and the EHLO reply is a lone "250-" continuation that never ends, so every later reply answers the previous command: the server side is malformed and the findings follow from it (Suricata only checks header rules)',
  },
  'suricata-verify-extra/issue-4220-01-ids/1flowB.pcap': CLEAN,
  'suricata-verify-extra/mime_mime-dec-parse-full-msg-test01/input.pcap': CLEAN,
  'suricata-verify-extra/mime_mime-dec-parse-full-msg-test02/input.pcap': CLEAN,
  'suricata-verify-extra/mime_mime-dec-parse-line-test01/input.pcap': CLEAN,
  'suricata-verify-extra/mime_mime-dec-parse-line-test02/input.pcap': CLEAN,
  'suricata-verify-extra/mime_mime-dec-parse-long-filename01/input.pcap': {
    fires: [],
    why: 'Suricata reports MIME_LONG_FILENAME; no protection here judges MIME parameters',
  },
  'suricata-verify-extra/mime_mime-dec-parse-long-filename02/input.pcap': CLEAN,
  'suricata-verify-extra/mime_mime-dec-parse-odd-len/input.pcap': CLEAN,
  'suricata-verify-extra/mime_mime-dec-parse-rem-sp/input.pcap': CLEAN,
  'suricata-verify-extra/mime_mime-dec-parse-small-rem-inp/input.pcap': CLEAN,
  'suricata-verify-extra/mime_mime-dec-very-small-inp/input.pcap': CLEAN,
  'suricata-verify-extra/mime_mime-quoted-printable/input.pcap': CLEAN,
  'suricata-verify-extra/mime_mime-stream-depth/input.pcap': { fires: [], why: '2 MB, 4 mails under the 10 MB default size limit' },
  'suricata-verify-extra/mime_smtp-mime-encap-8649-baseline/input.pcap': CLEAN,
  'suricata-verify-extra/mime_smtp-mime-encap-8649-combined/input.pcap': CLEAN,

  // ---- suricata-verify ----
  'suricata-verify/bug-3616-smtp/input.pcap': { fires: [], why: 'MAIL FROM: <..> with a space is tolerated by default; dot-stuffing is legal' },
  'suricata-verify/smtp-attachment-md5/input.pcap': CLEAN,
  'suricata-verify/smtp-bdat-bad-tail-next-mail/input.pcap': {
    fires: [],
    why: 'Suricata raises INVALID_BDAT / INVALID_PIPELINED_SEQUENCE; here the server refuses "BDAT 5 X" (521) and closes, and what the client sends after the server closed is not inspected (as at the gateway). No protection judges BDAT argument syntax itself',
  },
  'suricata-verify/smtp-bdat-bad-tail-reply-queue/input.pcap': {
    fires: ['non-compliant'],
    why: 'the server advertises only 8BITMIME and CHUNKING; the client pipelines MAIL/RCPT/DATA anyway (RFC 2920). The reply queue stays in sync (unmatched 0), which is what the test is about',
  },
  'suricata-verify/smtp-bdat-last-next-mail/input.pcap': CLEAN,
  'suricata-verify/smtp-bdat-multichunk-inspection/input.pcap': CLEAN,
  'suricata-verify/smtp-bdat-multichunk-next-mail/input.pcap': CLEAN,
  'suricata-verify/smtp-bdat-pipelined-next-mail/input.pcap': CLEAN,
  'suricata-verify/smtp-bdat-zero-last-next-mail/input.pcap': CLEAN,
  'suricata-verify/smtp-bug-5981/input.pcap': { fires: ['max-data-line-length'], why: 'TRUNCATED_LINE in Suricata: the DATA line over 1000 bytes (detect by default)' },
  'suricata-verify/smtp-bug-5989/input.pcap': {
    fires: ['bad-server-greeting', 'non-compliant'],
    why: 'locally modified capture: its server replies were overwritten (retransmissions with different bytes are reported as overlaps; the first copy, a run of "A", is what is inspected), so the server line is not a reply and the client appears to pipeline',
  },
  'suricata-verify/smtp-bug-6053/input.pcap': {
    fires: [],
    engineIssue: {
      expected:
        'no finding: the 5038-byte "220 ..." greeting ends with CRLF before the client speaks; long lines in both directions are the point of the test',
      got: 'non-compliant x7 (client talks before the greeting, pipelining) and unknown-commands (SASL response taken as a command): a reply line longer than REPLY_LINE_CAP (4 KiB) never completes its reply, so the reply queue slips by one',
      mustNotFire: ['max-command-line-length', 'binary-data'],
    },
  },
  'suricata-verify/smtp-data-rejected/10.7.29.101_49898-178.63.41.150_25.pcap': {
    fires: [],
    why: 'RCPT 553, DATA 554 and 503s: the server rejects, the client pushes its body anyway, which the server reads as commands; nothing a protection should flag',
  },
  'suricata-verify/smtp-ehlo-reset-after-rejected-data/input.pcap': {
    fires: [],
    why: 'Suricata anomalies DATA_COMMAND_REJECTED etc. describe legal behaviour (a 503 to DATA, EHLO mid-session)',
  },
  'suricata-verify/smtp-ehlo-reset/input.pcap': { fires: [], why: 'EHLO mid-transaction is an implicit RSET (RFC 5321 4.1.4), legal' },
  'suricata-verify/smtp-errors/smtperr.pcap': {
    fires: ['bad-server-greeting', 'binary-data', 'max-command-line-length', 'max-data-line-length', 'non-compliant', 'unknown-commands'],
    smtp: 4,
    why: "Suricata's INVALID_REPLY: non-standard/garbled server lines (bad-server-greeting); junk and a TLS ClientHello sent as commands on port 25 (binary-data, bare LF, unknown verbs, one line of 576 bytes); a body line over 1000 bytes",
  },
  'suricata-verify/smtp-extract-url-schemes/input.pcap': {
    fires: [],
    smtp: 1,
    why: 'bare-LF lines inside the body are legal enough for DATA; the capture ends with a stray packet on a swapped tuple (an empty second TCP connection, not SMTP)',
  },
  'suricata-verify/smtp-file-data-01/input.pcap': { fires: ['max-data-line-length'], why: 'its long body line (detect by default); XEXCH50 is advertised but never used' },
  'suricata-verify/smtp-helo-reset-after-rcpt/input.pcap': CLEAN,
  'suricata-verify/smtp-long-DATA-line/input.pcap': { fires: ['max-data-line-length'], why: 'MIME_LONG_LINE in Suricata' },
  'suricata-verify/smtp-long-command/input.pcap': { fires: ['max-command-line-length'], why: 'TRUNCATED_LINE in Suricata: the ~4 KiB EHLO' },
  'suricata-verify/smtp-no-helo-quit/input.pcap': CLEAN,
  'suricata-verify/smtp-no-helo-rset-helo-mail/input.pcap': CLEAN,
  'suricata-verify/smtp-no-helo-rset/input.pcap': CLEAN,
  'suricata-verify/smtp-pipelined-post-data-rset-sequence/input.pcap': { fires: [], why: 'RSET + envelope + DATA after "." with PIPELINING: legal, no false pipelining finding' },
  'suricata-verify/smtp-pipelined-rset-after-complete/input.pcap': CLEAN,
  'suricata-verify/smtp-pipelined-rset-data-replies/input.pcap': {
    fires: ['non-compliant'],
    why: 'INVALID_PIPELINED_SEQUENCE in Suricata: DATA and message data sent before the 354',
  },
  'suricata-verify/smtp-pipelining/input.pcap': {
    fires: ['non-compliant'],
    why: 'Suricata only logs the transaction. Differs on purpose: the python client sends the message body in the same segment as DATA, before the 354 reply; RFC 2920 3.1 ends a batch at DATA',
  },
  'suricata-verify/smtp-quit/input.pcap': {
    fires: [],
    uninspected: ['server-missing'],
    why: 'fragment: the server FINs without sending a byte, then the client sends QUIT',
  },
  'suricata-verify/smtp-raw-extraction/input.pcap': CLEAN,
  'suricata-verify/smtp-rejected-ehlo-preserves-envelope/input.pcap': CLEAN,
  'suricata-verify/smtp-rfc2231/input.pcap': CLEAN,
  'suricata-verify/smtp-rset-starttls/input.pcap': {
    fires: ['bad-server-greeting', 'non-compliant'],
    why: 'OSS-Fuzz crafted: "250" as greeting, bare-LF commands sent before the greeting, STARTTLS pipelined without PIPELINING',
  },
  'suricata-verify/smtp-rset/input.pcap': { fires: [], why: 'Suricata expects 0 bdat_chunk_len_exceeded alerts: no finding here either' },
  'suricata-verify/smtp-startssl/input.pcap': { fires: [], uninspected: ['starttls'] },
  'suricata-verify/smtp-tls-protodetect/input.pcap': {
    fires: [],
    uninspected: ['tls'],
    why: 'port 465, the client starts with a TLS ClientHello (implicit TLS): not inspectable',
  },
  'suricata-verify/smtp-to-comma/10.7.29.101_49898-178.63.41.150_25.pcap': {
    fires: [],
    damagedAt: 3695,
    why: 'hand-edited upstream: packet record 19 has a bogus length; the 18 packets before it are replayed',
  },
  'suricata-verify/smtp-url-base64/smtp-url-b64.pcap': {
    fires: ['bad-server-greeting', 'non-compliant'],
    unmatched: 1,
    why: 'bare LF everywhere; the body ends with <LF>.<LF>, which the server took as end of data but RFC 5321 does not (SMTP smuggling shape, non-compliant), so its "250 queued" answers nothing the gateway saw end',
  },

  // ---- Zeek ----
  'zeek/http-connect-with-smtp.pcap': {
    fires: [],
    smtp: 0,
    why: 'SMTP tunnelled through HTTP CONNECT on port 8240: the stream opens with the HTTP request, so it is not recognised as SMTP (the gateway would not see it as SMTP either)',
  },
  'zeek/mime-header-size-limit.pcap': { fires: [], why: 'Zeek caps MIME header bytes; 400 KB of headers in lines under 1000 bytes is legal SMTP' },
  'zeek/rfc3030-bdat-0-last.pcap': CLEAN,
  'zeek/rfc3030-bdat-example1.pcap': CLEAN,
  'zeek/rfc3030-bdat-multipart-chunked.pcap': CLEAN,
  'zeek/rfc3030-bdat-multipart.pcap': CLEAN,
  'zeek/rfc3030-bdat-nonascii.pcap': {
    fires: ['bad-server-greeting'],
    unmatched: 1,
    why: 'the dummy server answers "BDAT 0 LAST" twice ("250 OK" x2): the second reply answers nothing (tshark also counts 7 replies for 5 commands)',
  },
  'zeek/smtp-attachment-msg.pcap': { fires: [], uninspected: ['server-missing'] },
  'zeek/smtp-bdat-cmd-chunk-size-overflow.pcap': {
    fires: ['non-compliant'],
    why: 'the BDAT line ends CR CR LF: a bare CR in a command (RFC 5321 2.3.8); the server answers 521',
  },
  'zeek/smtp-bdat-cmd-chunk-size-overflow2.pcap': { fires: ['non-compliant'], why: 'same CR CR LF shape' },
  'zeek/smtp-bdat-cmd-invalid.pcapng': {
    fires: [],
    smtp: 3,
    why: 'malformed BDAT arguments refused (521) by the server; nothing passes',
  },
  'zeek/smtp-bdat-cmd-negative-chunk-size.pcap': { fires: ['non-compliant'], why: 'same CR CR LF shape' },
  'zeek/smtp-bdat-gap.pcap': {
    fires: [],
    uninspected: ['gap'],
    why: 'the 1000 missing BDAT bytes are a TCP gap: inspection stops there and says so, rather than reading the rest out of sync',
  },
  'zeek/smtp-bdat-pipeline-8bitmime.pcap': CLEAN,
  'zeek/smtp-mail-transactions-invalid.pcap': {
    fires: ['non-compliant', 'unknown-commands'],
    why: 'EHLO before the banner (client talks first); after DATA is refused, the body lines are commands to the server, which answers 500 ("Hello, Alice", ".")',
  },
  'zeek/smtp-many-addresses.pcap': { fires: ['max-recipients'], why: '600 RCPT in one transaction, default limit 100' },
  'zeek/smtp-multi-addr.pcap': {
    fires: ['bad-server-greeting'],
    unmatched: 1,
    why: 'Exchange sends an unsolicited "451 4.7.0 Timeout" (only 421 may come unasked, RFC 5321 3.8): a reply out of state',
  },
  'zeek/smtp-one-side-only.pcap': { fires: [], uninspected: ['server-missing'] },
  'zeek/smtp.pcap': {
    fires: [],
    smtp: 2,
    why: 'two SMTP sessions; the port-443 and other unrelated streams are not SMTP',
  },
  'zeek/tls-smtp-starttls.pcap': { fires: [], uninspected: ['starttls'] },
};

function captures(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...captures(p));
    else if (/\.pcap(ng)?$/.test(name)) out.push(relative(CORPUS, p));
  }
  return out.sort();
}

const files = captures(CORPUS);

function firing(r: ReplayReport): ProtectionId[] {
  return [...new Set(r.connections.flatMap((c) => c.protections.map((p) => p.protectionId)))].sort();
}

describe('corpus replay', () => {
  it('has an expectation for every capture in the corpus, and no stale ones', () => {
    expect(files.length).toBeGreaterThanOrEqual(100);
    expect(files.filter((f) => !(f in EXPECT))).toEqual([]);
    expect(Object.keys(EXPECT).filter((f) => !files.includes(f))).toEqual([]);
  });

  for (const file of files) {
    it(file, () => {
      const exp = EXPECT[file] ?? CLEAN;
      const r = replayCapture(readFileSync(join(CORPUS, file)));
      expect(r.input.smtpConnections).toBe(exp.smtp ?? 1);
      if (exp.damagedAt !== undefined) {
        expect(r.errors.map((e) => e.offset)).toEqual([exp.damagedAt]);
        expect(r.input.packets).toBeGreaterThan(0);
      } else {
        expect(r.errors).toEqual([]);
      }
      if (exp.engineIssue) {
        const fired = firing(r);
        for (const id of exp.engineIssue.mustNotFire ?? []) expect(fired).not.toContain(id);
        for (const id of exp.engineIssue.mustFire ?? []) expect(fired).toContain(id);
      } else {
        expect(firing(r)).toEqual([...exp.fires].sort());
        const unmatched = r.connections.reduce((a, c) => a + c.unmatchedReplies, 0);
        expect(unmatched).toBe(exp.unmatched ?? 0);
      }
      const reasons = [...new Set(r.connections.map((c) => c.uninspected?.reason).filter((x) => x !== undefined))].sort();
      expect(reasons).toEqual([...(exp.uninspected ?? [])].sort());
      // A gap never passes silently: every gap stops inspection of its connection.
      for (const c of r.connections) if (c.gaps.length > 0 && c.uninspected?.reason !== 'starttls') expect(c.uninspected?.reason).toBe('gap');
    });
  }

  it('STARTTLS captures: commands before TLS are inspected, nothing after', () => {
    const r = replayCapture(readFileSync(join(CORPUS, 'suricata-verify/smtp-startssl/input.pcap')));
    const c = r.connections[0]!;
    expect(c.commands).toBe(2); // EHLO, STARTTLS
    expect(c.uninspected).toMatchObject({ reason: 'starttls' });
    expect(c.bytes.client).toBeGreaterThan(c.inspectedBytes.client); // the TLS records
  });

  it('BDAT captures raise no event and count their messages', () => {
    for (const [file, messages] of [
      ['zeek/rfc3030-bdat-multipart-chunked.pcap', 1],
      ['suricata-verify/smtp-bdat-pipelined-next-mail/input.pcap', 2],
      ['suricata-verify/smtp-rset/input.pcap', 2],
      ['arkime/wireshark-bdat.pcap', 1],
    ] as const) {
      const r = replayCapture(readFileSync(join(CORPUS, file)));
      expect(r.totals.findings, file).toBe(0);
      expect(r.connections[0]!.messages, file).toBe(messages);
    }
  });

  it('the gap in zeek/smtp-bdat-gap is reported with its size and offset', () => {
    const r = replayCapture(readFileSync(join(CORPUS, 'zeek/smtp-bdat-gap.pcap')));
    const c = r.connections[0]!;
    expect(c.gaps).toHaveLength(1);
    expect(c.gaps[0]).toMatchObject({ from: 'client', bytes: 1000 });
    expect(c.uninspected?.detail).toMatch(/1000 client bytes missing/);
  });

  it('the long command is reported as a prevent with its length and offset', () => {
    const events: unknown[] = [];
    replayCapture(readFileSync(join(CORPUS, 'suricata-verify/smtp-long-command/input.pcap')), {
      onEvent: (e) => e.type === 'finding' && events.push(e.finding),
    });
    expect(events).toEqual([
      expect.objectContaining({ protectionId: 'max-command-line-length', action: 'prevent', direction: 'client', streamOffset: 0 }),
    ]);
  });
});
