;; The loops of StaticScan (static-scan.ts) in WebAssembly: `scan`'s loop over every offset,
;; `printableChains` (the printable-ASCII one), `heads` (the longest chains' heads) and the entry
;; paths before triggers (`entryBefore`, `predecessor`), plus the argument's text class. Each
;; computes what the TypeScript it replaced did, on the same tables (entry paths compute their
;; per-offset table on demand; some steps take 8 or 16 offsets at once with SIMD), so it gives
;; the same chains, lengths, kinds (where execution does not stop), sled ends, triggers, heads,
;; entry points and classes. Why: in JavaScript every typed-array access in these loops
;; re-checks the array's map; here it is one machine load. The loops were a third of the
;; analysis time.
;;
;; Memory (one instance per StaticScan; scan-loops.ts names the same offsets):
;;   0       PTAB, the printable table (u16 entries, index (b1 << 8) | b0; prefix pages after)
;;   131072  the argument bytes
;;   147520  chain (u16 per offset; StaticScan.chain is a view of it, as of the arrays below)
;;   180608  ilen (u8; after a printable scan, bit 5 marks a sled instruction)
;;   196992  kind (u8)
;;   213376  tgt (i32)
;;   278912  linEnd (i32, one more than the argument)
;;   344464  the trigger ring (i32 offsets), 344720 its types (u8)
;;   344784  MAYBE_TRIG (u8 per first byte)
;;   345088  FAST32, 476160 FAST64 (u16 entries, index (b0 << 8) | b1; FAST64 right after FAST32,
;;           so that scanRun indexes both with the mode in bit 16)
;;   607232  the chain heads: 4 offsets (i32), then at 607248 their chain lengths (i32)
;;   607264  the results of a scan (4 x i32)
;;   607280  entry paths: fwdNext slots (i32, one more than the argument), 672832 dist (u16,
;;           two more)
;;   705632  candidate starts (272 x i32: all one scan can give), 706720 sled landings for them
;;           (4 x i32)
;;   720896  PTAB's page for 66 and 67 both (u16 entries, index (b1 << 7) | b2)
;;
;; A loop stops to let TypeScript decode what its table does not cover: it returns a negative
;; code with the offset in `at()`, and its run function, called again, goes on with what
;; TypeScript found (see each loop).
(module
  (memory (export "memory") 12)
  (global $gi (mut i32) (i32.const -1))
  (global $glen (mut i32) (i32.const 0))
  (global $gsled (mut i32) (i32.const 0))
  (global $gb1 (mut i32) (i32.const 0))

;; ---- printableChains -------------------------------------------------------------------------
;; `printableScan(len, minChain)` is the whole scan in one call (the argument copied already):
;; -3 when one of the first 16 bytes is outside 0x20-0x7E (nothing done: most non-ASCII text),
;; else what `printableRun(-1)` returns from the start: 0 when done, -1 (give up: a byte
;; outside 0x20-0x7E or a sled run of 16) or -2: the table entry of the offset `at()` is
;; P.Special (the decoder's answer does not fit an entry; the tables built today have none).
;; Then `printableRun(entry)` resumes with the plain entry TypeScript found for that offset.
;; When done, `printableRun` also runs `heads(len, minChain)`: the loop does not track the
;; longest chain, `heads` finds it (see StaticScan.scanPrintable32).
  (global $gminChain (mut i32) (i32.const 0))
  (func (export "printableScan") (param $len i32) (param $minChain i32) (result i32)
    ;; The first 16 bytes (those present).
    (if (i32.and
          (i8x16.bitmask (v128.or
            (i8x16.lt_u (v128.load offset=131072 (i32.const 0)) (i8x16.splat (i32.const 0x20)))
            (i8x16.gt_u (v128.load offset=131072 (i32.const 0)) (i8x16.splat (i32.const 0x7e)))))
          (select
            (i32.sub (i32.shl (i32.const 1) (local.get $len)) (i32.const 1))
            (i32.const 0xffff)
            (i32.lt_u (local.get $len) (i32.const 16))))
      (then (return (i32.const -3))))
    ;; Execution past the end has an empty chain; a Jcc reaches at most 128 bytes past it.
    (memory.fill (i32.add (i32.const 147520) (i32.shl (local.get $len) (i32.const 1))) (i32.const 0) (i32.const 260))
    ;; The loop reads each offset's two key bytes at once: the one past the end reads as 0.
    (i32.store8 offset=131072 (local.get $len) (i32.const 0))
    (global.set $gi (i32.sub (local.get $len) (i32.const 1)))
    (global.set $glen (local.get $len))
    (global.set $gminChain (local.get $minChain))
    (call $printableRun (i32.const -1)))

  (func (export "at") (result i32) (global.get $gi))

  ;; The entry TypeScript resumed with (-1: none), for the offset `at()`.
  (global $gresumed (mut i32) (i32.const -1))
  (func $printableRun (export "printableRun") (param $resumed i32) (result i32)
    (local $r i32)
    (local.set $r (call $printableLoop (local.get $resumed)))
    (if (i32.eqz (local.get $r))
      (then
        (if (call $sledRun (global.get $glen)) (then (return (i32.const -1))))
        (call $heads (global.get $glen) (global.get $gminChain))))
    (local.get $r))
  ;; Whether 16 offsets in a row of the printable scan's `len` hold sled instructions (bit 5 of
  ;; their lengths): after the loop, 16 offsets at a time, rather than counted in it. Bit k of
  ;; $x stands for offset j - 16 + k: every 16 offsets in a row lie in one such window.
  (func $sledRun (param $len i32) (result i32)
    (local $j i32) (local $prev i32) (local $cur i32) (local $x i32)
    (block $none
      (loop $chunk
        (br_if $none (i32.ge_s (local.get $j) (local.get $len)))
        (local.set $cur (i32.and
          (i8x16.bitmask (i8x16.shl (v128.load offset=180608 (local.get $j)) (i32.const 2)))
          (select
            (i32.sub (i32.shl (i32.const 1) (i32.sub (local.get $len) (local.get $j))) (i32.const 1))
            (i32.const 0xffff)
            (i32.lt_s (i32.sub (local.get $len) (local.get $j)) (i32.const 16)))))
        (local.set $x (i32.or (local.get $prev) (i32.shl (local.get $cur) (i32.const 16))))
        ;; Then bit k stays set where bits k to k + 15 all are.
        (local.set $x (i32.and (local.get $x) (i32.shr_u (local.get $x) (i32.const 1))))
        (local.set $x (i32.and (local.get $x) (i32.shr_u (local.get $x) (i32.const 2))))
        (local.set $x (i32.and (local.get $x) (i32.shr_u (local.get $x) (i32.const 4))))
        (local.set $x (i32.and (local.get $x) (i32.shr_u (local.get $x) (i32.const 8))))
        (if (local.get $x) (then (return (i32.const 1))))
        (local.set $prev (local.get $cur))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $chunk)))
    (i32.const 0))
  (func $printableLoop (param $resumed i32) (result i32)
    (local $i i32) (local $len i32) (local $sibAt i32) (local $b2 i32) (local $entry i32) (local $t i32) (local $x i32) (local $y i32) (local $c i32) (local $invalid i32)
    (local $j i32) (local $b i32) (local $f i32)
    ;; The plain entry of the offset in hand, that of i + 1 when the next one starts: past the
    ;; end, invalid (a length of 16).
    (local $pe i32)
    ;; The inner loop runs down to this offset: 0, or the offset in hand near the end.
    (local $stop i32)
    (local.set $i (global.get $gi))
    (local.set $len (global.get $glen))
    (local.set $pe (i32.const 16))
    (global.set $gresumed (local.get $resumed))
    ;; An empty argument: nothing to scan (the loop below reads offset i first).
    (if (i32.lt_s (local.get $i) (i32.const 0)) (then (return (i32.const 0))))
    ;; The entry of the key at i: this byte and the next (b1 in the high byte; its top bit is
    ;; never set, since the loop has already given up on any byte above 0x7E at i + 1). A
    ;; segment override (0x80) is the instruction at i + 1 with one more byte: the same chain
    ;; and sled bit (invalid when that one is, or already 15 bytes long).
    (local.set $entry (i32.load16_u (i32.shl (i32.load16_u offset=131072 (local.get $i)) (i32.const 1))))
    (local.set $pe (select (i32.add (local.get $pe) (i32.const 1)) (local.get $entry) (i32.and (local.get $entry) (i32.const 0x80))))
    (loop $next
      ;; Most offsets have a plain or invalid entry: those take the inner loop, which leaves
      ;; for a rare entry (resolved below into a plain one, with which it comes back).
      (block $rare
        ;; Only an instruction in the last 14 offsets can be cut by the end (it is at most 15
        ;; bytes long): those take the inner loop one offset at a time, a cut one as invalid, so
        ;; that the loop need not test the end. (Its Jcc targets, up to 126 bytes past
        ;; t <= len, read the chain slots cleared past the end.)
        (local.set $stop (i32.const 0))
        (if (i32.gt_s (i32.add (local.get $i) (i32.const 15)) (local.get $len))
          (then
            (local.set $stop (local.get $i))
            (if (i32.and
                  (i32.eqz (i32.and (local.get $pe) (i32.const 0x50)))
                  (i32.gt_s (i32.add (local.get $i) (i32.and (local.get $pe) (i32.const 15))) (local.get $len)))
              (then (local.set $pe (i32.const 16))))))
        (loop $common
          (br_if $rare (i32.and (local.get $pe) (i32.const 0x40)))
          ;; A plain entry: bits 0-4 the length (16 and up: invalid), bit 5 sled, bits 8-15
          ;; twice a Jcc's displacement. Execution goes on at t = i + length (and at t + the
          ;; displacement); invalid: chain 0, length 0. Without a branch, as invalid entries
          ;; come and go unpredictably in text (an invalid one reads chain slots in memory
          ;; nonetheless, unused).
          (local.set $t (i32.shl (i32.add (local.get $i) (i32.and (local.get $pe) (i32.const 15))) (i32.const 1)))
          (local.set $x (i32.load16_u offset=147520 (local.get $t)))
          (local.set $y (i32.load16_u offset=147520 (i32.add (local.get $t) (i32.shr_u (local.get $pe) (i32.const 8)))))
          (local.set $c (i32.add (select (local.get $x) (local.get $y) (i32.gt_u (local.get $x) (local.get $y))) (i32.const 1)))
          (local.set $invalid (i32.and (local.get $pe) (i32.const 0x10)))
          (i32.store16 offset=147520 (i32.shl (local.get $i) (i32.const 1)) (select (i32.const 0) (local.get $c) (local.get $invalid)))
          ;; The length with the sled bit: the entry's low byte (bits 6 and 7 are clear).
          (i32.store8 offset=180608 (local.get $i) (select (i32.const 0) (local.get $pe) (local.get $invalid)))
          (local.set $pe (select (i32.const 16) (local.get $pe) (local.get $invalid)))
          ;; The entry of i - 1 (at i = 0, that of harmless bytes before the argument, unused).
          (local.set $entry (i32.load16_u (i32.shl (i32.load16_u offset=131071 (local.get $i)) (i32.const 1))))
          (local.set $pe (select (i32.add (local.get $pe) (i32.const 1)) (local.get $entry) (i32.and (local.get $entry) (i32.const 0x80))))
          (local.set $i (i32.sub (local.get $i) (i32.const 1)))
          (br_if $common (i32.ge_s (local.get $i) (local.get $stop))))
        (br_if $next (i32.ge_s (local.get $i) (i32.const 0)))
        (return (i32.const 0)))
      ;; Rare (0x40) with no kind: a byte outside 0x20-0x7E.
      (if (i32.eqz (i32.and (local.get $pe) (i32.const 0xf00))) (then (return (i32.const -1))))
      (local.set $sibAt (i32.add (local.get $i) (i32.const 2)))
      (if (i32.and (local.get $pe) (i32.const 0x200))
        (then
          ;; 66/67 and the prefixes after it (segment, 66, 67), up to the 15-byte limit.
          ;; A byte's main-page entry before the end (key byte 0) tells whether it is one:
          ;; 0x80 (segment) or 0x240 (66/67). f: 1 for 66 seen, 2 for 67.
          (local.set $j (i32.add (local.get $i) (i32.const 1)))
          (local.set $f (i32.shl (i32.const 1) (i32.and (i32.load8_u offset=131072 (local.get $i)) (i32.const 1))))
          (block $core
            (loop $prefixes
              (local.set $b (i32.load8_u offset=131072 (local.get $j)))
              (local.set $x (i32.load16_u (i32.shl (local.get $b) (i32.const 1))))
              (br_if $core (i32.and (i32.ne (local.get $x) (i32.const 0x80)) (i32.ne (local.get $x) (i32.const 0x240))))
              (local.set $f
                (i32.or (local.get $f)
                  (select
                    (i32.shl (i32.const 1) (i32.and (local.get $b) (i32.const 1)))
                    (i32.const 0)
                    (i32.eq (local.get $x) (i32.const 0x240)))))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br_if $prefixes (i32.lt_s (local.get $j) (i32.add (local.get $i) (i32.const 15))))))
          (if (i32.ge_s (local.get $j) (i32.add (local.get $i) (i32.const 15)))
            (then (local.set $pe (i32.const 16)))
            (else
              ;; The entry of the instruction at j (0 past the end, as in the key) in the page
              ;; of the 66/67 seen (66: 65536, 67: 98304, both: 720896), which counts them;
              ;; the other prefixes add a byte each (no prefix but 66 and 67 changes the
              ;; length, and those only once).
              (local.set $sibAt (i32.add (local.get $j) (i32.const 1)))
              (local.set $b2
                (select
                  (i32.load8_u offset=131072 (local.get $sibAt))
                  (i32.const 0)
                  (i32.lt_s (local.get $sibAt) (local.get $len))))
              (local.set $pe
                (i32.add
                  (i32.load16_u
                    (i32.add
                      (select
                        (i32.const 720896)
                        (i32.add (i32.const 32768) (i32.shl (local.get $f) (i32.const 15)))
                        (i32.eq (local.get $f) (i32.const 3)))
                      (i32.shl (i32.or (i32.shl (local.get $b) (i32.const 7)) (local.get $b2)) (i32.const 1))))
                  (i32.sub
                    (i32.sub (local.get $j) (local.get $i))
                    (select (i32.const 2) (i32.const 1) (i32.eq (local.get $f) (i32.const 3))))))
              (local.set $sibAt (i32.add (local.get $sibAt) (i32.const 1)))))))
      (if (i32.eq (i32.and (local.get $pe) (i32.const 0x440)) (i32.const 0x440))
        (then
          ;; SIB base 5 adds a disp32.
          (local.set $pe
            (i32.add
              (i32.and (local.get $pe) (i32.const -1089))
              (select
                (i32.const 4)
                (i32.const 0)
                (i32.and
                  (i32.lt_s (local.get $sibAt) (local.get $len))
                  (i32.eq (i32.and (i32.load8_u offset=131072 (local.get $sibAt)) (i32.const 7)) (i32.const 5))))))))
      (if (i32.eq (i32.and (local.get $pe) (i32.const 0x840)) (i32.const 0x840))
        (then
          ;; The full decoder's entry: the one TypeScript resumed with, or ask for it
          ;; (keeping the scan's state).
          (if (i32.lt_s (global.get $gresumed) (i32.const 0))
            (then
              (global.set $gi (local.get $i))
              (return (i32.const -2))))
          (local.set $pe (global.get $gresumed))
          (global.set $gresumed (i32.const -1))))
      (br $next))
    (unreachable))


;; ---- scan ----------------------------------------------------------------------------------
;; `scanBegin(len, mode64)` starts a scan (sentinels at len included); `scanRun(0)` goes on and
;; returns 0 when done, or -2: the offset `at()` needs StaticScan.slowOffset, which fills that
;; offset's entries. Then `scanRun(t)` resumes with the trigger type t slowOffset found (0 for
;; none). When done, the results are at
;; 607264 (i32 each): the longest chain, where it starts, how many triggers went through the
;; ring, the longest run of sled-instruction offsets.
  (global $smode64 (mut i32) (i32.const 0))
  (global $snt (mut i32) (i32.const 0))
  (global $smaxSled (mut i32) (i32.const 0))
  ;; Whether the loop stopped for slowOffset.
  (global $spending (mut i32) (i32.const 0))


  (func (export "scanBegin") (param $len i32) (param $mode64 i32)
    (global.set $gi (i32.sub (local.get $len) (i32.const 1)))
    (global.set $glen (local.get $len))
    (global.set $smode64 (local.get $mode64))
    (global.set $snt (i32.const 0))
    (global.set $gsled (i32.const 0))
    (global.set $smaxSled (i32.const 0))
    (global.set $gb1 (i32.shl (local.get $mode64) (i32.const 16)))
    (global.set $spending (i32.const 0))
    ;; Execution that falls off the end has an empty chain and ends a sled there.
    (i32.store16 offset=147520 (i32.shl (local.get $len) (i32.const 1)) (i32.const 0))
    (i32.store offset=278912 (i32.shl (local.get $len) (i32.const 2)) (local.get $len)))

  (func (export "scanRun") (param $trig i32) (result i32)
    (local $i i32) (local $len i32) (local $nt i32)
    (local $sled i32) (local $maxSled i32) (local $b1 i32) (local $trigMask i32)
    (local $b0 i32) (local $e i32) (local $cls i32) (local $n i32) (local $next i32) (local $c i32)
    (local $k i32) (local $tg i32) (local $inside i32) (local $tc i32) (local $m i32) (local $le i32)
    (local $b2 i32)
    (local.set $i (global.get $gi))
    (local.set $len (global.get $glen))
    (local.set $nt (global.get $snt))
    (local.set $sled (global.get $gsled))
    (local.set $maxSled (global.get $smaxSled))
    (local.set $b1 (global.get $gb1))
    (local.set $trigMask (select (i32.const 3) (i32.const 1) (global.get $smode64)))
    (if (global.get $spending)
      (then
        ;; slowOffset filled offset i: the sled run, as for any offset (the loop takes its
        ;; trigger).
        (if (i32.gt_s (i32.load offset=278912 (i32.shl (local.get $i) (i32.const 2))) (local.get $i))
          (then
            (local.set $sled (i32.add (local.get $sled) (i32.const 1)))
            (if (i32.gt_s (local.get $sled) (local.get $maxSled)) (then (local.set $maxSled (local.get $sled)))))
          (else (local.set $sled (i32.const 0))))
        (global.set $spending (i32.const 0))
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))))
    ;; No calls in the loop: the values it keeps in registers would be saved around them.
    (block $done
      (loop $next
        ;; The trigger type of the offset done last (i + 1), if any, into the ring.
        (if (local.get $trig)
          (then
            (i32.store offset=344464 (i32.shl (i32.and (local.get $nt) (i32.const 63)) (i32.const 2)) (i32.add (local.get $i) (i32.const 1)))
            (i32.store8 offset=344720 (i32.and (local.get $nt) (i32.const 63)) (local.get $trig))
            (local.set $nt (i32.add (local.get $nt) (i32.const 1)))
            (local.set $trig (i32.const 0))))
        (br_if $done (i32.lt_s (local.get $i) (i32.const 0)))
        (local.set $b0 (i32.load8_u offset=131072 (local.get $i)))
        ;; $b1: the byte after, and the mode in bit 16: FAST64 follows FAST32.
        (local.set $e (i32.load16_u offset=345088
          (i32.shl (i32.or (i32.shl (local.get $b0) (i32.const 8)) (local.get $b1)) (i32.const 1))))
        (local.set $b1 (i32.or (local.get $b0) (i32.and (local.get $b1) (i32.const 0x10000))))
        (local.set $cls (i32.and (local.get $e) (i32.const 0x70)))
        (block $continue
          (block $zero
            (block $slow
              (if (i32.eq (local.get $cls) (i32.const 0x10))
                (then
                  ;; C_NORMAL: a plain instruction (F_SIB, rare: a SIB byte with base 5 adds a
                  ;; disp32).
                  (local.set $n (i32.and (local.get $e) (i32.const 15)))
                  (if (i32.and (local.get $e) (i32.const 0x100))
                    (then
                      (local.set $n (i32.add (local.get $n)
                        (select (i32.const 4) (i32.const 0)
                          (i32.and
                            (i32.lt_s (i32.add (local.get $i) (i32.const 2)) (local.get $len))
                            (i32.eq (i32.and (i32.load8_u offset=131074 (local.get $i)) (i32.const 7)) (i32.const 5))))))))
                  (local.set $next (i32.add (local.get $i) (local.get $n)))
                  (br_if $zero (i32.gt_s (local.get $next) (local.get $len)))
                  (i32.store8 offset=180608 (local.get $i) (local.get $n))
                  (i32.store8 offset=196992 (local.get $i) (i32.const 0))
                  (local.set $c (i32.add (i32.load16_u offset=147520 (i32.shl (local.get $next) (i32.const 1))) (i32.const 1)))
                  (local.set $c (select (i32.const 60000) (local.get $c) (i32.gt_u (local.get $c) (i32.const 60000))))
                  (i32.store16 offset=147520 (i32.shl (local.get $i) (i32.const 1)) (local.get $c))
                  ;; F_SLED: the straight-line run goes on to where the next one ends. (Without
                  ;; branches: sled and other instructions alternate unpredictably.)
                  (i32.store offset=278912 (i32.shl (local.get $i) (i32.const 2))
                    (select
                      (i32.load offset=278912 (i32.shl (local.get $next) (i32.const 2)))
                      (local.get $i)
                      (i32.and (local.get $e) (i32.const 0x80))))
                  (local.set $sled (select (i32.add (local.get $sled) (i32.const 1)) (i32.const 0) (i32.and (local.get $e) (i32.const 0x80))))
                  (local.set $maxSled (select (local.get $sled) (local.get $maxSled) (i32.gt_s (local.get $sled) (local.get $maxSled))))
                  (if (i32.and
                        (i32.eqz (i32.and (local.get $e) (i32.const 0x80)))
                        (i32.ne (i32.and (i32.load8_u offset=344784 (local.get $b0)) (local.get $trigMask)) (i32.const 0)))
                    (then
                          ;; static-scan.ts normalTrigger: an FPU environment store (2) or, in
                          ;; 64-bit mode, a RIP-relative lea (5).
                          (local.set $m (select (i32.load8_u offset=131073 (local.get $i)) (i32.const 0)
                            (i32.lt_s (i32.add (local.get $i) (i32.const 1)) (local.get $len))))
                          (local.set $b2 (select (i32.load8_u offset=131074 (local.get $i)) (i32.const -1)
                            (i32.lt_s (i32.add (local.get $i) (i32.const 2)) (local.get $len))))
                          (local.set $trig (block $found (result i32)
                            (if (i32.and
                                  (i32.or (i32.eq (local.get $b0) (i32.const 0xd9)) (i32.eq (local.get $b0) (i32.const 0xdd)))
                                  (i32.and (i32.lt_u (local.get $m) (i32.const 0xc0)) (i32.eq (i32.and (local.get $m) (i32.const 0x38)) (i32.const 0x30))))
                              (then (br $found (i32.const 2))))
                            (if (i32.and
                                  (i32.and (i32.eq (local.get $b0) (i32.const 0x0f)) (i32.eq (local.get $m) (i32.const 0xae)))
                                  (i32.and (i32.lt_u (local.get $b2) (i32.const 0xc0)) (i32.eqz (i32.and (local.get $b2) (i32.const 0x38)))))
                              (then (br $found (i32.const 2))))
                            (if (i32.eqz (global.get $smode64)) (then (br $found (i32.const 0))))
                            (if (i32.and (i32.eq (local.get $b0) (i32.const 0x8d)) (i32.eq (i32.and (local.get $m) (i32.const 0xc7)) (i32.const 5)))
                              (then (br $found (i32.const 5))))
                            (if (i32.and
                                  (i32.and (i32.eq (i32.and (local.get $b0) (i32.const 0xf0)) (i32.const 0x40)) (i32.eq (local.get $m) (i32.const 0x8d)))
                                  (i32.and (i32.ge_s (local.get $b2) (i32.const 0)) (i32.eq (i32.and (local.get $b2) (i32.const 0xc7)) (i32.const 5))))
                              (then (br $found (i32.const 5))))
                            (i32.const 0)))))
                  (br $continue)))
              (br_if $zero (i32.eq (local.get $cls) (i32.const 0x20)))
              (if (i32.eq (local.get $cls) (i32.const 0x30))
                (then
                  ;; C_BRANCH: Jcc/Jmp/Loop rel8, call/jmp rel32.
                  (local.set $sled (i32.const 0))
                  (local.set $n (i32.and (local.get $e) (i32.const 15)))
                  (local.set $next (i32.add (local.get $i) (local.get $n)))
                  (br_if $zero (i32.gt_s (local.get $next) (local.get $len)))
                  (local.set $k (i32.and (i32.shr_u (local.get $e) (i32.const 9)) (i32.const 15)))
                  (i32.store8 offset=180608 (local.get $i) (local.get $n))
                  (i32.store8 offset=196992 (local.get $i) (local.get $k))
                  (i32.store offset=278912 (i32.shl (local.get $i) (i32.const 2)) (local.get $i))
                  ;; Without branches: the kinds, lengths and directions come in no predictable
                  ;; order. (The rel32 read past a rel8 one is not used.)
                  (local.set $tg (i32.add (local.get $next)
                    (select
                      (i32.load8_s offset=131073 (local.get $i))
                      (i32.load offset=131073 align=1 (local.get $i))
                      (i32.eq (local.get $n) (i32.const 2)))))
                  (local.set $inside (i32.lt_u (local.get $tg) (local.get $len)))
                  (i32.store offset=213376 (i32.shl (local.get $i) (i32.const 2))
                    (select (local.get $tg) (i32.const -1) (local.get $inside)))
                  ;; The target's chain when it lies ahead, else 0.
                  (local.set $tc (i32.and (local.get $inside) (i32.gt_s (local.get $tg) (local.get $i))))
                  (local.set $tc (select
                    (i32.load16_u offset=147520 (i32.shl (select (local.get $tg) (i32.const 0) (local.get $tc)) (i32.const 1)))
                    (i32.const 0)
                    (local.get $tc)))
                  ;; Jmp (2) and Call (3) go only to the target; Jcc and Loop also fall through.
                  (local.set $m (i32.load16_u offset=147520 (i32.shl (local.get $next) (i32.const 1))))
                  (local.set $c (i32.add
                    (select
                      (local.get $tc)
                      (select (local.get $tc) (local.get $m) (i32.gt_u (local.get $tc) (local.get $m)))
                      (i32.lt_u (i32.sub (local.get $k) (i32.const 2)) (i32.const 2)))
                    (i32.const 1)))
                  (local.set $c (select (i32.const 60000) (local.get $c) (i32.gt_u (local.get $c) (i32.const 60000))))
                  (i32.store16 offset=147520 (i32.shl (local.get $i) (i32.const 1)) (local.get $c))
                  ;; Triggers: a call into the argument (T_CALL 1) or a branch back (T_BACK 4).
                  (local.set $trig (select
                    (select (i32.const 1) (i32.const 4) (i32.eq (local.get $k) (i32.const 3)))
                    (i32.const 0)
                    (i32.and (local.get $inside)
                      (i32.or (i32.eq (local.get $k) (i32.const 3)) (i32.lt_s (local.get $tg) (local.get $i))))))
                  (br $continue)))
              (if (i32.eq (local.get $cls) (i32.const 0x40))
                (then
                  ;; C_STOP: ret, indirect jmp/call: valid, but execution cannot be followed.
                  (local.set $sled (i32.const 0))
                  (local.set $n (i32.add (i32.and (local.get $e) (i32.const 15))
                    (select (i32.const 4) (i32.const 0)
                      (i32.and
                        (i32.and
                          (i32.ne (i32.and (local.get $e) (i32.const 0x100)) (i32.const 0))
                          (i32.lt_s (i32.add (local.get $i) (i32.const 2)) (local.get $len)))
                        (i32.eq (i32.and (i32.load8_u offset=131074 (local.get $i)) (i32.const 7)) (i32.const 5))))))
                  (br_if $zero (i32.gt_s (i32.add (local.get $i) (local.get $n)) (local.get $len)))
                  (i32.store8 offset=180608 (local.get $i) (local.get $n))
                  (i32.store8 offset=196992 (local.get $i) (i32.and (i32.shr_u (local.get $e) (i32.const 9)) (i32.const 15)))
                  (i32.store16 offset=147520 (i32.shl (local.get $i) (i32.const 1)) (i32.const 1))
                  (i32.store offset=278912 (i32.shl (local.get $i) (i32.const 2)) (local.get $i))
                  (br $continue)))
              (if (i32.eq (local.get $cls) (i32.const 0x50))
                (then
                  ;; C_SEG: the prefix plus the plain instruction at i + 1 (at most 14 bytes).
                  (local.set $m (select
                    (i32.load8_u offset=180609 (local.get $i))
                    (i32.const 0)
                    (i32.lt_s (i32.add (local.get $i) (i32.const 1)) (local.get $len))))
                  (br_if $zero (i32.eqz (local.get $m)))
                  (if (i32.and
                        (i32.eqz (i32.load8_u offset=196993 (local.get $i)))
                        (i32.lt_u (local.get $m) (i32.const 15)))
                    (then
                      (i32.store8 offset=180608 (local.get $i) (i32.add (local.get $m) (i32.const 1)))
                      (i32.store8 offset=196992 (local.get $i) (i32.const 0))
                      (local.set $c (i32.load16_u offset=147522 (i32.shl (local.get $i) (i32.const 1))))
                      (i32.store16 offset=147520 (i32.shl (local.get $i) (i32.const 1)) (local.get $c))
                      (local.set $le (i32.load offset=278916 (i32.shl (local.get $i) (i32.const 2))))
                      (if (i32.gt_s (local.get $le) (i32.add (local.get $i) (i32.const 1)))
                        (then
                          (i32.store offset=278912 (i32.shl (local.get $i) (i32.const 2)) (local.get $le))
                          (local.set $sled (i32.add (local.get $sled) (i32.const 1)))
                          (if (i32.gt_s (local.get $sled) (local.get $maxSled)) (then (local.set $maxSled (local.get $sled)))))
                        (else
                          (i32.store offset=278912 (i32.shl (local.get $i) (i32.const 2)) (local.get $i))
                          (local.set $sled (i32.const 0))))
                      (br $continue)))
                  ;; The prefix plus a branch or a stop (ret, indirect jmp/call) at i + 1: the
                  ;; same kind and, for a relative branch, the same target (it counts from the
                  ;; end, which is the same); but "ahead" and "back" are seen from i. Gates go to
                  ;; slowOffset.
                  (local.set $k (i32.load8_u offset=196993 (local.get $i)))
                  (if (i32.and (i32.lt_u (local.get $m) (i32.const 15)) (i32.le_u (local.get $k) (i32.const 7)))
                    (then
                      (local.set $sled (i32.const 0))
                      (local.set $next (i32.add (local.get $i) (i32.add (local.get $m) (i32.const 1))))
                      (i32.store8 offset=180608 (local.get $i) (i32.add (local.get $m) (i32.const 1)))
                      (i32.store8 offset=196992 (local.get $i) (local.get $k))
                      (i32.store offset=278912 (i32.shl (local.get $i) (i32.const 2)) (local.get $i))
                      (local.set $c (i32.const 1))
                      (if (i32.and (i32.ne (local.get $k) (i32.const 4)) (i32.lt_u (local.get $k) (i32.const 6)))
                        (then
                          (local.set $tg (i32.load offset=213380 (i32.shl (local.get $i) (i32.const 2))))
                          (i32.store offset=213376 (i32.shl (local.get $i) (i32.const 2)) (local.get $tg))
                          (local.set $tc (i32.const 0))
                          (if (i32.gt_s (local.get $tg) (local.get $i))
                            (then (local.set $tc (i32.load16_u offset=147520 (i32.shl (local.get $tg) (i32.const 1))))))
                          ;; Jmp (2) and Call (3) go only to the target; Jcc and Loop also fall through.
                          (if (i32.lt_u (i32.sub (local.get $k) (i32.const 2)) (i32.const 2))
                            (then (local.set $c (i32.add (local.get $tc) (i32.const 1))))
                            (else
                              (local.set $m (i32.load16_u offset=147520 (i32.shl (local.get $next) (i32.const 1))))
                              (local.set $c (i32.add
                                (select (local.get $tc) (local.get $m) (i32.gt_u (local.get $tc) (local.get $m)))
                                (i32.const 1)))))
                          (local.set $c (select (i32.const 60000) (local.get $c) (i32.gt_u (local.get $c) (i32.const 60000))))
                          (if (i32.and (i32.ge_s (local.get $tg) (i32.const 0))
                                (i32.or (i32.eq (local.get $k) (i32.const 3)) (i32.lt_s (local.get $tg) (local.get $i))))
                            (then (local.set $trig (select (i32.const 1) (i32.const 4) (i32.eq (local.get $k) (i32.const 3))))))))
                      (i32.store16 offset=147520 (i32.shl (local.get $i) (i32.const 1)) (local.get $c))
                      (br $continue)))))
              ;; Everything else (other prefixes, REX, 0F escapes, VEX, gates): slowOffset.
              )
            ;; $slow: hand offset i to TypeScript, keeping the scan's state.
            (global.set $gi (local.get $i))
            (global.set $snt (local.get $nt))
            (global.set $gsled (local.get $sled))
            (global.set $smaxSled (local.get $maxSled))
            (global.set $gb1 (local.get $b1))
            (global.set $spending (i32.const 1))
            (return (i32.const -2)))
          ;; $zero: execution stops before offset i (its kind is never read: see `kind`).
          (i32.store8 offset=180608 (local.get $i) (i32.const 0))
          (i32.store16 offset=147520 (i32.shl (local.get $i) (i32.const 1)) (i32.const 0))
          (i32.store offset=278912 (i32.shl (local.get $i) (i32.const 2)) (local.get $i))
          (local.set $sled (i32.const 0)))
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (br $next)))
    (call $longestChain (local.get $len))
    (i32.store offset=607272 (i32.const 0) (local.get $nt))
    (i32.store offset=607276 (i32.const 0) (local.get $maxSled))
    (i32.const 0))
  ;; The longest chain of the scan of len bytes and where it starts (the leftmost on ties) into
  ;; 607264, 607268 (0 and -1 when execution stops at every offset). After the loop, 8 chains
  ;; at a time, rather than compared at each offset in it.
  (func $longestChain (param $len i32)
    (local $i i32) (local $max i32) (local $lanes v128) (local $at i32) (local $hit i32)
    (block $tail
      (loop $wide
        (br_if $tail (i32.gt_s (i32.add (local.get $i) (i32.const 8)) (local.get $len)))
        (local.set $lanes (i16x8.max_u (local.get $lanes) (v128.load offset=147520 (i32.shl (local.get $i) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $wide)))
    (local.set $lanes (i16x8.max_u (local.get $lanes) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $lanes) (local.get $lanes))))
    (local.set $lanes (i16x8.max_u (local.get $lanes) (i8x16.shuffle 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 (local.get $lanes) (local.get $lanes))))
    (local.set $lanes (i16x8.max_u (local.get $lanes) (i8x16.shuffle 2 3 0 1 2 3 0 1 2 3 0 1 2 3 0 1 (local.get $lanes) (local.get $lanes))))
    (local.set $max (i16x8.extract_lane_u 0 (local.get $lanes)))
    (block $done
      (loop $last
        (br_if $done (i32.ge_s (local.get $i) (local.get $len)))
        (local.set $max (call $maxU (local.get $max) (i32.load16_u offset=147520 (i32.shl (local.get $i) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $last)))
    (local.set $at (i32.const -1))
    (if (local.get $max)
      (then
        (local.set $lanes (i16x8.splat (local.get $max)))
        (local.set $at (i32.const 0))
        (block $found
          (loop $find
            (if (i32.le_s (i32.add (local.get $at) (i32.const 8)) (local.get $len))
              (then
                (local.set $hit (i8x16.bitmask (i16x8.eq (local.get $lanes) (v128.load offset=147520 (i32.shl (local.get $at) (i32.const 1))))))
                (if (local.get $hit)
                  (then
                    (local.set $at (i32.add (local.get $at) (i32.shr_u (i32.ctz (local.get $hit)) (i32.const 1))))
                    (br $found)))
                (local.set $at (i32.add (local.get $at) (i32.const 8)))
                (br $find)))
            (br_if $found (i32.eq (i32.load16_u offset=147520 (i32.shl (local.get $at) (i32.const 1))) (local.get $max)))
            (local.set $at (i32.add (local.get $at) (i32.const 1)))
            (br $find)))))
    (i32.store offset=607264 (i32.const 0) (local.get $max))
    (i32.store offset=607268 (i32.const 0) (local.get $at)))

  (func $maxU (param $a i32) (param $b i32) (result i32)
    (select (local.get $a) (local.get $b) (i32.gt_u (local.get $a) (local.get $b))))

;; ---- heads ---------------------------------------------------------------------------------
;; `heads(len, minChain)`: the 4 longest chains of at least minChain instructions that start at a
;; head (an offset no earlier instruction falls into), longest first (leftmost on ties); unused
;; slots hold offset -1, length 0.
  (func $heads (export "heads") (param $len i32) (param $floor i32)
    (local $i i32) (local $c i32) (local $k i32) (local $reached i32) (local $floors v128) (local $ge i32)
    (i64.store offset=607232 (i32.const 0) (i64.const -1))
    (i64.store offset=607240 (i32.const 0) (i64.const -1))
    (i64.store offset=607248 (i32.const 0) (i64.const 0))
    (i64.store offset=607256 (i32.const 0) (i64.const 0))
    (local.set $floors (call $floorLanes (local.get $floor)))
    (block $done
      (loop $next
        ;; Most chains are below the floor: skip 32 at a time, then eight at a time to the first
        ;; that is not.
        (block $near
          (loop $skip32
            (br_if $near (i32.gt_s (i32.add (local.get $i) (i32.const 32)) (local.get $len)))
            (br_if $near (v128.any_true (i16x8.ge_u
              (i16x8.max_u
                (i16x8.max_u
                  (v128.load offset=147520 (i32.shl (local.get $i) (i32.const 1)))
                  (v128.load offset=147536 (i32.shl (local.get $i) (i32.const 1))))
                (i16x8.max_u
                  (v128.load offset=147552 (i32.shl (local.get $i) (i32.const 1)))
                  (v128.load offset=147568 (i32.shl (local.get $i) (i32.const 1)))))
              (local.get $floors))))
            (local.set $i (i32.add (local.get $i) (i32.const 32)))
            (br $skip32)))
        (block $skipped
          (loop $skip
            (br_if $skipped (i32.gt_s (i32.add (local.get $i) (i32.const 8)) (local.get $len)))
            (local.set $ge (i8x16.bitmask (i16x8.ge_u
              (v128.load offset=147520 (i32.shl (local.get $i) (i32.const 1)))
              (local.get $floors))))
            (if (local.get $ge)
              (then
                (local.set $i (i32.add (local.get $i) (i32.shr_u (i32.ctz (local.get $ge)) (i32.const 1))))
                (br $skipped)))
            (local.set $i (i32.add (local.get $i) (i32.const 8)))
            (br $skip)))
        (br_if $done (i32.ge_s (local.get $i) (local.get $len)))
        (local.set $c (i32.load16_u offset=147520 (i32.shl (local.get $i) (i32.const 1))))
        (if (i32.ge_u (local.get $c) (local.get $floor))
          (then
            ;; A head: no instruction of the 15 bytes before ends exactly here. Lane k holds the
            ;; length at i - 16 + k (without a printable scan's sled bit), which ends at i when
            ;; it is 16 - k (lane 0: never); lanes before offset 0 do not count.
            (local.set $reached (i32.and
              (i8x16.bitmask (i8x16.eq
                (v128.and (v128.load offset=180592 (local.get $i)) (i8x16.splat (i32.const 31)))
                (v128.const i8x16 16 15 14 13 12 11 10 9 8 7 6 5 4 3 2 1)))
              (i32.shl (i32.const -1) (select (i32.sub (i32.const 16) (local.get $i)) (i32.const 0) (i32.lt_s (local.get $i) (i32.const 16))))))
            (if (i32.eqz (local.get $reached))
              (then
                ;; Insert it in order (slot k, from the last one up), then raise the floor when full.
                (local.set $k (i32.const 3))
                (block $placed
                  (loop $shift
                    (br_if $placed (i32.eqz (local.get $k)))
                    (br_if $placed (i32.ge_u (i32.load offset=607244 (i32.shl (local.get $k) (i32.const 2))) (local.get $c)))
                    (i32.store offset=607248 (i32.shl (local.get $k) (i32.const 2))
                      (i32.load offset=607244 (i32.shl (local.get $k) (i32.const 2))))
                    (i32.store offset=607232 (i32.shl (local.get $k) (i32.const 2))
                      (i32.load offset=607228 (i32.shl (local.get $k) (i32.const 2))))
                    (local.set $k (i32.sub (local.get $k) (i32.const 1)))
                    (br $shift)))
                (i32.store offset=607248 (i32.shl (local.get $k) (i32.const 2)) (local.get $c))
                (i32.store offset=607232 (i32.shl (local.get $k) (i32.const 2)) (local.get $i))
                (if (i32.ge_u (i32.load offset=607260 (i32.const 0)) (local.get $floor))
                  (then
                    (local.set $floor (i32.add (i32.load offset=607260 (i32.const 0)) (i32.const 1)))
                    (local.set $floors (call $floorLanes (local.get $floor)))))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))
  ;; The floor in each u16 lane (capped: the loop compares each offset it stops at again).
  (func $floorLanes (param $floor i32) (result v128)
    (i16x8.splat (select (local.get $floor) (i32.const 0xffff) (i32.lt_u (local.get $floor) (i32.const 0xffff)))))
;; ---- entry paths ---------------------------------------------------------------------------
;; Where the emulator should start before a trigger, from the last full scan's ilen, kind and
;; tgt. The straight-line path from an offset falls through or takes a direct jump or call. Kinds
;; (the decoder's values): 2 Jmp and 3 Call go to their target; 0 Normal, 1 Jcc, 5 Loop, 8 Int,
;; 9 Syscall and 10 Sysenter fall through (mask 0x723); `$predecessor` steps back only through
;; Normal and the gates (mask 0x701).
;; `pathsBegin(len)` starts on a new scan (`candidates` needs it: it also sets len). fwdNext
;; (see `$fwd`) is computed on demand and kept at 607280, one i32 per offset: (epoch << 16) |
;; (fwdNext + 2), valid when the epoch is this scan's; triggers sit near each other, so most of a
;; long argument's paths are never needed.
;; dist (u16 per offset, at 672832) holds `$entryBefore`'s distances to its trigger.
  (global $pepoch (mut i32) (i32.const 0))
  (global $plen (mut i32) (i32.const 0))

  (func (export "pathsBegin") (param $len i32)
    (global.set $plen (local.get $len))
    (global.set $pepoch (i32.and (i32.add (global.get $pepoch) (i32.const 1)) (i32.const 0xffff)))
    (if (i32.eqz (global.get $pepoch))
      (then
        ;; The epoch wrapped: forget every slot (epoch 0 is never current).
        (memory.fill (i32.const 607280) (i32.const 0) (i32.const 65540))
        (global.set $pepoch (i32.const 1)))))

  ;; The next offset on the straight-line path from j < len: len + 1 when execution stops or
  ;; leaves the argument, -1 for a direct jump or call back (to j or before), else the forward one.
  (func $forwardStep (param $j i32) (result i32)
    (local $n i32) (local $k i32) (local $tg i32)
    (local.set $n (i32.load8_u offset=180608 (local.get $j)))
    (if (i32.eqz (local.get $n)) (then (return (i32.add (global.get $plen) (i32.const 1)))))
    (local.set $k (i32.load8_u offset=196992 (local.get $j)))
    (if (i32.lt_u (i32.sub (local.get $k) (i32.const 2)) (i32.const 2))
      (then
        (local.set $tg (i32.load offset=213376 (i32.shl (local.get $j) (i32.const 2))))
        (if (i32.lt_s (local.get $tg) (i32.const 0)) (then (return (i32.add (global.get $plen) (i32.const 1)))))
        (return (select (local.get $tg) (i32.const -1) (i32.gt_s (local.get $tg) (local.get $j))))))
    (if (i32.and (i32.shr_u (i32.const 0x723) (local.get $k)) (i32.const 1))
      (then (return (i32.add (local.get $j) (local.get $n)))))
    (i32.add (global.get $plen) (i32.const 1)))

  ;; fwdNext(i): the next offset on the path from i (len + 1 when it stops) if that path
  ;; never takes a backward direct jump, else -1; a path that has passed t without one never
  ;; returns to it. The path only moves forward, so one
  ;; walk to where the answer is known (a stop, a jump back, len or a kept slot) settles every
  ;; offset on the way, and a second walk writes them.
  (func $fwd (param $i i32) (result i32)
    (local $tag i32) (local $len i32) (local $j i32) (local $m i32) (local $s i32) (local $ok i32)
    (local $end i32)
    (local.set $len (global.get $plen))
    (if (i32.eq (local.get $i) (local.get $len)) (then (return (i32.add (local.get $len) (i32.const 1)))))
    (local.set $tag (i32.shl (global.get $pepoch) (i32.const 16)))
    (local.set $m (i32.load offset=607280 (i32.shl (local.get $i) (i32.const 2))))
    (if (i32.eq (i32.and (local.get $m) (i32.const 0xffff0000)) (local.get $tag))
      (then (return (i32.sub (i32.and (local.get $m) (i32.const 0xffff)) (i32.const 2)))))
    ;; $end: the first offset on the path not to write (-1: write up to the stop or jump back).
    (local.set $end (i32.const -1))
    (local.set $j (local.get $i))
    (block $known
      (loop $walk
        (if (i32.eq (local.get $j) (local.get $len))
          (then (local.set $ok (i32.const 1)) (local.set $end (local.get $j)) (br $known)))
        (local.set $m (i32.load offset=607280 (i32.shl (local.get $j) (i32.const 2))))
        (if (i32.eq (i32.and (local.get $m) (i32.const 0xffff0000)) (local.get $tag))
          (then
            (local.set $ok (i32.ne (i32.and (local.get $m) (i32.const 0xffff)) (i32.const 1)))
            (local.set $end (local.get $j))
            (br $known)))
        (local.set $s (call $forwardStep (local.get $j)))
        (if (i32.lt_s (local.get $s) (i32.const 0)) (then (local.set $ok (i32.const 0)) (br $known)))
        (if (i32.gt_s (local.get $s) (local.get $len)) (then (local.set $ok (i32.const 1)) (br $known)))
        (local.set $j (local.get $s))
        (br $walk)))
    ;; Each offset on the way: its step when the path ends well, else -1.
    (local.set $j (local.get $i))
    (loop $write
      (local.set $s (call $forwardStep (local.get $j)))
      (i32.store offset=607280 (i32.shl (local.get $j) (i32.const 2))
        (i32.or (local.get $tag)
          (i32.add (select (local.get $s) (i32.const -1) (local.get $ok)) (i32.const 2))))
      (local.set $j (local.get $s))
      (br_if $write (i32.and (i32.lt_u (local.get $j) (local.get $len)) (i32.ne (local.get $j) (local.get $end)))))
    (i32.sub (i32.and (i32.load offset=607280 (i32.shl (local.get $i) (i32.const 2))) (i32.const 0xffff)) (i32.const 2)))

  ;; The next offset on the path from p: fall through, or a direct jump/call's target (-1
  ;; outside); -1 when execution stops.
  (func $nextOnPath (param $p i32) (result i32)
    (local $n i32) (local $k i32)
    (local.set $n (i32.load8_u offset=180608 (local.get $p)))
    (if (i32.eqz (local.get $n)) (then (return (i32.const -1))))
    (local.set $k (i32.load8_u offset=196992 (local.get $p)))
    (if (i32.lt_u (i32.sub (local.get $k) (i32.const 2)) (i32.const 2))
      (then (return (i32.load offset=213376 (i32.shl (local.get $p) (i32.const 2))))))
    (select (i32.add (local.get $p) (local.get $n)) (i32.const -1)
      (i32.and (i32.shr_u (i32.const 0x723) (local.get $k)) (i32.const 1))))

  ;; Steps from s to t (at most 48: that many or never) along a path that
  ;; may jump back; offsets in (s, t] already have their distance.
  (func $walkTo (param $t i32) (param $s i32) (result i32)
    (local $p i32) (local $steps i32) (local $d i32)
    (local.set $p (call $nextOnPath (local.get $s)))
    (local.set $steps (i32.const 1))
    (loop $step
      (if (i32.and (i32.gt_s (local.get $p) (local.get $s)) (i32.le_s (local.get $p) (local.get $t)))
        (then
          (local.set $d (i32.add (local.get $steps) (i32.load16_u offset=672832 (i32.shl (local.get $p) (i32.const 1)))))
          (return (select (local.get $d) (i32.const 48) (i32.lt_u (local.get $d) (i32.const 48))))))
      (if (i32.lt_s (local.get $p) (i32.const 0)) (then (return (i32.const 48))))
      (if (i32.ge_s (local.get $steps) (i32.const 48)) (then (return (i32.const 48))))
      (if (i32.gt_s (local.get $p) (local.get $t))
        (then (if (i32.ge_s (call $fwd (local.get $p)) (i32.const 0)) (then (return (i32.const 48))))))
      (local.set $p (call $nextOnPath (local.get $p)))
      (local.set $steps (i32.add (local.get $steps) (i32.const 1)))
      (br $step))
    (unreachable))

  ;; The earliest offset within `window` bytes before t whose path reaches t within 47 steps,
  ;; else t. Distances to t by dynamic programming from t backwards: a path that only goes
  ;; forward adds one step to the distance of its next offset (which lies in (s, t], or after t,
  ;; whose slot t + 1 says "too far"); only paths with a backward jump are walked. Once 15 offsets
  ;; in a row (the longest instruction) are out of reach and no direct jump or call lies between
  ;; `from` and them, every earlier start is out of reach too: its path can only fall into them.
  (func $entryBefore (param $t i32) (param $window i32) (result i32)
    (local $from i32) (local $firstJump i32) (local $j i32) (local $after i32) (local $earliest i32)
    (local $unreached i32) (local $s i32) (local $next i32) (local $d i32) (local $tag i32) (local $jumps i32)
    (local.set $from (select (i32.sub (local.get $t) (local.get $window)) (i32.const 0)
      (i32.gt_s (i32.sub (local.get $t) (local.get $window)) (i32.const 0))))
    (local.set $firstJump (local.get $t))
    (local.set $j (local.get $from))
    (block $found
      (loop $look
        (br_if $found (i32.ge_s (local.get $j) (local.get $t)))
        ;; 16 offsets at a time (those from t on do not count): a length and kind 2 or 3.
        (local.set $jumps (i32.and
          (i8x16.bitmask (v128.and
            (i8x16.ne (v128.load offset=180608 (local.get $j)) (v128.const i64x2 0 0))
            (i8x16.lt_u (i8x16.sub (v128.load offset=196992 (local.get $j)) (i8x16.splat (i32.const 2))) (i8x16.splat (i32.const 2)))))
          (select
            (i32.sub (i32.shl (i32.const 1) (i32.sub (local.get $t) (local.get $j))) (i32.const 1))
            (i32.const 0xffff)
            (i32.lt_s (i32.sub (local.get $t) (local.get $j)) (i32.const 16)))))
        (if (local.get $jumps)
          (then (local.set $firstJump (i32.add (local.get $j) (i32.ctz (local.get $jumps)))) (br $found)))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $look)))
    (i32.store16 offset=672832 (i32.shl (local.get $t) (i32.const 1)) (i32.const 0))
    (i32.store16 offset=672834 (i32.shl (local.get $t) (i32.const 1)) (i32.const 48))
    (local.set $after (i32.add (local.get $t) (i32.const 1)))
    (local.set $tag (i32.shl (global.get $pepoch) (i32.const 16)))
    (local.set $earliest (local.get $t))
    (local.set $s (i32.sub (local.get $t) (i32.const 1)))
    (block $done
      (loop $back
        (br_if $done (i32.lt_s (local.get $s) (local.get $from)))
        ;; fwdNext(s), its kept slot read here (the common case).
        (local.set $next (i32.load offset=607280 (i32.shl (local.get $s) (i32.const 2))))
        (local.set $next (if (result i32) (i32.eq (i32.and (local.get $next) (i32.const 0xffff0000)) (local.get $tag))
          (then (i32.sub (i32.and (local.get $next) (i32.const 0xffff)) (i32.const 2)))
          (else (call $fwd (local.get $s)))))
        (if (i32.ge_s (local.get $next) (i32.const 0))
          (then
            (local.set $d (i32.add (i32.const 1)
              (i32.load16_u offset=672832 (i32.shl
                (select (local.get $next) (local.get $after) (i32.lt_s (local.get $next) (local.get $after)))
                (i32.const 1))))))
          (else (local.set $d (call $walkTo (local.get $t) (local.get $s)))))
        (i32.store16 offset=672832 (i32.shl (local.get $s) (i32.const 1)) (local.get $d))
        (if (i32.lt_u (local.get $d) (i32.const 48))
          (then (local.set $earliest (local.get $s)) (local.set $unreached (i32.const 0)))
          (else
            (local.set $unreached (i32.add (local.get $unreached) (i32.const 1)))
            (br_if $done (i32.and
              (i32.ge_s (local.get $unreached) (i32.const 15))
              (i32.ge_s (local.get $firstJump) (local.get $s))))))
        (local.set $s (i32.sub (local.get $s) (i32.const 1)))
        (br $back)))
    (local.get $earliest))

  ;; `depth` immediate predecessors back from t: each the nearest of the 15 offsets before whose
  ;; instruction ends exactly there and is plain or a gate (not a branch: with unknown flags the
  ;; run could go the other way). $plast: where the walk ended when it made all `depth` steps
  ;; (the walk can go on from there), else -1 (a deeper walk ends at the same place).
  (global $plast (mut i32) (i32.const -1))
  (func $predecessor (param $t i32) (param $depth i32) (result i32)
    (local $p i32) (local $d i32) (local $j i32) (local $lo i32) (local $n i32)
    (local.set $p (local.get $t))
    (block $stopped
      (loop $steps
        (if (i32.ge_s (local.get $d) (local.get $depth))
          (then (global.set $plast (local.get $p)) (return (local.get $p))))
        (local.set $j (i32.sub (local.get $p) (i32.const 1)))
        (local.set $lo (i32.sub (local.get $p) (i32.const 15)))
        (local.set $lo (select (local.get $lo) (i32.const 0) (i32.gt_s (local.get $lo) (i32.const 0))))
        (block $found
          (loop $back
            (br_if $stopped (i32.lt_s (local.get $j) (local.get $lo)))
            (local.set $n (i32.load8_u offset=180608 (local.get $j)))
            (if (i32.and (i32.ne (local.get $n) (i32.const 0)) (i32.eq (i32.add (local.get $j) (local.get $n)) (local.get $p)))
              (then
                (br_if $found (i32.and
                  (i32.shr_u (i32.const 0x701) (i32.load8_u offset=196992 (local.get $j)))
                  (i32.const 1)))))
            (local.set $j (i32.sub (local.get $j) (i32.const 1)))
            (br $back)))
        (local.set $p (local.get $j))
        (local.set $d (i32.add (local.get $d) (i32.const 1)))
        (br $steps)))
    (global.set $plast (i32.const -1))
    (local.get $p))
;; ---- candidates ----------------------------------------------------------------------------
;; `candidates(nLandings, nTrig, max, triggerRoom, entryTypes)`: the emulator's candidate starts
;; after the last scan (see StaticScan.candidates), distinct and inside the argument, at most
;; `max`, into 705632 (i32 each); returns how many. In order: the `nLandings` sled landings (at
;; 706720, written by StaticScan), then for each of the leftmost `nTrig` triggers of the last
;; full scan (its ring) while fewer than `triggerRoom` are taken: 3 and 8 predecessors back, the
;; entry within 64 bytes before, and the trigger itself when its type's bit is set in
;; `entryTypes`; then each chain head (`heads` has run) and the one or two offsets inside its
;; first instruction.
  (global $ncand (mut i32) (i32.const 0))
  (global $maxCand (mut i32) (i32.const 0))

  (func $addCand (param $o i32)
    (local $i i32)
    (if (i32.ge_u (local.get $o) (global.get $plen)) (then (return)))
    (if (i32.ge_s (global.get $ncand) (global.get $maxCand)) (then (return)))
    (block $new
      (loop $seen
        (br_if $new (i32.ge_s (local.get $i) (global.get $ncand)))
        (if (i32.eq (i32.load offset=705632 (i32.shl (local.get $i) (i32.const 2))) (local.get $o)) (then (return)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $seen)))
    (i32.store offset=705632 (i32.shl (global.get $ncand) (i32.const 2)) (local.get $o))
    (global.set $ncand (i32.add (global.get $ncand) (i32.const 1))))

  (func (export "candidates") (param $nLandings i32) (param $nTrig i32) (param $max i32) (param $triggerRoom i32) (param $entryTypes i32) (result i32)
    (local $j i32) (local $nt i32) (local $slot i32) (local $t i32) (local $h i32) (local $k i32) (local $n i32)
    (global.set $ncand (i32.const 0))
    (global.set $maxCand (local.get $max))
    (block $landed
      (loop $landing
        (br_if $landed (i32.ge_s (local.get $j) (local.get $nLandings)))
        (call $addCand (i32.load offset=706720 (i32.shl (local.get $j) (i32.const 2))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $landing)))
    ;; The ring holds the leftmost triggers newest (leftmost) last.
    (local.set $nt (i32.load offset=607272 (i32.const 0)))
    (local.set $j (i32.const 0))
    (block $triggersDone
      (loop $trigger
        (br_if $triggersDone (i32.ge_s (local.get $j) (local.get $nTrig)))
        (br_if $triggersDone (i32.ge_s (global.get $ncand) (local.get $triggerRoom)))
        (local.set $slot (i32.and (i32.sub (i32.sub (local.get $nt) (i32.const 1)) (local.get $j)) (i32.const 63)))
        (local.set $t (i32.load offset=344464 (i32.shl (local.get $slot) (i32.const 2))))
        (call $addCand (call $predecessor (local.get $t) (i32.const 3)))
        (call $addCand (call $predecessor (global.get $plast) (i32.const 5)))
        (call $addCand (call $entryBefore (local.get $t) (i32.const 64)))
        (if (i32.and (i32.shr_u (local.get $entryTypes) (i32.load8_u offset=344720 (local.get $slot))) (i32.const 1))
          (then (call $addCand (local.get $t))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $trigger)))
    (local.set $j (i32.const 0))
    (block $headsDone
      (loop $head
        (br_if $headsDone (i32.ge_s (local.get $j) (i32.const 4)))
        (local.set $h (i32.load offset=607232 (i32.shl (local.get $j) (i32.const 2))))
        (if (i32.ge_s (local.get $h) (i32.const 0))
          (then
            (call $addCand (local.get $h))
            (local.set $n (i32.and (i32.load8_u offset=180608 (local.get $h)) (i32.const 31)))
            (local.set $k (i32.const 1))
            (block $inside
              (loop $next
                (br_if $inside (i32.ge_s (local.get $k) (local.get $n)))
                (br_if $inside (i32.ge_s (local.get $k) (i32.const 3)))
                (call $addCand (i32.add (local.get $h) (local.get $k)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $next)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $head)))
    (global.get $ncand))

;; ---- textClass ---------------------------------------------------------------------------
;; `textClass(len)`: the class of the argument's `len` bytes (already copied to 131072): 0 binary,
;; 1 text (valid UTF-8 without control characters or DEL), 2 printable ASCII. Valid UTF-8: a lead
;; byte C2-DF, E0-EF or F0-F4 with all its continuation bytes (80-BF) inside the argument, no
;; overlong form (E0 needs A0-BF next, F0 90-BF), no surrogate (ED needs 80-9F) and nothing
;; beyond U+10FFFF (F4 needs 80-8F).
  (func (export "textClass") (param $len i32) (result i32)
    (local $i i32) (local $b i32) (local $c1 i32) (local $class i32)
    (local.set $class (i32.const 2))
    (loop $next
      (if (i32.ge_s (local.get $i) (local.get $len)) (then (return (local.get $class))))
      (local.set $b (i32.load8_u offset=131072 (local.get $i)))
      (if (i32.lt_u (local.get $b) (i32.const 0x80))
        (then
          (if (i32.ge_u (i32.sub (local.get $b) (i32.const 0x20)) (i32.const 0x5f)) (then (return (i32.const 0))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $next)))
      (local.set $class (i32.const 1))
      (local.set $c1 (i32.load8_u offset=131073 (local.get $i)))
      (if (i32.lt_u (local.get $b) (i32.const 0xe0))
        (then
          (if (i32.lt_u (local.get $b) (i32.const 0xc2)) (then (return (i32.const 0))))
          (if (i32.ge_s (i32.add (local.get $i) (i32.const 1)) (local.get $len)) (then (return (i32.const 0))))
          (if (i32.ne (i32.and (local.get $c1) (i32.const 0xc0)) (i32.const 0x80)) (then (return (i32.const 0))))
          (local.set $i (i32.add (local.get $i) (i32.const 2)))
          (br $next)))
      (if (i32.lt_u (local.get $b) (i32.const 0xf0))
        (then
          (if (i32.ge_s (i32.add (local.get $i) (i32.const 2)) (local.get $len)) (then (return (i32.const 0))))
          (if (i32.or
                (i32.ne (i32.and (local.get $c1) (i32.const 0xc0)) (i32.const 0x80))
                (i32.ne (i32.and (i32.load8_u offset=131074 (local.get $i)) (i32.const 0xc0)) (i32.const 0x80)))
            (then (return (i32.const 0))))
          (if (i32.and (i32.eq (local.get $b) (i32.const 0xe0)) (i32.lt_u (local.get $c1) (i32.const 0xa0)))
            (then (return (i32.const 0))))
          (if (i32.and (i32.eq (local.get $b) (i32.const 0xed)) (i32.ge_u (local.get $c1) (i32.const 0xa0)))
            (then (return (i32.const 0))))
          (local.set $i (i32.add (local.get $i) (i32.const 3)))
          (br $next)))
      (if (i32.gt_u (local.get $b) (i32.const 0xf4)) (then (return (i32.const 0))))
      (if (i32.ge_s (i32.add (local.get $i) (i32.const 3)) (local.get $len)) (then (return (i32.const 0))))
      (if (i32.or
            (i32.or
              (i32.ne (i32.and (local.get $c1) (i32.const 0xc0)) (i32.const 0x80))
              (i32.ne (i32.and (i32.load8_u offset=131074 (local.get $i)) (i32.const 0xc0)) (i32.const 0x80)))
            (i32.ne (i32.and (i32.load8_u offset=131075 (local.get $i)) (i32.const 0xc0)) (i32.const 0x80)))
        (then (return (i32.const 0))))
      (if (i32.and (i32.eq (local.get $b) (i32.const 0xf0)) (i32.lt_u (local.get $c1) (i32.const 0x90)))
        (then (return (i32.const 0))))
      (if (i32.and (i32.eq (local.get $b) (i32.const 0xf4)) (i32.ge_u (local.get $c1) (i32.const 0x90)))
        (then (return (i32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $next))
    (unreachable))
)
