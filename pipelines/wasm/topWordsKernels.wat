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
  ;; outX[j] = sum x (f64 [B] each, overwritten). Rows go four at a time,
  ;; acc + ((r0 + r1) + (r2 + r3)), then one at a time: as the JS fallback.
  (func (export "typeSums") (param $data i32) (param $B i32) (param $order i32) (param $k0 i32) (param $k1 i32)
        (param $mu i32) (param $outAbs i32) (param $outX i32)
    (local $k i32) (local $j i32) (local $p i32) (local $B4 i32) (local $j8 i32) (local $j4 i32) (local $rowBytes i32)
    (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32)
    (local $v v128) (local $lo v128) (local $hi v128) (local $x f64)
    (local $mlo v128) (local $mhi v128)
    (local $l0 v128) (local $l1 v128) (local $l2 v128) (local $l3 v128)
    (local $h0 v128) (local $h1 v128) (local $h2 v128) (local $h3 v128)
    (local $m f64) (local $x0 f64) (local $x1 f64) (local $x2 f64) (local $x3 f64)
    (local.set $B4 (i32.and (local.get $B) (i32.const -4)))
    (local.set $rowBytes (i32.shl (local.get $B) (i32.const 2)))
    (memory.fill (local.get $outAbs) (i32.const 0) (i32.shl (local.get $B) (i32.const 3)))
    (memory.fill (local.get $outX) (i32.const 0) (i32.shl (local.get $B) (i32.const 3)))
    (local.set $k (local.get $k0))
    (block $groups_done
      (loop $groups
        (br_if $groups_done (i32.gt_u (i32.add (local.get $k) (i32.const 4)) (local.get $k1)))
        (local.set $p0 (i32.add (local.get $data) (i32.mul (i32.load (i32.add (local.get $order) (i32.shl (local.get $k) (i32.const 2)))) (local.get $rowBytes))))
        (local.set $p1 (i32.add (local.get $data) (i32.mul (i32.load offset=4 (i32.add (local.get $order) (i32.shl (local.get $k) (i32.const 2)))) (local.get $rowBytes))))
        (local.set $p2 (i32.add (local.get $data) (i32.mul (i32.load offset=8 (i32.add (local.get $order) (i32.shl (local.get $k) (i32.const 2)))) (local.get $rowBytes))))
        (local.set $p3 (i32.add (local.get $data) (i32.mul (i32.load offset=12 (i32.add (local.get $order) (i32.shl (local.get $k) (i32.const 2)))) (local.get $rowBytes))))
        (local.set $j (i32.const 0))
        (block $gsimd_done
          (loop $gcols
            (br_if $gsimd_done (i32.ge_u (local.get $j) (local.get $B4)))
            (local.set $j4 (i32.shl (local.get $j) (i32.const 2)))
            (local.set $j8 (i32.shl (local.get $j) (i32.const 3)))
            (local.set $mlo (v128.load (i32.add (local.get $mu) (local.get $j8))))
            (local.set $mhi (v128.load offset=16 (i32.add (local.get $mu) (local.get $j8))))
            (local.set $v (v128.load (i32.add (local.get $p0) (local.get $j4))))
            (local.set $l0 (f64x2.promote_low_f32x4 (local.get $v)))
            (local.set $h0 (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))
            (local.set $v (v128.load (i32.add (local.get $p1) (local.get $j4))))
            (local.set $l1 (f64x2.promote_low_f32x4 (local.get $v)))
            (local.set $h1 (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))
            (local.set $v (v128.load (i32.add (local.get $p2) (local.get $j4))))
            (local.set $l2 (f64x2.promote_low_f32x4 (local.get $v)))
            (local.set $h2 (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))
            (local.set $v (v128.load (i32.add (local.get $p3) (local.get $j4))))
            (local.set $l3 (f64x2.promote_low_f32x4 (local.get $v)))
            (local.set $h3 (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))
            (v128.store (i32.add (local.get $outAbs) (local.get $j8))
              (f64x2.add (v128.load (i32.add (local.get $outAbs) (local.get $j8)))
                (f64x2.add
                  (f64x2.add (f64x2.abs (f64x2.sub (local.get $l0) (local.get $mlo))) (f64x2.abs (f64x2.sub (local.get $l1) (local.get $mlo))))
                  (f64x2.add (f64x2.abs (f64x2.sub (local.get $l2) (local.get $mlo))) (f64x2.abs (f64x2.sub (local.get $l3) (local.get $mlo)))))))
            (v128.store offset=16 (i32.add (local.get $outAbs) (local.get $j8))
              (f64x2.add (v128.load offset=16 (i32.add (local.get $outAbs) (local.get $j8)))
                (f64x2.add
                  (f64x2.add (f64x2.abs (f64x2.sub (local.get $h0) (local.get $mhi))) (f64x2.abs (f64x2.sub (local.get $h1) (local.get $mhi))))
                  (f64x2.add (f64x2.abs (f64x2.sub (local.get $h2) (local.get $mhi))) (f64x2.abs (f64x2.sub (local.get $h3) (local.get $mhi)))))))
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
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $groups)))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $k) (local.get $k1)))
        (local.set $p (i32.add (local.get $data)
          (i32.mul (i32.load (i32.add (local.get $order) (i32.shl (local.get $k) (i32.const 2)))) (local.get $rowBytes))))
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
;; Histograms, one block: for each value x of the [rows x B] f32 block at
  ;; $data, row by row, neuron j: NaN -> nan[j] += 1; else bin b = 0 when
  ;; nBins[j] = 1, else floor((x - min[j]) * scale[j]) clamped to
  ;; [0, nBins[j] - 1] and moved by one against edges[j * (bins + 1) + b]
  ;; (x < edge(b): b - 1; else x >= edge(b + 1): b + 1); counts[j * bins + b] += 1.
  ;; nBins i32 [B], min/scale/nan f64 [B], edges f64 [B x (bins + 1)], counts
  ;; f64 [B x bins]. As Histograms.add (pipelines/histogram.ts).
  (func (export "histogramAdd") (param $data i32) (param $rows i32) (param $B i32) (param $bins i32)
        (param $nBins i32) (param $min i32) (param $scale i32) (param $edges i32) (param $nan i32) (param $counts i32)
    (local $r i32) (local $j i32) (local $p i32) (local $n i32) (local $b i32) (local $e i32) (local $c i32)
    (local $x f64) (local $t f64)
    (local.set $p (local.get $data))
    (local.set $r (i32.const 0))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $j (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_u (local.get $j) (local.get $B)))
            (local.set $x (f64.promote_f32 (f32.load (i32.add (local.get $p) (i32.shl (local.get $j) (i32.const 2))))))
            (if (f64.ne (local.get $x) (local.get $x))
              (then
                (f64.store (i32.add (local.get $nan) (i32.shl (local.get $j) (i32.const 3)))
                  (f64.add (f64.load (i32.add (local.get $nan) (i32.shl (local.get $j) (i32.const 3)))) (f64.const 1))))
              (else
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
                    ;; edge table entry of bin b (f64 [bins + 1] per neuron)
                    (local.set $e (i32.add (local.get $edges)
                      (i32.shl (i32.add (i32.mul (local.get $j) (i32.add (local.get $bins) (i32.const 1))) (local.get $b)) (i32.const 3))))
                    (if (i32.and (i32.gt_s (local.get $b) (i32.const 0)) (f64.lt (local.get $x) (f64.load (local.get $e))))
                      (then (local.set $b (i32.sub (local.get $b) (i32.const 1))))
                      (else
                        (if (i32.and (i32.lt_s (i32.add (local.get $b) (i32.const 1)) (local.get $n)) (f64.ge (local.get $x) (f64.load offset=8 (local.get $e))))
                          (then (local.set $b (i32.add (local.get $b) (i32.const 1)))))))))
                (local.set $c (i32.add (local.get $counts)
                  (i32.shl (i32.add (i32.mul (local.get $j) (local.get $bins)) (local.get $b)) (i32.const 3))))
                (f64.store (local.get $c) (f64.add (f64.load (local.get $c)) (f64.const 1)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $cols)))
        (local.set $p (i32.add (local.get $p) (i32.shl (local.get $B) (i32.const 2))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows))))
)
