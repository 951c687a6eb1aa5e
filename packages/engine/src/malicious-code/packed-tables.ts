import { inflateRawSync } from 'node:zlib';

/**
 * A decoder-derived table as tables.generated.ts embeds it (scripts/tables.ts packs it): base64
 * of its raw deflate. Start-up then costs one inflate instead of running the decoder over every
 * case.
 */
export function unpackTable(packed: string): Uint8Array {
  return inflateRawSync(Buffer.from(packed, 'base64'));
}
