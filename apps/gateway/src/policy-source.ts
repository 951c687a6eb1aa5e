import { EventEmitter } from 'node:events';
import { describeZodError, resolvePolicy, zPolicy, type Action, type ResolvedPolicy } from '@smtpguard/contracts';
import { compilePolicy } from '@smtpguard/engine';
import type { CompiledPolicy } from './inspector.js';

export interface InstalledPolicy {
  compiled: CompiledPolicy;
  resolved: ResolvedPolicy;
  revision: number;
  installedAt: Date;
}

/** A policy input that failed validation; the message names each bad field. */
export class PolicyError extends Error {
  override name = 'PolicyError';
}

/**
 * Validates and compiles a policy document (the contracts' zPolicy shape, e.g. a parsed
 * `--policy` file or a manager install body). Throws PolicyError naming the bad fields.
 */
export function compilePolicyInput(input: unknown, overrideAction?: Action): { compiled: CompiledPolicy; resolved: ResolvedPolicy } {
  const parsed = zPolicy.safeParse(input);
  if (!parsed.success) throw new PolicyError(describeZodError(parsed.error));
  const resolved = resolvePolicy(parsed.data, overrideAction);
  return { compiled: compilePolicy(resolved), resolved };
}

/**
 * Holds the policy the gateway enforces. Swappable at runtime: a connection keeps the
 * policy it started with, new connections get the new one. The fleet link (manager
 * installs) and the standalone `--policy` file both feed it.
 */
export class PolicySource extends EventEmitter<{ change: [InstalledPolicy] }> {
  #current: InstalledPolicy;

  constructor(initial: { compiled: CompiledPolicy; resolved: ResolvedPolicy }) {
    super();
    this.#current = { ...initial, revision: initial.resolved.revision, installedAt: new Date() };
  }

  /** Policy from a document (zPolicy shape); `{}` means every protection at its catalog default. */
  static fromInput(input: unknown, overrideAction?: Action): PolicySource {
    return new PolicySource(compilePolicyInput(input, overrideAction));
  }

  current(): InstalledPolicy {
    return this.#current;
  }

  /** Replace the policy with an already validated one. */
  set(next: { compiled: CompiledPolicy; resolved: ResolvedPolicy }): InstalledPolicy {
    this.#current = { ...next, revision: next.resolved.revision, installedAt: new Date() };
    this.emit('change', this.#current);
    return this.#current;
  }

  /** Validate, compile and install a policy document; throws PolicyError and keeps the old one on a bad input. */
  setFromInput(input: unknown, overrideAction?: Action): InstalledPolicy {
    return this.set(compilePolicyInput(input, overrideAction));
  }
}
