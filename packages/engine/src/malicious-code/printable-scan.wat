;; The loop of StaticScan.printableChains (static-scan.ts), in WebAssembly: the same statements
;; on the same table, so it must give the same chains, lengths and verdict. Why: in JavaScript
;; every typed-array access in this loop re-checks the array's map; here it is one machine load,
;; and this loop was a third of the time on printable arguments.
;;
;; Memory (one instance per StaticScan; the JavaScript side owns the layout constants):
;;   0       PTAB, the printable table (u16 entries, index (b0 << 7) | b1; prefix pages after)
;;   131072  the argument bytes
;;   147520  chain (u16 per offset; the view StaticScan.chain)
;;   180608  ilen (u8 per offset; the view StaticScan.ilen)
;;
;; `begin(len)` starts a scan; `run(-1, 0)` goes on from where the scan stands and returns the
;; longest chain, -1 (give up: a byte outside 0x20-0x7E or a sled run of 16) or -2: the offset
;; `at()` needs the full decoder (two prefixes: the length depends on bytes past the key). Then
;; `run(entry, rel)` resumes with that offset's resolved entry and displacement.
(module
  (memory (export "memory") 4)
  (global $gi (mut i32) (i32.const -1))
  (global $glen (mut i32) (i32.const 0))
  (global $gmel (mut i32) (i32.const 0))
  (global $gsled (mut i32) (i32.const 0))
  (global $gnextLen (mut i32) (i32.const 0))
  (global $gnextRel (mut i32) (i32.const 0))
  (global $gb1 (mut i32) (i32.const 0))

  (func (export "begin") (param $len i32)
    (global.set $gi (i32.sub (local.get $len) (i32.const 1)))
    (global.set $glen (local.get $len))
    (global.set $gmel (i32.const 0))
    (global.set $gsled (i32.const 0))
    (global.set $gnextLen (i32.const 0))
    (global.set $gnextRel (i32.const 0))
    (global.set $gb1 (i32.const 0)))

  (func (export "at") (result i32) (global.get $gi))

  (func (export "run") (param $pe0 i32) (param $rel0 i32) (result i32)
    (local $i i32) (local $len i32) (local $mel i32) (local $sled i32)
    (local $nextLen i32) (local $nextRel i32) (local $b1 i32)
    (local $b0 i32) (local $pe i32) (local $rel i32) (local $sibAt i32) (local $b2 i32)
    (local $n i32) (local $t i32) (local $r i32) (local $x i32) (local $d i32)
    (local $ok i32) (local $c i32) (local $longer i32)
    (local.set $i (global.get $gi))
    (local.set $len (global.get $glen))
    (local.set $mel (global.get $gmel))
    (local.set $sled (global.get $gsled))
    (local.set $nextLen (global.get $gnextLen))
    (local.set $nextRel (global.get $gnextRel))
    (local.set $b1 (global.get $gb1))
    (block $done
      (loop $next
        (br_if $done (i32.lt_s (local.get $i) (i32.const 0)))
        (local.set $b0 (i32.load8_u offset=131072 (local.get $i)))
        (if (i32.ge_s (local.get $pe0) (i32.const 0))
          (then
            ;; The entry the full decoder resolved for this offset.
            (local.set $pe (local.get $pe0))
            (local.set $rel (local.get $rel0))
            (local.set $pe0 (i32.const -1)))
          (else
            (local.set $pe (i32.load16_u
              (i32.shl (i32.or (i32.shl (local.get $b0) (i32.const 7)) (local.get $b1)) (i32.const 1))))
            (local.set $rel (local.get $b1))
            ;; Rare (0x40): resolve the entry into a plain one.
            (if (i32.and (local.get $pe) (i32.const 0x40))
              (then
                (if (i32.or (i32.lt_u (local.get $b0) (i32.const 0x20)) (i32.gt_u (local.get $b0) (i32.const 0x7e)))
                  (then (return (i32.const -1))))
                (if (i32.eq (i32.and (local.get $pe) (i32.const 0x140)) (i32.const 0x140))
                  (then
                    ;; Segment override: the instruction at i + 1 with one more byte.
                    (local.set $pe
                      (select
                        (i32.or
                          (i32.or (i32.add (local.get $nextLen) (i32.const 1)) (i32.const 0xff20))
                          (select (i32.const 0x10) (i32.const 0) (local.get $sled)))
                        (i32.const 0)
                        (i32.and (i32.ne (local.get $nextLen) (i32.const 0)) (i32.lt_u (local.get $nextLen) (i32.const 15)))))
                    (local.set $rel (local.get $nextRel)))
                  (else
                    (local.set $sibAt (i32.add (local.get $i) (i32.const 2)))
                    (if (i32.eq (i32.and (local.get $pe) (i32.const 0x240)) (i32.const 0x240))
                      (then
                        ;; 66/67: the prefix page entry of the next two bytes.
                        (local.set $b2
                          (select
                            (i32.load8_u offset=131072 (local.get $sibAt))
                            (i32.const 0)
                            (i32.lt_s (local.get $sibAt) (local.get $len))))
                        (local.set $pe (i32.load16_u offset=65536
                          (i32.shl
                            (i32.or
                              (i32.or
                                (i32.shl (i32.and (local.get $b0) (i32.const 1)) (i32.const 14))
                                (i32.shl (local.get $b1) (i32.const 7)))
                              (local.get $b2))
                            (i32.const 1))))
                        (local.set $rel (local.get $b2))
                        (local.set $sibAt (i32.add (local.get $sibAt) (i32.const 1)))))
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
                        ;; Ask for the full decoder, keeping the scan's state.
                        (global.set $gi (local.get $i))
                        (global.set $gmel (local.get $mel))
                        (global.set $gsled (local.get $sled))
                        (global.set $gnextLen (local.get $nextLen))
                        (global.set $gnextRel (local.get $nextRel))
                        (global.set $gb1 (local.get $b1))
                        (return (i32.const -2))))))))))
        ;; Execution goes on at t (and at t + rel for a Jcc); invalid or cut by the end: chain 0.
        (local.set $n (i32.and (local.get $pe) (i32.const 15)))
        (local.set $t (i32.add (local.get $i) (local.get $n)))
        (local.set $r (i32.and (local.get $rel) (i32.shr_u (local.get $pe) (i32.const 8))))
        (local.set $x (i32.load16_u offset=147520 (i32.shl (local.get $t) (i32.const 1))))
        (local.set $d (i32.sub (local.get $x)
          (i32.load16_u offset=147520 (i32.shl (i32.add (local.get $t) (local.get $r)) (i32.const 1)))))
        (local.set $ok
          (i32.and
            (i32.shr_s (i32.shl (local.get $pe) (i32.const 26)) (i32.const 31))
            (i32.xor (i32.shr_s (i32.sub (local.get $len) (local.get $t)) (i32.const 31)) (i32.const -1))))
        (local.set $c
          (i32.and
            (i32.add
              (i32.sub (local.get $x) (i32.and (local.get $d) (i32.shr_s (local.get $d) (i32.const 31))))
              (i32.const 1))
            (local.get $ok)))
        (i32.store16 offset=147520 (i32.shl (local.get $i) (i32.const 1)) (local.get $c))
        (local.set $nextLen (i32.and (local.get $n) (local.get $ok)))
        (i32.store8 offset=180608 (local.get $i) (local.get $nextLen))
        (local.set $longer (i32.sub (local.get $c) (local.get $mel)))
        (local.set $mel (i32.add (local.get $mel)
          (i32.and (local.get $longer) (i32.xor (i32.shr_s (local.get $longer) (i32.const 31)) (i32.const -1)))))
        (local.set $nextRel (local.get $r))
        (local.set $b1 (local.get $b0))
        (local.set $sled
          (i32.and
            (i32.add (local.get $sled) (i32.const 1))
            (i32.sub (i32.const 0)
              (i32.and (i32.and (i32.shr_u (local.get $pe) (i32.const 4)) (local.get $ok)) (i32.const 1)))))
        (if (i32.ge_s (local.get $sled) (i32.const 16)) (then (return (i32.const -1))))
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $mel)))
