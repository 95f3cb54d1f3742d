;; SIMD kernels of top words (pipelines/moments.ts, pipelines/typeScores.ts).
;; Arithmetic is exactly that of their JS fallbacks: per neuron, values in row
;; order, float64 sums (test/topWordsKernels.test.ts checks bit equality).
;; Regenerate pipelines/wasm/topWordsKernels.ts with tools/wasm/build_topwords_kernels.mjs.
(module
  (memory (export "memory") 1)
  ;; Pass 1, one chunk of rows: for the [rows x B] f32 block at $data, with a
  ;; shift K per neuron: s1 += x - K, s2 += (x - K)^2 (f64), mn/mx (f32; x < mn
  ;; / x > mx take x: NaN and a zero of the other sign never replace, as in JS).
  ;; Tiles of 4 neurons, rows inner: each tile's sums stay in registers and
  ;; its 16-byte slice of a row shares cache lines with the next 3 tiles
  ;; (0.5 ns per value; sums in memory row by row took 1-1.5 ns). Each
  ;; neuron's values are still added in row order: the same bits.
  (func (export "momentSums") (param $data i32) (param $rows i32) (param $B i32)
        (param $shift i32) (param $s1 i32) (param $s2 i32) (param $mn i32) (param $mx i32)
    (local $r i32) (local $j i32) (local $p i32) (local $B4 i32) (local $rowBytes i32) (local $j8 i32) (local $j4 i32)
    (local $v v128) (local $lo v128) (local $hi v128)
    (local $klo v128) (local $khi v128) (local $a1 v128) (local $b1 v128) (local $a2 v128) (local $b2 v128)
    (local $vmn v128) (local $vmx v128)
    (local $x f32) (local $d f64) (local $k f64) (local $t1 f64) (local $t2 f64) (local $smn f32) (local $smx f32)
    (local.set $B4 (i32.and (local.get $B) (i32.const -4)))
    (local.set $rowBytes (i32.shl (local.get $B) (i32.const 2)))
    (local.set $j (i32.const 0))
    (block $tiles_done
      (loop $tiles
        (br_if $tiles_done (i32.ge_u (local.get $j) (local.get $B4)))
        (local.set $j4 (i32.shl (local.get $j) (i32.const 2)))
        (local.set $j8 (i32.shl (local.get $j) (i32.const 3)))
        (local.set $klo (v128.load (i32.add (local.get $shift) (local.get $j8))))
        (local.set $khi (v128.load offset=16 (i32.add (local.get $shift) (local.get $j8))))
        (local.set $a1 (v128.load (i32.add (local.get $s1) (local.get $j8))))
        (local.set $b1 (v128.load offset=16 (i32.add (local.get $s1) (local.get $j8))))
        (local.set $a2 (v128.load (i32.add (local.get $s2) (local.get $j8))))
        (local.set $b2 (v128.load offset=16 (i32.add (local.get $s2) (local.get $j8))))
        (local.set $vmn (v128.load (i32.add (local.get $mn) (local.get $j4))))
        (local.set $vmx (v128.load (i32.add (local.get $mx) (local.get $j4))))
        (local.set $p (i32.add (local.get $data) (local.get $j4)))
        (local.set $r (local.get $rows))
        (block $rows_done
          (loop $rows_loop
            (br_if $rows_done (i32.eqz (local.get $r)))
            (local.set $v (v128.load (local.get $p)))
            (local.set $lo (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $p))) (local.get $klo)))
            (local.set $hi (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $p))) (local.get $khi)))
            (local.set $a1 (f64x2.add (local.get $a1) (local.get $lo)))
            (local.set $b1 (f64x2.add (local.get $b1) (local.get $hi)))
            (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (local.get $lo) (local.get $lo))))
            (local.set $b2 (f64x2.add (local.get $b2) (f64x2.mul (local.get $hi) (local.get $hi))))
            ;; pmin(a, b) = b < a ? b : a; pmax(a, b) = a < b ? b : a
            (local.set $vmn (f32x4.pmin (local.get $vmn) (local.get $v)))
            (local.set $vmx (f32x4.pmax (local.get $vmx) (local.get $v)))
            (local.set $p (i32.add (local.get $p) (local.get $rowBytes)))
            (local.set $r (i32.sub (local.get $r) (i32.const 1)))
            (br $rows_loop)))
        (v128.store (i32.add (local.get $s1) (local.get $j8)) (local.get $a1))
        (v128.store offset=16 (i32.add (local.get $s1) (local.get $j8)) (local.get $b1))
        (v128.store (i32.add (local.get $s2) (local.get $j8)) (local.get $a2))
        (v128.store offset=16 (i32.add (local.get $s2) (local.get $j8)) (local.get $b2))
        (v128.store (i32.add (local.get $mn) (local.get $j4)) (local.get $vmn))
        (v128.store (i32.add (local.get $mx) (local.get $j4)) (local.get $vmx))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $tiles)))
    ;; The last B mod 4 neurons, one at a time.
    (block $rem_done
      (loop $rem
        (br_if $rem_done (i32.ge_u (local.get $j) (local.get $B)))
        (local.set $j4 (i32.shl (local.get $j) (i32.const 2)))
        (local.set $j8 (i32.shl (local.get $j) (i32.const 3)))
        (local.set $k (f64.load (i32.add (local.get $shift) (local.get $j8))))
        (local.set $t1 (f64.load (i32.add (local.get $s1) (local.get $j8))))
        (local.set $t2 (f64.load (i32.add (local.get $s2) (local.get $j8))))
        (local.set $smn (f32.load (i32.add (local.get $mn) (local.get $j4))))
        (local.set $smx (f32.load (i32.add (local.get $mx) (local.get $j4))))
        (local.set $p (i32.add (local.get $data) (local.get $j4)))
        (local.set $r (local.get $rows))
        (block $rrows_done
          (loop $rrows
            (br_if $rrows_done (i32.eqz (local.get $r)))
            (local.set $x (f32.load (local.get $p)))
            (local.set $d (f64.sub (f64.promote_f32 (local.get $x)) (local.get $k)))
            (local.set $t1 (f64.add (local.get $t1) (local.get $d)))
            (local.set $t2 (f64.add (local.get $t2) (f64.mul (local.get $d) (local.get $d))))
            (if (f32.lt (local.get $x) (local.get $smn)) (then (local.set $smn (local.get $x))))
            (if (f32.gt (local.get $x) (local.get $smx)) (then (local.set $smx (local.get $x))))
            (local.set $p (i32.add (local.get $p) (local.get $rowBytes)))
            (local.set $r (i32.sub (local.get $r) (i32.const 1)))
            (br $rrows)))
        (f64.store (i32.add (local.get $s1) (local.get $j8)) (local.get $t1))
        (f64.store (i32.add (local.get $s2) (local.get $j8)) (local.get $t2))
        (f32.store (i32.add (local.get $mn) (local.get $j4)) (local.get $smn))
        (f32.store (i32.add (local.get $mx) (local.get $j4)) (local.get $smx))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $rem))))
  ;; Pass 2, one token type: over rows order[k0..k1) (i32 row indices) of the
  ;; [rows x B] f32 block at $data, in order: outAbs[j] = sum |x - mu[j]|,
  ;; outX[j] = sum x (f64 [B] each, overwritten), as $accRows adds them.
  (func $typeSums (export "typeSums") (param $data i32) (param $B i32) (param $order i32) (param $k0 i32) (param $k1 i32)
        (param $mu i32) (param $outAbs i32) (param $outX i32)
    (memory.fill (local.get $outAbs) (i32.const 0) (i32.shl (local.get $B) (i32.const 3)))
    (memory.fill (local.get $outX) (i32.const 0) (i32.shl (local.get $B) (i32.const 3)))
    (call $accRows (local.get $data) (i32.add (local.get $order) (i32.shl (local.get $k0) (i32.const 2)))
      (i32.sub (local.get $k1) (local.get $k0)) (local.get $B) (local.get $mu) (local.get $outAbs) (local.get $outX)))
  ;; Pass 2, n rows (f32 [B] each) of the block at $data added into
  ;; outAbs[j] += |x - mu[j]|, outX[j] += x: rows order[0..n) (i32 row
  ;; indices at $order), or with $order = -1 the n consecutive rows from
  ;; $data. Four rows at a time, acc + ((r0 + r1) + (r2 + r3)), then one at a
  ;; time, as the JS fallback (typeScores.ts accumulateType).
  (func $accRows (param $data i32) (param $order i32) (param $n i32) (param $B i32) (param $mu i32) (param $outAbs i32) (param $outX i32)
    (local $k i32) (local $j i32) (local $B4 i32) (local $j8 i32) (local $j4 i32) (local $rb i32) (local $p i32)
    (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32)
    (local $mlo v128) (local $mhi v128) (local $am v128)
    (local $l0 v128) (local $l1 v128) (local $l2 v128) (local $l3 v128)
    (local $h0 v128) (local $h1 v128) (local $h2 v128) (local $h3 v128)
    (local $m f64) (local $x f64) (local $x0 f64) (local $x1 f64) (local $x2 f64) (local $x3 f64)
    ;; |d| as d AND a mask held in a register (V8 reloads f64x2.abs's constant at every use)
    (local.set $am (v128.const i64x2 0x7fffffffffffffff 0x7fffffffffffffff))
    (local.set $B4 (i32.and (local.get $B) (i32.const -4)))
    (local.set $rb (i32.shl (local.get $B) (i32.const 2)))
    (local.set $p (local.get $data))
    (local.set $k (local.get $n))
    (block $groups_done
      (loop $groups
        (br_if $groups_done (i32.lt_u (local.get $k) (i32.const 4)))
        (if (i32.eq (local.get $order) (i32.const -1))
          (then
            (local.set $p0 (local.get $p))
            (local.set $p1 (i32.add (local.get $p0) (local.get $rb)))
            (local.set $p2 (i32.add (local.get $p1) (local.get $rb)))
            (local.set $p3 (i32.add (local.get $p2) (local.get $rb)))
            (local.set $p (i32.add (local.get $p3) (local.get $rb))))
          (else
            (local.set $p0 (i32.add (local.get $data) (i32.mul (i32.load (local.get $order)) (local.get $rb))))
            (local.set $p1 (i32.add (local.get $data) (i32.mul (i32.load offset=4 (local.get $order)) (local.get $rb))))
            (local.set $p2 (i32.add (local.get $data) (i32.mul (i32.load offset=8 (local.get $order)) (local.get $rb))))
            (local.set $p3 (i32.add (local.get $data) (i32.mul (i32.load offset=12 (local.get $order)) (local.get $rb))))
            (local.set $order (i32.add (local.get $order) (i32.const 16)))))
        (local.set $j (i32.const 0))
        (block $gsimd_done
          (loop $gcols
            (br_if $gsimd_done (i32.ge_u (local.get $j) (local.get $B4)))
            (local.set $j4 (i32.shl (local.get $j) (i32.const 2)))
            (local.set $j8 (i32.shl (local.get $j) (i32.const 3)))
            (local.set $mlo (v128.load (i32.add (local.get $mu) (local.get $j8))))
            (local.set $mhi (v128.load offset=16 (i32.add (local.get $mu) (local.get $j8))))
            (local.set $l0 (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $p0) (local.get $j4)))))
            (local.set $h0 (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (i32.add (local.get $p0) (local.get $j4)))))
            (local.set $l1 (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $p1) (local.get $j4)))))
            (local.set $h1 (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (i32.add (local.get $p1) (local.get $j4)))))
            (local.set $l2 (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $p2) (local.get $j4)))))
            (local.set $h2 (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (i32.add (local.get $p2) (local.get $j4)))))
            (local.set $l3 (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $p3) (local.get $j4)))))
            (local.set $h3 (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (i32.add (local.get $p3) (local.get $j4)))))
            (v128.store (i32.add (local.get $outAbs) (local.get $j8))
              (f64x2.add (v128.load (i32.add (local.get $outAbs) (local.get $j8)))
                (f64x2.add
                  (f64x2.add (v128.and (f64x2.sub (local.get $l0) (local.get $mlo)) (local.get $am)) (v128.and (f64x2.sub (local.get $l1) (local.get $mlo)) (local.get $am)))
                  (f64x2.add (v128.and (f64x2.sub (local.get $l2) (local.get $mlo)) (local.get $am)) (v128.and (f64x2.sub (local.get $l3) (local.get $mlo)) (local.get $am))))))
            (v128.store offset=16 (i32.add (local.get $outAbs) (local.get $j8))
              (f64x2.add (v128.load offset=16 (i32.add (local.get $outAbs) (local.get $j8)))
                (f64x2.add
                  (f64x2.add (v128.and (f64x2.sub (local.get $h0) (local.get $mhi)) (local.get $am)) (v128.and (f64x2.sub (local.get $h1) (local.get $mhi)) (local.get $am)))
                  (f64x2.add (v128.and (f64x2.sub (local.get $h2) (local.get $mhi)) (local.get $am)) (v128.and (f64x2.sub (local.get $h3) (local.get $mhi)) (local.get $am))))))
            (v128.store (i32.add (local.get $outX) (local.get $j8))
              (f64x2.add (v128.load (i32.add (local.get $outX) (local.get $j8)))
                (f64x2.add (f64x2.add (local.get $l0) (local.get $l1)) (f64x2.add (local.get $l2) (local.get $l3)))))
            (v128.store offset=16 (i32.add (local.get $outX) (local.get $j8))
              (f64x2.add (v128.load offset=16 (i32.add (local.get $outX) (local.get $j8)))
                (f64x2.add (f64x2.add (local.get $h0) (local.get $h1)) (f64x2.add (local.get $h2) (local.get $h3)))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $gcols)))
        (block $grem_done
          (loop $grem
            (br_if $grem_done (i32.ge_u (local.get $j) (local.get $B)))
            (local.set $j4 (i32.shl (local.get $j) (i32.const 2)))
            (local.set $j8 (i32.shl (local.get $j) (i32.const 3)))
            (local.set $m (f64.load (i32.add (local.get $mu) (local.get $j8))))
            (local.set $x0 (f64.promote_f32 (f32.load (i32.add (local.get $p0) (local.get $j4)))))
            (local.set $x1 (f64.promote_f32 (f32.load (i32.add (local.get $p1) (local.get $j4)))))
            (local.set $x2 (f64.promote_f32 (f32.load (i32.add (local.get $p2) (local.get $j4)))))
            (local.set $x3 (f64.promote_f32 (f32.load (i32.add (local.get $p3) (local.get $j4)))))
            (f64.store (i32.add (local.get $outAbs) (local.get $j8))
              (f64.add (f64.load (i32.add (local.get $outAbs) (local.get $j8)))
                (f64.add
                  (f64.add (f64.abs (f64.sub (local.get $x0) (local.get $m))) (f64.abs (f64.sub (local.get $x1) (local.get $m))))
                  (f64.add (f64.abs (f64.sub (local.get $x2) (local.get $m))) (f64.abs (f64.sub (local.get $x3) (local.get $m)))))))
            (f64.store (i32.add (local.get $outX) (local.get $j8))
              (f64.add (f64.load (i32.add (local.get $outX) (local.get $j8)))
                (f64.add (f64.add (local.get $x0) (local.get $x1)) (f64.add (local.get $x2) (local.get $x3)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $grem)))
        (local.set $k (i32.sub (local.get $k) (i32.const 4)))
        (br $groups)))
    (block $done
      (loop $rows
        (br_if $done (i32.eqz (local.get $k)))
        (if (i32.ne (local.get $order) (i32.const -1))
          (then
            (local.set $p (i32.add (local.get $data) (i32.mul (i32.load (local.get $order)) (local.get $rb))))
            (local.set $order (i32.add (local.get $order) (i32.const 4)))))
        (local.set $j (i32.const 0))
        (block $simd_done
          (loop $cols
            (br_if $simd_done (i32.ge_u (local.get $j) (local.get $B4)))
            (local.set $j4 (i32.shl (local.get $j) (i32.const 2)))
            (local.set $j8 (i32.shl (local.get $j) (i32.const 3)))
            (local.set $l0 (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $p) (local.get $j4)))))
            (local.set $h0 (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (i32.add (local.get $p) (local.get $j4)))))
            (v128.store (i32.add (local.get $outAbs) (local.get $j8))
              (f64x2.add (v128.load (i32.add (local.get $outAbs) (local.get $j8)))
                (v128.and (f64x2.sub (local.get $l0) (v128.load (i32.add (local.get $mu) (local.get $j8)))) (local.get $am))))
            (v128.store offset=16 (i32.add (local.get $outAbs) (local.get $j8))
              (f64x2.add (v128.load offset=16 (i32.add (local.get $outAbs) (local.get $j8)))
                (v128.and (f64x2.sub (local.get $h0) (v128.load offset=16 (i32.add (local.get $mu) (local.get $j8)))) (local.get $am))))
            (v128.store (i32.add (local.get $outX) (local.get $j8))
              (f64x2.add (v128.load (i32.add (local.get $outX) (local.get $j8))) (local.get $l0)))
            (v128.store offset=16 (i32.add (local.get $outX) (local.get $j8))
              (f64x2.add (v128.load offset=16 (i32.add (local.get $outX) (local.get $j8))) (local.get $h0)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $cols)))
        (block $rem_done
          (loop $rem
            (br_if $rem_done (i32.ge_u (local.get $j) (local.get $B)))
            (local.set $x (f64.promote_f32 (f32.load (i32.add (local.get $p) (i32.shl (local.get $j) (i32.const 2))))))
            (local.set $j8 (i32.shl (local.get $j) (i32.const 3)))
            (f64.store (i32.add (local.get $outAbs) (local.get $j8))
              (f64.add (f64.load (i32.add (local.get $outAbs) (local.get $j8)))
                (f64.abs (f64.sub (local.get $x) (f64.load (i32.add (local.get $mu) (local.get $j8)))))))
            (f64.store (i32.add (local.get $outX) (local.get $j8))
              (f64.add (f64.load (i32.add (local.get $outX) (local.get $j8))) (local.get $x)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $rem)))
        (local.set $p (i32.add (local.get $p) (local.get $rb)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $rows))))
  ;; 1 when the B f64 at $p add up to a finite number (none NaN or
  ;; infinite: they are sums of |x - mu|, each under 2^129 x 2^31, so their
  ;; sum cannot overflow), else 0.
  (func $finiteSum (param $B i32) (param $p i32) (result i32)
    (local $j i32) (local $B2 i32) (local $chk v128) (local $c f64)
    (local.set $B2 (i32.and (local.get $B) (i32.const -2)))
    (local.set $chk (f64x2.splat (f64.const 0)))
    (local.set $j (i32.const 0))
    (block $c_done
      (loop $c_loop
        (br_if $c_done (i32.ge_u (local.get $j) (local.get $B2)))
        (local.set $chk (f64x2.add (local.get $chk) (v128.load (i32.add (local.get $p) (i32.shl (local.get $j) (i32.const 3))))))
        (local.set $j (i32.add (local.get $j) (i32.const 2)))
        (br $c_loop)))
    (local.set $c (f64.add (f64x2.extract_lane 0 (local.get $chk)) (f64x2.extract_lane 1 (local.get $chk))))
    (if (i32.lt_u (local.get $j) (local.get $B))
      (then (local.set $c (f64.add (local.get $c) (f64.load (i32.add (local.get $p) (i32.shl (local.get $j) (i32.const 3))))))))
    (i32.eq (f64.ne (f64.sub (local.get $c) (local.get $c)) (f64.const 0)) (i32.const 0)))
  ;; A type's sums (out: f64 [B] abs, then [B] x) into row `rowIndex` of the
  ;; tables: 0, nothing added, when one of its |x - mu| sums is NaN or
  ;; infinite (their sum is then NaN or infinite: each is under 2^129 x 2^31,
  ;; no overflow); else 1, the row += the sums, or = them when isNew.
  (func $addSums (param $B i32) (param $out i32) (param $tableAbs i32) (param $tableX i32) (param $rowIndex i32) (param $isNew i32) (result i32)
    (local $j i32) (local $B2 i32) (local $j8 i32) (local $row i32) (local $ox i32) (local $ta i32) (local $tx i32)
    (local.set $B2 (i32.and (local.get $B) (i32.const -2)))
    (local.set $ox (i32.add (local.get $out) (i32.shl (local.get $B) (i32.const 3))))
    (if (i32.eqz (call $finiteSum (local.get $B) (local.get $out)))
      (then (return (i32.const 0))))
    (local.set $row (i32.mul (local.get $rowIndex) (i32.shl (local.get $B) (i32.const 3))))
    (local.set $ta (i32.add (local.get $tableAbs) (local.get $row)))
    (local.set $tx (i32.add (local.get $tableX) (local.get $row)))
    (if (local.get $isNew)
      (then
        ;; a new row: its sums are copied (0 + s would be s)
        (memory.copy (local.get $ta) (local.get $out) (i32.shl (local.get $B) (i32.const 3)))
        (memory.copy (local.get $tx) (local.get $ox) (i32.shl (local.get $B) (i32.const 3))))
      (else
        (local.set $j (i32.const 0))
        (block $a_done
          (loop $a_loop
            (br_if $a_done (i32.ge_u (local.get $j) (local.get $B2)))
            (local.set $j8 (i32.shl (local.get $j) (i32.const 3)))
            (v128.store (i32.add (local.get $ta) (local.get $j8))
              (f64x2.add (v128.load (i32.add (local.get $ta) (local.get $j8))) (v128.load (i32.add (local.get $out) (local.get $j8)))))
            (v128.store (i32.add (local.get $tx) (local.get $j8))
              (f64x2.add (v128.load (i32.add (local.get $tx) (local.get $j8))) (v128.load (i32.add (local.get $ox) (local.get $j8)))))
            (local.set $j (i32.add (local.get $j) (i32.const 2)))
            (br $a_loop)))
        (if (i32.lt_u (local.get $j) (local.get $B))
          (then
            (local.set $j8 (i32.shl (local.get $j) (i32.const 3)))
            (f64.store (i32.add (local.get $ta) (local.get $j8))
              (f64.add (f64.load (i32.add (local.get $ta) (local.get $j8))) (f64.load (i32.add (local.get $out) (local.get $j8)))))
            (f64.store (i32.add (local.get $tx) (local.get $j8))
              (f64.add (f64.load (i32.add (local.get $tx) (local.get $j8))) (f64.load (i32.add (local.get $ox) (local.get $j8)))))))))
    (i32.const 1))
  ;; Pass 2, a batch of segments added into a reducer's table: the batch's
  ;; rows sit one after another at $data, grouped by type; segment s (i32
  ;; triples at $segs: table row, rows, flags) takes the next `rows` of them.
  ;; Flag 1: the type's first segment (its sums start at 0); flag 2: its last
  ;; (then, unless one of its |x - mu| sums is NaN or infinite, which returns
  ;; s with nothing more added, tableAbs/tableX row += the sums, or = them
  ;; with flag 4: a row new to the table). A type split over segments is
  ;; split after a multiple of 4 rows, so its sums are those of one typeSums
  ;; call. Returns -1 when every segment went in. Sums
  ;; at $out: f64 [B] abs then [B] x. As TypeScoresBuilder.sumTypes +
  ;; TypeScoresReducer.addType, bit for bit.
  (func (export "typeSumsInto") (param $data i32) (param $B i32) (param $segs i32) (param $nSegs i32)
        (param $mu i32) (param $out i32) (param $tableAbs i32) (param $tableX i32) (result i32)
    (local $s i32) (local $ox i32) (local $n i32) (local $flags i32) (local $q i32) (local $p i32)
    (local.set $ox (i32.add (local.get $out) (i32.shl (local.get $B) (i32.const 3))))
    (local.set $p (local.get $data))
    (local.set $s (i32.const 0))
    (block $done
      (loop $segments
        (br_if $done (i32.ge_u (local.get $s) (local.get $nSegs)))
        (local.set $q (i32.add (local.get $segs) (i32.mul (local.get $s) (i32.const 12))))
        (local.set $n (i32.load offset=4 (local.get $q)))
        (local.set $flags (i32.load offset=8 (local.get $q)))
        (if (i32.and (local.get $flags) (i32.const 1))
          (then (memory.fill (local.get $out) (i32.const 0) (i32.shl (local.get $B) (i32.const 4)))))
        (call $accRows (local.get $p) (i32.const -1) (local.get $n) (local.get $B) (local.get $mu) (local.get $out) (local.get $ox))
        (local.set $p (i32.add (local.get $p) (i32.mul (local.get $n) (i32.shl (local.get $B) (i32.const 2)))))
        (if (i32.and (local.get $flags) (i32.const 2))
          (then
            (if (i32.eqz (call $addSums (local.get $B) (local.get $out) (local.get $tableAbs) (local.get $tableX)
                  (i32.load (local.get $q)) (i32.and (i32.shr_u (local.get $flags) (i32.const 2)) (i32.const 1))))
              (then (return (local.get $s))))))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (br $segments)))
    (i32.const -1))
  ;; Pass 2, a whole shard in place, added into a reducer's table: for t in
  ;; [0, nTypes), typeSums over rows order[start[t]..start[t + 1]) of the
  ;; [rows x B] block at $data: when rowOf[t] & 1 (a row new to the table),
  ;; straight into the table row rowOf[t] >> 1 of tableAbs/tableX; else into
  ;; out (f64 [2B]: abs then x), then added to that row. Where one of its
  ;; |x - mu| sums is NaN or infinite, returns t (an existing row gets
  ;; nothing; a new row holds those sums, and the caller fails the block).
  ;; Returns -1 when every type went in.
  ;; The same sums as typeSumsInto over the same rows gathered.
  (func (export "typeSumsInPlace") (param $data i32) (param $B i32) (param $order i32) (param $start i32) (param $nTypes i32)
        (param $rowOf i32) (param $mu i32) (param $out i32) (param $tableAbs i32) (param $tableX i32) (result i32)
    (local $t i32) (local $r i32) (local $row i32)
    (local.set $t (i32.const 0))
    (block $done
      (loop $types
        (br_if $done (i32.ge_u (local.get $t) (local.get $nTypes)))
        (local.set $r (i32.load (i32.add (local.get $rowOf) (i32.shl (local.get $t) (i32.const 2)))))
        (if (i32.and (local.get $r) (i32.const 1))
          (then
            ;; a row new to the table: the sums go straight into it (no copy through $out)
            (local.set $row (i32.mul (i32.shr_u (local.get $r) (i32.const 1)) (i32.shl (local.get $B) (i32.const 3))))
            (call $typeSums (local.get $data) (local.get $B) (local.get $order)
              (i32.load (i32.add (local.get $start) (i32.shl (local.get $t) (i32.const 2))))
              (i32.load offset=4 (i32.add (local.get $start) (i32.shl (local.get $t) (i32.const 2))))
              (local.get $mu) (i32.add (local.get $tableAbs) (local.get $row)) (i32.add (local.get $tableX) (local.get $row)))
            (if (i32.eqz (call $finiteSum (local.get $B) (i32.add (local.get $tableAbs) (local.get $row))))
              (then (return (local.get $t)))))
          (else
            (call $typeSums (local.get $data) (local.get $B) (local.get $order)
              (i32.load (i32.add (local.get $start) (i32.shl (local.get $t) (i32.const 2))))
              (i32.load offset=4 (i32.add (local.get $start) (i32.shl (local.get $t) (i32.const 2))))
              (local.get $mu) (local.get $out) (i32.add (local.get $out) (i32.shl (local.get $B) (i32.const 3))))
            (if (i32.eqz (call $addSums (local.get $B) (local.get $out) (local.get $tableAbs) (local.get $tableX)
                  (i32.shr_u (local.get $r) (i32.const 1)) (i32.const 0)))
              (then (return (local.get $t))))))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $types)))
    (i32.const -1))
  ;; Top sentences, one sentence: over its rows r = 0..rows-1 of the [rows x B]
  ;; f32 block at $data, in order, per neuron j: where |x| > bestAbs[j]
  ;; (strictly: the first token wins ties; NaN never wins) bestAbs, bestVal,
  ;; bestTok take |x|, x, r; mx/mn take x where x > mx / x < mn (NaN never).
  ;; bestAbs/bestVal/mx/mn f32 [B], bestTok i32 [B]; the caller sets bestAbs
  ;; to -1 first. As TopSentences.scan (pipelines/topSentences.ts).
  (func (export "sentenceScan") (param $data i32) (param $rows i32) (param $B i32)
        (param $bestAbs i32) (param $bestVal i32) (param $bestTok i32) (param $mx i32) (param $mn i32)
    (local $r i32) (local $j i32) (local $j4 i32) (local $p i32) (local $B4 i32)
    (local $v v128) (local $a v128) (local $m v128) (local $old v128) (local $tok v128)
    (local $x f32) (local $xa f32) (local $gt i32)
    (local.set $B4 (i32.and (local.get $B) (i32.const -4)))
    (local.set $p (local.get $data))
    (local.set $r (i32.const 0))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $tok (i32x4.splat (local.get $r)))
        (local.set $j (i32.const 0))
        (block $simd_done
          (loop $cols
            (br_if $simd_done (i32.ge_u (local.get $j) (local.get $B4)))
            (local.set $j4 (i32.shl (local.get $j) (i32.const 2)))
            (local.set $v (v128.load (i32.add (local.get $p) (local.get $j4))))
            (local.set $a (f32x4.abs (local.get $v)))
            (local.set $old (v128.load (i32.add (local.get $bestAbs) (local.get $j4))))
            (local.set $m (f32x4.gt (local.get $a) (local.get $old)))
            (v128.store (i32.add (local.get $bestAbs) (local.get $j4)) (v128.bitselect (local.get $a) (local.get $old) (local.get $m)))
            (v128.store (i32.add (local.get $bestVal) (local.get $j4))
              (v128.bitselect (local.get $v) (v128.load (i32.add (local.get $bestVal) (local.get $j4))) (local.get $m)))
            (v128.store (i32.add (local.get $bestTok) (local.get $j4))
              (v128.bitselect (local.get $tok) (v128.load (i32.add (local.get $bestTok) (local.get $j4))) (local.get $m)))
            (local.set $old (v128.load (i32.add (local.get $mx) (local.get $j4))))
            (v128.store (i32.add (local.get $mx) (local.get $j4))
              (v128.bitselect (local.get $v) (local.get $old) (f32x4.gt (local.get $v) (local.get $old))))
            (local.set $old (v128.load (i32.add (local.get $mn) (local.get $j4))))
            (v128.store (i32.add (local.get $mn) (local.get $j4))
              (v128.bitselect (local.get $v) (local.get $old) (f32x4.lt (local.get $v) (local.get $old))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $cols)))
        (block $rem_done
          (loop $rem
            (br_if $rem_done (i32.ge_u (local.get $j) (local.get $B)))
            (local.set $j4 (i32.shl (local.get $j) (i32.const 2)))
            (local.set $x (f32.load (i32.add (local.get $p) (local.get $j4))))
            (local.set $xa (f32.abs (local.get $x)))
            (if (f32.gt (local.get $xa) (f32.load (i32.add (local.get $bestAbs) (local.get $j4))))
              (then
                (f32.store (i32.add (local.get $bestAbs) (local.get $j4)) (local.get $xa))
                (f32.store (i32.add (local.get $bestVal) (local.get $j4)) (local.get $x))
                (i32.store (i32.add (local.get $bestTok) (local.get $j4)) (local.get $r))))
            (if (f32.gt (local.get $x) (f32.load (i32.add (local.get $mx) (local.get $j4))))
              (then (f32.store (i32.add (local.get $mx) (local.get $j4)) (local.get $x))))
            (if (f32.lt (local.get $x) (f32.load (i32.add (local.get $mn) (local.get $j4))))
              (then (f32.store (i32.add (local.get $mn) (local.get $j4)) (local.get $x))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $rem)))
        (local.set $p (i32.add (local.get $p) (i32.shl (local.get $B) (i32.const 2))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows))))
;; Histograms, one value: x (promoted) of block neuron j: NaN -> nan[j] += 1;
  ;; else bin b = 0 when nBins[j] = 1, else floor((x - min[j]) * scale[j])
  ;; clamped to [0, nBins[j] - 1] and moved by one against
  ;; edges[j * (bins + 1) + b] (x < edge(b): b - 1; else x >= edge(b + 1):
  ;; b + 1); counts[j * bins + b] += 1 (nan and counts i32). As
  ;; Histograms.add's JS loop.
  (func $histogramOne (param $x f64) (param $j i32) (param $bins i32)
        (param $nBins i32) (param $min i32) (param $scale i32) (param $edges i32) (param $nan i32) (param $counts i32)
    (local $n i32) (local $b i32) (local $e i32) (local $c i32) (local $t f64)
    (if (f64.ne (local.get $x) (local.get $x))
      (then
        (local.set $c (i32.add (local.get $nan) (i32.shl (local.get $j) (i32.const 2))))
        (i32.store (local.get $c) (i32.add (i32.load (local.get $c)) (i32.const 1)))
        (return)))
    (local.set $n (i32.load (i32.add (local.get $nBins) (i32.shl (local.get $j) (i32.const 2)))))
    (local.set $b (i32.const 0))
    (if (i32.gt_s (local.get $n) (i32.const 1))
      (then
        (local.set $t (f64.floor (f64.mul
          (f64.sub (local.get $x) (f64.load (i32.add (local.get $min) (i32.shl (local.get $j) (i32.const 3)))))
          (f64.load (i32.add (local.get $scale) (i32.shl (local.get $j) (i32.const 3)))))))
        (if (f64.ge (local.get $t) (f64.const 0))
          (then
            (if (f64.ge (local.get $t) (f64.convert_i32_s (local.get $n)))
              (then (local.set $b (i32.sub (local.get $n) (i32.const 1))))
              (else (local.set $b (i32.trunc_f64_s (local.get $t)))))))
        (local.set $e (i32.add (local.get $edges)
          (i32.shl (i32.add (i32.mul (local.get $j) (i32.add (local.get $bins) (i32.const 1))) (local.get $b)) (i32.const 3))))
        (if (i32.and (i32.gt_s (local.get $b) (i32.const 0)) (f64.lt (local.get $x) (f64.load (local.get $e))))
          (then (local.set $b (i32.sub (local.get $b) (i32.const 1))))
          (else
            (if (i32.and (i32.lt_s (i32.add (local.get $b) (i32.const 1)) (local.get $n)) (f64.ge (local.get $x) (f64.load offset=8 (local.get $e))))
              (then (local.set $b (i32.add (local.get $b) (i32.const 1)))))))))
    (local.set $c (i32.add (local.get $counts)
      (i32.shl (i32.add (i32.mul (local.get $j) (local.get $bins)) (local.get $b)) (i32.const 2))))
    (i32.store (local.get $c) (i32.add (i32.load (local.get $c)) (i32.const 1))))
  ;; Histograms, one block: every value of the [rows x B] f32 block at $data,
  ;; row by row, as $histogramOne. Four neurons at a time in float32: with
  ;; r = (x - min32) * scale32, the bin is a = floor(r - eps) when that equals
  ;; floor(r + eps) and lies in [0, top = nBins - 1]. eps = 2^-13 + (nBins +
  ;; 1) * 2^-20 (r is 2^-13 of a bin's width or more from an edge, past
  ;; float32's rounding of r, at most 4 * 2^-24 of it, and the edges' and
  ;; float64's rounding, below 1e-9), 0 for one-bin neurons (scale 0: r = 0,
  ;; bin 0); NaN for a neuron whose min or scale float32 cannot hold (every
  ;; value then goes the exact way). A group with another lane (NaN or
  ;; infinite r, near an edge, out of range) goes value by value, against the
  ;; edges. Counts are i32 (one call adds fewer than 2^31 values) at the byte
  ;; address cbase + 4 * a. nBins i32 [B]; min, scale f64 [B] (the exact
  ;; path's); min32, scale32, eps, top f32 [B]; cbase i32 [B] (the address of
  ;; counts[j * bins] - 4 * 0x4b000000, wrapping); edges f64 [B x (bins + 1)]; nan i32 [B]; counts i32
  ;; [B x bins]. As Histograms.add (pipelines/histogram.ts).
  (func (export "histogramAdd") (param $data i32) (param $rows i32) (param $B i32) (param $bins i32)
        (param $nBins i32) (param $min i32) (param $scale i32) (param $min32 i32) (param $scale32 i32) (param $eps i32) (param $top i32) (param $cbase i32)
        (param $edges i32) (param $nan i32) (param $counts i32)
    (local $r i32) (local $j i32) (local $jj i32) (local $p i32) (local $B4 i32) (local $j4 i32) (local $c i32)
    (local $v v128) (local $x v128) (local $e v128) (local $a v128) (local $zero v128) (local $magic v128)
    (local.set $B4 (i32.and (local.get $B) (i32.const -4)))
    (local.set $zero (f32x4.splat (f32.const 0)))
    (local.set $magic (f32x4.splat (f32.const 8388608)))
    (local.set $p (local.get $data))
    (local.set $r (i32.const 0))
    (block $done
      (loop $rows_loop
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $j (i32.const 0))
        (block $simd_done
          (loop $cols
            (br_if $simd_done (i32.ge_u (local.get $j) (local.get $B4)))
            (local.set $j4 (i32.shl (local.get $j) (i32.const 2)))
            (local.set $v (v128.load (i32.add (local.get $p) (local.get $j4))))
            (local.set $x (f32x4.mul
              (f32x4.sub (local.get $v) (v128.load (i32.add (local.get $min32) (local.get $j4))))
              (v128.load (i32.add (local.get $scale32) (local.get $j4)))))
            (local.set $e (v128.load (i32.add (local.get $eps) (local.get $j4))))
            (local.set $a (f32x4.floor (f32x4.sub (local.get $x) (local.get $e))))
            (if (i32x4.all_true (v128.and
                  (f32x4.eq (local.get $a) (f32x4.floor (f32x4.add (local.get $x) (local.get $e))))
                  (v128.and (f32x4.ge (local.get $a) (local.get $zero)) (f32x4.le (local.get $a) (v128.load (i32.add (local.get $top) (local.get $j4)))))))
              (then
                ;; a + 2^23 holds the integer a in its low mantissa bits (0 <= a < 2^23):
                ;; cbase is pre-biased by -4 * 0x4b000000 (no float to int conversion)
                (local.set $a (i32x4.add (i32x4.shl (f32x4.add (local.get $a) (local.get $magic)) (i32.const 2))
                  (v128.load (i32.add (local.get $cbase) (local.get $j4)))))
                (local.set $c (i32x4.extract_lane 0 (local.get $a)))
                (i32.store (local.get $c) (i32.add (i32.load (local.get $c)) (i32.const 1)))
                (local.set $c (i32x4.extract_lane 1 (local.get $a)))
                (i32.store (local.get $c) (i32.add (i32.load (local.get $c)) (i32.const 1)))
                (local.set $c (i32x4.extract_lane 2 (local.get $a)))
                (i32.store (local.get $c) (i32.add (i32.load (local.get $c)) (i32.const 1)))
                (local.set $c (i32x4.extract_lane 3 (local.get $a)))
                (i32.store (local.get $c) (i32.add (i32.load (local.get $c)) (i32.const 1))))
              (else
                (local.set $jj (i32.const 0))
                (block $ex_done
                  (loop $ex_lanes
                    (br_if $ex_done (i32.ge_u (local.get $jj) (i32.const 4)))
                    (call $histogramOne
                      (f64.promote_f32 (f32.load (i32.add (local.get $p) (i32.shl (i32.add (local.get $j) (local.get $jj)) (i32.const 2)))))
                      (i32.add (local.get $j) (local.get $jj)) (local.get $bins) (local.get $nBins) (local.get $min) (local.get $scale)
                      (local.get $edges) (local.get $nan) (local.get $counts))
                    (local.set $jj (i32.add (local.get $jj) (i32.const 1)))
                    (br $ex_lanes)))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $cols)))
        (block $rem_done
          (loop $rem
            (br_if $rem_done (i32.ge_u (local.get $j) (local.get $B)))
            (call $histogramOne
              (f64.promote_f32 (f32.load (i32.add (local.get $p) (i32.shl (local.get $j) (i32.const 2)))))
              (local.get $j) (local.get $bins) (local.get $nBins) (local.get $min) (local.get $scale)
              (local.get $edges) (local.get $nan) (local.get $counts))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $rem)))
        (local.set $p (i32.add (local.get $p) (i32.shl (local.get $B) (i32.const 2))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows_loop))))
  ;; Top words, pass 2's ranking (pipelines/topWords.ts), over the [nTypes x B]
  ;; f64 table of sum |x - mu| at $sumAbs and the f64 [nTypes] counts.
  ;; Each neuron's best mean, as bestTypeScores: max[j] = the largest
  ;; sumAbs[t * B + j] / count[t] over the types t. max and near f64 [B],
  ;; zeros on entry; a value is divided only when its multiply by 1 / count
  ;; reaches near[j] = max[j] * slack (four neurons screened per branch; a
  ;; division of every value took 1.6 times as long).
  (func (export "typeMax") (param $sumAbs i32) (param $count i32) (param $nTypes i32) (param $B i32)
        (param $max i32) (param $near i32) (param $slack f64)
    (local $t i32) (local $j i32) (local $j8 i32) (local $jj i32) (local $end i32) (local $p i32)
    (local $c f64) (local $inv f64) (local $iv v128) (local $a f64) (local $s f64)
    (local.set $p (local.get $sumAbs))
    (local.set $t (i32.const 0))
    (block $done
      (loop $types
        (br_if $done (i32.ge_u (local.get $t) (local.get $nTypes)))
        (local.set $c (f64.load (i32.add (local.get $count) (i32.shl (local.get $t) (i32.const 3)))))
        (local.set $inv (f64.div (f64.const 1) (local.get $c)))
        (local.set $iv (f64x2.splat (local.get $inv)))
        (local.set $j (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_u (local.get $j) (local.get $B)))
            (local.set $end (i32.add (local.get $j) (i32.const 4)))
            (block $next
              (if (i32.le_u (local.get $end) (local.get $B))
                (then
                  (local.set $j8 (i32.shl (local.get $j) (i32.const 3)))
                  (br_if $next (i32.eqz (v128.any_true (v128.or
                    (f64x2.ge (f64x2.mul (v128.load (i32.add (local.get $p) (local.get $j8))) (local.get $iv))
                      (v128.load (i32.add (local.get $near) (local.get $j8))))
                    (f64x2.ge (f64x2.mul (v128.load offset=16 (i32.add (local.get $p) (local.get $j8))) (local.get $iv))
                      (v128.load offset=16 (i32.add (local.get $near) (local.get $j8)))))))))
                (else (local.set $end (local.get $B))))
              ;; lane by lane: a group with a candidate, or the last B mod 4 neurons
              (local.set $jj (local.get $j))
              (loop $lanes
                (local.set $j8 (i32.shl (local.get $jj) (i32.const 3)))
                (local.set $a (f64.load (i32.add (local.get $p) (local.get $j8))))
                (if (f64.ge (f64.mul (local.get $a) (local.get $inv)) (f64.load (i32.add (local.get $near) (local.get $j8))))
                  (then
                    (local.set $s (f64.div (local.get $a) (local.get $c)))
                    (if (f64.gt (local.get $s) (f64.load (i32.add (local.get $max) (local.get $j8))))
                      (then
                        (f64.store (i32.add (local.get $max) (local.get $j8)) (local.get $s))
                        (f64.store (i32.add (local.get $near) (local.get $j8)) (f64.mul (local.get $s) (local.get $slack)))))))
                (local.set $jj (i32.add (local.get $jj) (i32.const 1)))
                (br_if $lanes (i32.lt_u (local.get $jj) (local.get $end)))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $cols)))
        (local.set $p (i32.add (local.get $p) (i32.shl (local.get $B) (i32.const 3))))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $types))))
  ;; Top words, the top-k scan (as scanTopK, topWords.ts): types in order; per
  ;; neuron j a heap of k (type i32 at $heapT, score f64 at $heapS, slots
  ;; [j * k, j * k + size[j])), its bar and screen (f64 [B], set by the
  ;; caller). sumAbs * (1 / count) is screened against screen[j], four
  ;; neurons per branch; a group with a lane at or above it goes lane by lane:
  ;; scored a / c / max[j] (0 when max[j] is 0), kept when above bar[j]; once
  ;; the heap is full, bar[j] = max(minThreshold, worst kept score) and
  ;; screen[j] = bar * max * slack (-inf when either is 0).
  (func (export "rankTopK") (param $sumAbs i32) (param $count i32) (param $nTypes i32) (param $B i32) (param $max i32)
        (param $k i32) (param $minThreshold f64) (param $slack f64)
        (param $bar i32) (param $screen i32) (param $size i32) (param $heapT i32) (param $heapS i32)
    (local $t i32) (local $j i32) (local $j8 i32) (local $jj i32) (local $end i32) (local $p i32) (local $h i32) (local $n i32)
    (local $c f64) (local $inv f64) (local $iv v128) (local $a f64) (local $m f64) (local $s f64) (local $b f64)
    (local.set $p (local.get $sumAbs))
    (local.set $t (i32.const 0))
    (block $done
      (loop $types
        (br_if $done (i32.ge_u (local.get $t) (local.get $nTypes)))
        (local.set $c (f64.load (i32.add (local.get $count) (i32.shl (local.get $t) (i32.const 3)))))
        (local.set $inv (f64.div (f64.const 1) (local.get $c)))
        (local.set $iv (f64x2.splat (local.get $inv)))
        (local.set $j (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_u (local.get $j) (local.get $B)))
            (local.set $end (i32.add (local.get $j) (i32.const 4)))
            (block $next
              (if (i32.le_u (local.get $end) (local.get $B))
                (then
                  (local.set $j8 (i32.shl (local.get $j) (i32.const 3)))
                  (br_if $next (i32.eqz (v128.any_true (v128.or
                    (f64x2.ge (f64x2.mul (v128.load (i32.add (local.get $p) (local.get $j8))) (local.get $iv))
                      (v128.load (i32.add (local.get $screen) (local.get $j8))))
                    (f64x2.ge (f64x2.mul (v128.load offset=16 (i32.add (local.get $p) (local.get $j8))) (local.get $iv))
                      (v128.load offset=16 (i32.add (local.get $screen) (local.get $j8)))))))))
                (else (local.set $end (local.get $B))))
              ;; lane by lane: a group with a candidate, or the last B mod 4 neurons
              (local.set $jj (local.get $j))
              (loop $lanes
                (block $skip
                  (local.set $j8 (i32.shl (local.get $jj) (i32.const 3)))
                  (local.set $a (f64.load (i32.add (local.get $p) (local.get $j8))))
                  (br_if $skip (f64.lt (f64.mul (local.get $a) (local.get $inv)) (f64.load (i32.add (local.get $screen) (local.get $j8)))))
                  (local.set $m (f64.load (i32.add (local.get $max) (local.get $j8))))
                  (local.set $s (select (f64.div (f64.div (local.get $a) (local.get $c)) (local.get $m)) (f64.const 0) (f64.gt (local.get $m) (f64.const 0))))
                  (br_if $skip (i32.eqz (f64.gt (local.get $s) (f64.load (i32.add (local.get $bar) (local.get $j8))))))
                  (local.set $h (i32.mul (local.get $jj) (local.get $k)))
                  (local.set $n (i32.load (i32.add (local.get $size) (i32.shl (local.get $jj) (i32.const 2)))))
                  (if (i32.lt_s (local.get $n) (local.get $k))
                    (then
                      (call $siftUp (local.get $heapT) (local.get $heapS) (local.get $h) (local.get $n) (local.get $t) (local.get $s))
                      (i32.store (i32.add (local.get $size) (i32.shl (local.get $jj) (i32.const 2))) (i32.add (local.get $n) (i32.const 1))))
                    (else
                      (call $siftDown (local.get $heapT) (local.get $heapS) (local.get $h) (local.get $k) (local.get $t) (local.get $s))))
                  (if (i32.ge_s (i32.add (local.get $n) (i32.const 1)) (local.get $k))
                    (then
                      (local.set $b (f64.max (local.get $minThreshold) (f64.load (i32.add (local.get $heapS) (i32.shl (local.get $h) (i32.const 3))))))
                      (f64.store (i32.add (local.get $bar) (local.get $j8)) (local.get $b))
                      (f64.store (i32.add (local.get $screen) (local.get $j8))
                        (select (f64.mul (f64.mul (local.get $b) (local.get $m)) (local.get $slack)) (f64.const -inf)
                          (i32.and (f64.gt (local.get $m) (f64.const 0)) (f64.gt (local.get $b) (f64.const 0))))))))
                (local.set $jj (i32.add (local.get $jj) (i32.const 1)))
                (br_if $lanes (i32.lt_u (local.get $jj) (local.get $end)))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $cols)))
        (local.set $p (i32.add (local.get $p) (i32.shl (local.get $B) (i32.const 3))))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $types))))
  ;; Adds (t, s) at slot n of the heap at slot h and restores the heap order
  ;; (topWords.ts siftUp). "Below" (inlined: V8 does not inline wasm calls
  ;; here): a lower score, or the same score and a later type.
  (func $siftUp (param $T i32) (param $S i32) (param $h i32) (param $n i32) (param $t i32) (param $s f64)
    (local $i i32) (local $p i32) (local $sp f64) (local $tp i32)
    (local.set $i (local.get $n))
    (block $done
      (loop $up
        (br_if $done (i32.eqz (local.get $i)))
        (local.set $p (i32.shr_u (i32.sub (local.get $i) (i32.const 1)) (i32.const 1)))
        (local.set $sp (f64.load (i32.add (local.get $S) (i32.shl (i32.add (local.get $h) (local.get $p)) (i32.const 3)))))
        (local.set $tp (i32.load (i32.add (local.get $T) (i32.shl (i32.add (local.get $h) (local.get $p)) (i32.const 2)))))
        ;; (t, s) not below the parent: stop
        (br_if $done (i32.eqz (i32.or (f64.lt (local.get $s) (local.get $sp))
          (i32.and (f64.eq (local.get $s) (local.get $sp)) (i32.gt_s (local.get $t) (local.get $tp))))))
        (f64.store (i32.add (local.get $S) (i32.shl (i32.add (local.get $h) (local.get $i)) (i32.const 3))) (local.get $sp))
        (i32.store (i32.add (local.get $T) (i32.shl (i32.add (local.get $h) (local.get $i)) (i32.const 2))) (local.get $tp))
        (local.set $i (local.get $p))
        (br $up)))
    (f64.store (i32.add (local.get $S) (i32.shl (i32.add (local.get $h) (local.get $i)) (i32.const 3))) (local.get $s))
    (i32.store (i32.add (local.get $T) (i32.shl (i32.add (local.get $h) (local.get $i)) (i32.const 2))) (local.get $t)))
  ;; Replaces the root of the full heap (k slots) at slot h by (t, s) and
  ;; restores the order (topWords.ts siftDown; "below" inlined as in $siftUp).
  (func $siftDown (param $T i32) (param $S i32) (param $h i32) (param $k i32) (param $t i32) (param $s f64)
    (local $i i32) (local $l i32) (local $w i32) (local $rb i32) (local $sw f64) (local $tw i32) (local $sr f64) (local $tr i32)
    (local.set $i (i32.const 0))
    (block $done
      (loop $down
        (local.set $l (i32.add (i32.shl (local.get $i) (i32.const 1)) (i32.const 1)))
        (br_if $done (i32.ge_s (local.get $l) (local.get $k)))
        (local.set $sw (f64.load (i32.add (local.get $S) (i32.shl (i32.add (local.get $h) (local.get $l)) (i32.const 3)))))
        (local.set $tw (i32.load (i32.add (local.get $T) (i32.shl (i32.add (local.get $h) (local.get $l)) (i32.const 2)))))
        ;; the right child (slot l + 1, read even past the heap: in memory, and
        ;; then not taken) when it exists and is below the left: without a
        ;; branch, which would be mispredicted half the time
        (local.set $sr (f64.load offset=8 (i32.add (local.get $S) (i32.shl (i32.add (local.get $h) (local.get $l)) (i32.const 3)))))
        (local.set $tr (i32.load offset=4 (i32.add (local.get $T) (i32.shl (i32.add (local.get $h) (local.get $l)) (i32.const 2)))))
        (local.set $rb (i32.and (i32.lt_s (i32.add (local.get $l) (i32.const 1)) (local.get $k))
          (i32.or (f64.lt (local.get $sr) (local.get $sw))
            (i32.and (f64.eq (local.get $sr) (local.get $sw)) (i32.gt_s (local.get $tr) (local.get $tw))))))
        (local.set $w (i32.add (local.get $l) (local.get $rb)))
        (local.set $sw (select (local.get $sr) (local.get $sw) (local.get $rb)))
        (local.set $tw (select (local.get $tr) (local.get $tw) (local.get $rb)))
        ;; the smaller child not below (t, s): stop
        (br_if $done (i32.eqz (i32.or (f64.lt (local.get $sw) (local.get $s))
          (i32.and (f64.eq (local.get $sw) (local.get $s)) (i32.gt_s (local.get $tw) (local.get $t))))))
        (f64.store (i32.add (local.get $S) (i32.shl (i32.add (local.get $h) (local.get $i)) (i32.const 3))) (local.get $sw))
        (i32.store (i32.add (local.get $T) (i32.shl (i32.add (local.get $h) (local.get $i)) (i32.const 2))) (local.get $tw))
        (local.set $i (local.get $w))
        (br $down)))
    (f64.store (i32.add (local.get $S) (i32.shl (i32.add (local.get $h) (local.get $i)) (i32.const 3))) (local.get $s))
    (i32.store (i32.add (local.get $T) (i32.shl (i32.add (local.get $h) (local.get $i)) (i32.const 2))) (local.get $t)))
)
