;; SIMD kernels of top words (pipelines/moments.ts, pipelines/typeScores.ts).
;; Arithmetic is exactly that of their JS fallbacks: per neuron, values in row
;; order, float64 sums (test/topWordsKernels.test.ts checks bit equality).
;; Regenerate pipelines/wasm/topWordsKernels.ts with tools/wasm/build_topwords_kernels.mjs.
(module
  (memory (export "memory") 1)
  ;; Pass 1, one chunk of rows: for the [rows x B] f32 block at $data, with a
  ;; shift K per neuron: s1 += x - K, s2 += (x - K)^2 (f64), mn/mx = min/max (f32).
  (func (export "momentSums") (param $data i32) (param $rows i32) (param $B i32)
        (param $shift i32) (param $s1 i32) (param $s2 i32) (param $mn i32) (param $mx i32)
    (local $r i32) (local $j i32) (local $p i32) (local $B4 i32)
    (local $v v128) (local $lo v128) (local $hi v128) (local $j8 i32) (local $j4 i32)
    (local $x f32) (local $d f64)
    (local.set $B4 (i32.and (local.get $B) (i32.const -4)))
    (local.set $p (local.get $data))
    (local.set $r (i32.const 0))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $j (i32.const 0))
        (block $simd_done
          (loop $cols
            (br_if $simd_done (i32.ge_u (local.get $j) (local.get $B4)))
            (local.set $v (v128.load (i32.add (local.get $p) (i32.shl (local.get $j) (i32.const 2)))))
            (local.set $j8 (i32.shl (local.get $j) (i32.const 3)))
            (local.set $lo (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v)) (v128.load (i32.add (local.get $shift) (local.get $j8)))))
            (local.set $hi (f64x2.sub (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))) (v128.load offset=16 (i32.add (local.get $shift) (local.get $j8)))))
            (v128.store (i32.add (local.get $s1) (local.get $j8)) (f64x2.add (v128.load (i32.add (local.get $s1) (local.get $j8))) (local.get $lo)))
            (v128.store offset=16 (i32.add (local.get $s1) (local.get $j8)) (f64x2.add (v128.load offset=16 (i32.add (local.get $s1) (local.get $j8))) (local.get $hi)))
            (v128.store (i32.add (local.get $s2) (local.get $j8)) (f64x2.add (v128.load (i32.add (local.get $s2) (local.get $j8))) (f64x2.mul (local.get $lo) (local.get $lo))))
            (v128.store offset=16 (i32.add (local.get $s2) (local.get $j8)) (f64x2.add (v128.load offset=16 (i32.add (local.get $s2) (local.get $j8))) (f64x2.mul (local.get $hi) (local.get $hi))))
            (local.set $j4 (i32.shl (local.get $j) (i32.const 2)))
            (v128.store (i32.add (local.get $mn) (local.get $j4)) (f32x4.min (v128.load (i32.add (local.get $mn) (local.get $j4))) (local.get $v)))
            (v128.store (i32.add (local.get $mx) (local.get $j4)) (f32x4.max (v128.load (i32.add (local.get $mx) (local.get $j4))) (local.get $v)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $cols)))
        (block $rem_done
          (loop $rem
            (br_if $rem_done (i32.ge_u (local.get $j) (local.get $B)))
            (local.set $x (f32.load (i32.add (local.get $p) (i32.shl (local.get $j) (i32.const 2)))))
            (local.set $j8 (i32.shl (local.get $j) (i32.const 3)))
            (local.set $d (f64.sub (f64.promote_f32 (local.get $x)) (f64.load (i32.add (local.get $shift) (local.get $j8)))))
            (f64.store (i32.add (local.get $s1) (local.get $j8)) (f64.add (f64.load (i32.add (local.get $s1) (local.get $j8))) (local.get $d)))
            (f64.store (i32.add (local.get $s2) (local.get $j8)) (f64.add (f64.load (i32.add (local.get $s2) (local.get $j8))) (f64.mul (local.get $d) (local.get $d))))
            (local.set $j4 (i32.shl (local.get $j) (i32.const 2)))
            (f32.store (i32.add (local.get $mn) (local.get $j4)) (f32.min (f32.load (i32.add (local.get $mn) (local.get $j4))) (local.get $x)))
            (f32.store (i32.add (local.get $mx) (local.get $j4)) (f32.max (f32.load (i32.add (local.get $mx) (local.get $j4))) (local.get $x)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $rem)))
        (local.set $p (i32.add (local.get $p) (i32.shl (local.get $B) (i32.const 2))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows))))
  ;; Pass 2, one token type: over rows order[k0..k1) (i32 row indices) of the
  ;; [rows x B] f32 block at $data, in order: outAbs[j] = sum |x - mu[j]|,
  ;; outX[j] = sum x (f64 [B] each, overwritten).
  (func (export "typeSums") (param $data i32) (param $B i32) (param $order i32) (param $k0 i32) (param $k1 i32)
        (param $mu i32) (param $outAbs i32) (param $outX i32)
    (local $k i32) (local $j i32) (local $p i32) (local $B4 i32) (local $j8 i32)
    (local $v v128) (local $lo v128) (local $hi v128) (local $x f64)
    (local.set $B4 (i32.and (local.get $B) (i32.const -4)))
    (memory.fill (local.get $outAbs) (i32.const 0) (i32.shl (local.get $B) (i32.const 3)))
    (memory.fill (local.get $outX) (i32.const 0) (i32.shl (local.get $B) (i32.const 3)))
    (local.set $k (local.get $k0))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $k) (local.get $k1)))
        (local.set $p (i32.add (local.get $data)
          (i32.shl (i32.mul (i32.load (i32.add (local.get $order) (i32.shl (local.get $k) (i32.const 2)))) (local.get $B)) (i32.const 2))))
        (local.set $j (i32.const 0))
        (block $simd_done
          (loop $cols
            (br_if $simd_done (i32.ge_u (local.get $j) (local.get $B4)))
            (local.set $v (v128.load (i32.add (local.get $p) (i32.shl (local.get $j) (i32.const 2)))))
            (local.set $j8 (i32.shl (local.get $j) (i32.const 3)))
            (local.set $lo (f64x2.promote_low_f32x4 (local.get $v)))
            (local.set $hi (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))
            (v128.store (i32.add (local.get $outAbs) (local.get $j8))
              (f64x2.add (v128.load (i32.add (local.get $outAbs) (local.get $j8)))
                (f64x2.abs (f64x2.sub (local.get $lo) (v128.load (i32.add (local.get $mu) (local.get $j8)))))))
            (v128.store offset=16 (i32.add (local.get $outAbs) (local.get $j8))
              (f64x2.add (v128.load offset=16 (i32.add (local.get $outAbs) (local.get $j8)))
                (f64x2.abs (f64x2.sub (local.get $hi) (v128.load offset=16 (i32.add (local.get $mu) (local.get $j8)))))))
            (v128.store (i32.add (local.get $outX) (local.get $j8))
              (f64x2.add (v128.load (i32.add (local.get $outX) (local.get $j8))) (local.get $lo)))
            (v128.store offset=16 (i32.add (local.get $outX) (local.get $j8))
              (f64x2.add (v128.load offset=16 (i32.add (local.get $outX) (local.get $j8))) (local.get $hi)))
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
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $rows))))
)
