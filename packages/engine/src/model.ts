import type { Action, ProtectionId, SettingsOf } from '@smtpguard/contracts';
import type { ParsedMailArgument } from './address.js';

/** One client line as the protections see it (a command, or a SASL response). */
export interface CommandLine {
  /** Upper-cased verb; '' for an empty line; for SASL responses always 'AUTH'. */
  verb: string;
  /** Line bytes without the terminator; only a prefix when `truncated`. */
  readonly line: Buffer;
  /** Bytes after the verb and its space (prefix when truncated). */
  readonly argument: Buffer;
  argumentLength: number;
  /** Full length including the terminator; a lower bound while `truncated`. */
  length: number;
  /** The line outgrew the buffer threshold and is judged by its prefix. */
  truncated: boolean;
  terminator: 'crlf' | 'lf';
  /** Position of the first bare CR inside the line, or -1. */
  bareCrAt: number;
  /** Position of the first NUL, or -1. */
  nulAt: number;
  /** Position of the first control byte other than TAB, CR and LF (NUL included), or -1. */
  controlAt: number;
  /** Position of the first byte >= 0x80, or -1. */
  eightBitAt: number;
  /** A SASL response line (after a 334), not a command. */
  sasl: boolean;
  streamOffset: number;
  /** MAIL/RCPT only. */
  mail?: ParsedMailArgument;
  /** LINE_* bits describing the line (which line triggers it matches). */
  flags: number;
}

/** Every line has this bit. */
export const LINE_ANY = 1;
/** A control byte (other than TAB, CR, LF) or an 8-bit byte. */
export const LINE_BINARY = 2;
/** Ended by a bare LF, or holding a bare CR or a NUL. */
export const LINE_IRREGULAR = 4;

/** Every reply has this bit. */
export const REPLY_ANY = 1;
/** 4xx or 5xx. */
export const REPLY_ERROR = 2;
/** The greeting, or a reply no command is waiting for. */
export const REPLY_FIRST = 4;

/**
 * When a hook can fire, as data the engine checks before calling it (a call per line or
 * reply to every hook is most of the cost of a short command). Omitted: always.
 * Settings-bound, like ignoresVerb; a trigger may be wider than the hook, never narrower.
 */
export interface LineTrigger {
  /** Lines with any of these LINE_* bits. */
  flags: number;
  /** Or lines longer than this (CommandLine.length). */
  longerThan: number;
}

export interface ServerReply {
  code: number;
  /** Lines without terminators (latin1), first line first. */
  lines: string[];
  /** The command it answers; 'GREETING' for the banner, '' when unsolicited. */
  answers: string;
  streamOffset: number;
}

/** What the engine observes on the wire and hands to protections to judge. */
export type WireFact =
  | { kind: 'client-talks-first' }
  | { kind: 'pipelining'; detail: string }
  | { kind: 'ambiguous-end-of-data'; form: string }
  | { kind: 'data-line-too-long'; limit: number }
  | { kind: 'message-too-large'; size: number; limit: number }
  | { kind: 'invalid-reply-line' };

/** Per-message state (reset by RSET, HELO/EHLO, and the end of each message). */
export interface Transaction {
  active: boolean;
  mailFrom: string | undefined;
  rcptCount: number;
  smtputf8: boolean;
  binaryMime: boolean;
  size: number;
}

/** Per-connection state the protections may read. */
export interface SessionView {
  readonly helo: string | undefined;
  readonly capabilities: ReadonlySet<string>;
  readonly transaction: Readonly<Transaction>;
  readonly commandCount: number;
  readonly badReplyCount: number;
  readonly greeted: boolean;
  /** Per-connection counters the protections keep for themselves: slot = the protection's index in the catalog. */
  readonly counters: number[];
}

export type VerdictKind = 'close' | 'reject-command' | 'reject-recipient' | 'reject-message';

export const VERDICT_STRENGTH: Record<VerdictKind, number> = {
  'reject-recipient': 1,
  'reject-command': 2,
  'reject-message': 3,
  close: 4,
};

export interface CodeSignal {
  name: string;
  offset: number;
  weight: number;
  detail?: string;
}

/** A protection's finding on one input: what it saw and what Prevent would do. */
export interface Hit {
  detail: string;
  verdict: VerdictKind;
  signals?: CodeSignal[];
}

/**
 * Hooks a protection provides, with its settings already bound. Made once per policy and
 * shared by every connection: per-connection state goes in `session.counters`, never in the hooks.
 */
export interface ProtectionHooks {
  onLine?(line: CommandLine, session: SessionView): Hit | undefined;
  onCommand?(command: CommandLine, session: SessionView): Hit | undefined;
  /** Omitted: every line. */
  lineTrigger?: LineTrigger;
  /** REPLY_* bits of the replies onReply can fire on; omitted: every reply. */
  replyTrigger?: number;
  /**
   * True when onCommand can never fire for this (upper-cased) verb, whatever the line and
   * the session: the engine then skips the call. Depends on settings only (asked once per verb and policy).
   */
  ignoresVerb?(verb: string): boolean;
  onReply?(reply: ServerReply, session: SessionView): Hit | undefined;
  onFact?(fact: WireFact, session: SessionView): Hit | undefined;
  /** Prevent only: hide this EHLO keyword from the client. */
  masksEhloKeyword?(keyword: string): boolean;
  /** Data limits the body scanner must measure for this protection (0 = none). */
  dataLineLimit?: number;
  messageSizeLimit?: number;
  watchesEndOfData?: boolean;
}

export interface ProtectionModule<Id extends ProtectionId = ProtectionId> {
  id: Id;
  hooks(settings: SettingsOf<Id>): ProtectionHooks;
}

/**
 * One protection with its action, shared by the connections that have the same actions
 * (see policy.ts). The judging hooks are copied out of `hooks` so every
 * ActiveProtection has the same shape (one hidden class: the engine's per-line loops stay
 * monomorphic); they are called without a receiver, so hooks never use `this`.
 */
export interface ActiveProtection {
  id: ProtectionId;
  /** 1 << the protection's index in the catalog: its bit in the policy's per-verb masks. */
  bit: number;
  onLine: ProtectionHooks['onLine'] | null;
  onCommand: ProtectionHooks['onCommand'] | null;
  onReply: ProtectionHooks['onReply'] | null;
  onFact: ProtectionHooks['onFact'] | null;
  lineTrigger: LineTrigger;
  replyTrigger: number;
  action: Exclude<Action, 'inactive'>;
  hooks: ProtectionHooks;
}
