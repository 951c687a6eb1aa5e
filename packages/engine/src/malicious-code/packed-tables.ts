/**
 * The decoder-derived tables as tables.generated.ts embeds them (scripts/tables.ts packs them):
 * base64 of varints, the byte length first, then tokens: 2n for n literal bytes (which follow),
 * 2n + 1 and a distance d for n bytes copied from d bytes back (d < n repeats them). Start-up
 * then costs one pass over the bytes instead of running the decoder over every case.
 */
export function unpackTable(packed: string): Uint8Array {
  const src = Uint8Array.from(atob(packed), (c) => c.charCodeAt(0));
  let i = 0;
  const varint = (): number => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const b = src[i++];
      if (b === undefined) throw new Error('packed table ends early');
      v |= (b & 127) << shift;
      if (b < 128) return v;
    }
  };
  const out = new Uint8Array(varint());
  let o = 0;
  while (o < out.length) {
    const token = varint();
    const n = token >>> 1;
    if (n > out.length - o) throw new Error('packed table overflows');
    if (token & 1) {
      const from = o - varint();
      if (from < 0) throw new Error('packed table copies from before its start');
      // Byte by byte that is out[o + k] = out[from + k]: a period of o - from repeated, so each
      // block copies all of it written so far (block starts stay multiples of the period).
      for (let k = 0; k < n; ) {
        const block = Math.min(n - k, o + k - from);
        out.copyWithin(o + k, from, from + block);
        k += block;
      }
    } else {
      out.set(src.subarray(i, i + n), o);
      i += n;
    }
    o += n;
  }
  return out;
}
