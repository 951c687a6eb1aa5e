import type { Finding } from '@smtpguard/contracts';

/** State changes the gateway must know about; not protection events. */
export type Notice =
  | { kind: 'uninspected'; reason: 'starttls' | 'resource-limit'; detail: string }
  | { kind: 'upstream-aborted'; reason: string }
  | { kind: 'resource-limit'; detail: string }
  | { kind: 'message-complete'; bytes: number; accepted: boolean }
  | { kind: 'message-rejected'; protectionId: string; bytes: number };

/**
 * What one call into the inspector asks the gateway to do, in this order:
 * write `toServer` upstream, write `toClient` to the client (forwarded server bytes and
 * synthesized replies already interleaved in the order the client must see them),
 * record `findings`, then close what is asked.
 */
export interface Verdict {
  toServer: Uint8Array[];
  toClient: Uint8Array[];
  findings: Finding[];
  notices: Notice[];
  /** Close the client connection once `toClient` is written. */
  closeClient: boolean;
  /** Close (abort) the upstream connection at once; if `toServer` is non-empty, write it first. */
  closeServer: boolean;
  /**
   * The inspector holds more unprocessed client input than its high-water mark (it waits
   * for a server reply before it can interpret it). Stop reading the client until a
   * later verdict says `pauseClient: false`.
   */
  pauseClient: boolean;
}

/** The shared, frozen empty list every verdict starts with (read-only for callers). */
export const NOTHING: never[] = Object.freeze([]) as unknown as never[];

export function emptyVerdict(): Verdict {
  return { toServer: NOTHING, toClient: NOTHING, findings: NOTHING, notices: NOTHING, closeClient: false, closeServer: false, pauseClient: false };
}
