import type { ParsedPath } from './address.js';
import type { Transaction } from './model.js';

/**
 * Per-message state, reset in place (RSET, HELO/EHLO, end of message). The sender is
 * spelled out only when something reads it (a finding's context), not for every MAIL.
 */
export class TransactionState implements Transaction {
  active = false;
  rcptCount = 0;
  smtputf8 = false;
  binaryMime = false;
  size = 0;
  private senderPath: ParsedPath | null = null;
  private senderText: string | undefined = undefined;

  get mailFrom(): string | undefined {
    const path = this.senderPath;
    if (path) {
      this.senderText = path.isNull ? '<>' : `${path.localPart}${path.domain ? `@${path.domain}` : ''}`;
      this.senderPath = null;
    }
    return this.senderText;
  }

  reset(): void {
    this.active = false;
    this.rcptCount = 0;
    this.smtputf8 = false;
    this.binaryMime = false;
    this.size = 0;
    this.senderPath = null;
    this.senderText = undefined;
  }

  /** MAIL accepted for forwarding: a parsed path, or the raw argument text when it did not parse. */
  begin(sender: ParsedPath | string, smtputf8: boolean, binaryMime: boolean): void {
    this.reset();
    this.active = true;
    if (typeof sender === 'string') this.senderText = sender;
    else this.senderPath = sender;
    this.smtputf8 = smtputf8;
    this.binaryMime = binaryMime;
  }
}
