/*
 * Hand-written wasm SIMD kernels for the training steps that tfjs's wasm
 * backend has no fast kernel for. Built by `npm run build:simd` (clang +
 * wasm-ld, see scripts/build-simd-kernels.ts) into kernels-wasm.ts.
 *
 * The module has its own linear memory: the TypeScript side
 * (simd-kernels.ts) copies operands in above __heap_base, calls one
 * function and copies the result out. Functions never allocate and use no
 * stack, so the whole memory above __heap_base is the caller's.
 *
 * Every layout is NHWC with float32 elements, as in tfjs.
 */
#include <wasm_simd128.h>

typedef float f32;

#define EXPORT(name) __attribute__((export_name(#name)))

/*
 * out[i][0..8) += Σ_p xs[p·xStep + i·xLane] · ys[p·yStep + 0..8) for i < 4:
 * a 4×8 block of a matrix product, summed over `count` steps in eight
 * registers. Eight accumulators, two y vectors and one broadcast x fit
 * x86's sixteen SIMD registers without spilling.
 */
static inline void block4x8(const f32 *xs, int xLane, int xStep, const f32 *ys, int yStep, int count, f32 *out, int outStride) {
  f32 *o0 = out, *o1 = out + outStride, *o2 = out + 2 * outStride, *o3 = out + 3 * outStride;
  v128_t a00 = wasm_v128_load(o0), a01 = wasm_v128_load(o0 + 4);
  v128_t a10 = wasm_v128_load(o1), a11 = wasm_v128_load(o1 + 4);
  v128_t a20 = wasm_v128_load(o2), a21 = wasm_v128_load(o2 + 4);
  v128_t a30 = wasm_v128_load(o3), a31 = wasm_v128_load(o3 + 4);
  for (int p = 0; p < count; p++) {
    v128_t d0 = wasm_v128_load(ys), d1 = wasm_v128_load(ys + 4);
    v128_t s = wasm_v128_load32_splat(xs);
    a00 = wasm_f32x4_add(a00, wasm_f32x4_mul(s, d0));
    a01 = wasm_f32x4_add(a01, wasm_f32x4_mul(s, d1));
    s = wasm_v128_load32_splat(xs + xLane);
    a10 = wasm_f32x4_add(a10, wasm_f32x4_mul(s, d0));
    a11 = wasm_f32x4_add(a11, wasm_f32x4_mul(s, d1));
    s = wasm_v128_load32_splat(xs + 2 * xLane);
    a20 = wasm_f32x4_add(a20, wasm_f32x4_mul(s, d0));
    a21 = wasm_f32x4_add(a21, wasm_f32x4_mul(s, d1));
    s = wasm_v128_load32_splat(xs + 3 * xLane);
    a30 = wasm_f32x4_add(a30, wasm_f32x4_mul(s, d0));
    a31 = wasm_f32x4_add(a31, wasm_f32x4_mul(s, d1));
    xs += xStep;
    ys += yStep;
  }
  wasm_v128_store(o0, a00); wasm_v128_store(o0 + 4, a01);
  wasm_v128_store(o1, a10); wasm_v128_store(o1 + 4, a11);
  wasm_v128_store(o2, a20); wasm_v128_store(o2 + 4, a21);
  wasm_v128_store(o3, a30); wasm_v128_store(o3 + 4, a31);
}

/* The same for one row (the rows left over after blocks of four). */
static inline void block1x8(const f32 *xs, int xStep, const f32 *ys, int yStep, int count, f32 *out) {
  v128_t a0 = wasm_v128_load(out), a1 = wasm_v128_load(out + 4);
  for (int p = 0; p < count; p++) {
    v128_t s = wasm_v128_load32_splat(xs);
    a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(s, wasm_v128_load(ys)));
    a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(s, wasm_v128_load(ys + 4)));
    xs += xStep;
    ys += yStep;
  }
  wasm_v128_store(out, a0);
  wasm_v128_store(out + 4, a1);
}

/* One element of the product (the columns left over after blocks of eight). */
static inline f32 dot(const f32 *xs, int xStep, const f32 *ys, int yStep, int count) {
  f32 sum = 0;
  for (int p = 0; p < count; p++) sum += xs[p * xStep] * ys[p * yStep];
  return sum;
}

/*
 * xp[b][top + r][left + q] = x[b][r][q] for images x [n][h][w][c] placed in
 * xp [n][hp][wp][c], whose other pixels are zero; a negative top or left,
 * or an xp too small, crops the rows and columns that fall outside. The
 * convolutions below read their input padded this way. Each image is
 * written whole, so threads can share the batch.
 */
EXPORT(pad_images)
void pad_images(const f32 *x, f32 *xp, int n, int h, int w, int c, int hp, int wp, int top, int left) {
  const int firstRow = top > 0 ? top : 0, endRow = h + top < hp ? h + top : hp;
  const int firstCol = left > 0 ? left : 0, endCol = w + left < wp ? w + left : wp;
  const int rowFloats = wp * c;
  for (int b = 0; b < n; b++) {
    f32 *image = xp + b * hp * rowFloats;
    if (endRow <= firstRow || endCol <= firstCol) {
      __builtin_memset(image, 0, sizeof(f32) * hp * rowFloats);
      continue;
    }
    __builtin_memset(image, 0, sizeof(f32) * firstRow * rowFloats);
    for (int row = firstRow; row < endRow; row++) {
      f32 *out = image + row * rowFloats;
      __builtin_memset(out, 0, sizeof(f32) * firstCol * c);
      __builtin_memcpy(out + firstCol * c, x + ((b * h + row - top) * w + firstCol - left) * c, sizeof(f32) * (endCol - firstCol) * c);
      __builtin_memset(out + endCol * c, 0, sizeof(f32) * (wp - endCol) * c);
    }
    __builtin_memset(image + endRow * rowFloats, 0, sizeof(f32) * (hp - endRow) * rowFloats);
  }
}

/*
 * A stride-(sh, sw) convolution, on x padded as for the filter gradient below:
 *
 *   y[b][r][q][o] = Σ_{t,u,c} xp[b][r·sh + t][q·sw + u][c] · w[t][u][c][o]
 *
 * For one output row and one filter row t this is a matrix product of the
 * row's pixels (each a contiguous run of kw·ci values in xp) with w[t]
 * viewed as [kw·ci][co], computed in blocks of 4 pixels × 8 channels: co
 * must be a multiple of 8 (conv2d_padded_channels below serves the rest).
 */
EXPORT(conv2d)
void conv2d(const f32 *xp, const f32 *w, f32 *y, int n, int hp, int wp, int ci, int oh, int ow, int co, int kh, int kw,
            int sh, int sw) {
  const int rowTaps = kw * ci;
  const int pixelsBlocked = ow & ~3;
  const int xLane = sw * ci;
  __builtin_memset(y, 0, sizeof(f32) * n * oh * ow * co);
  for (int b = 0; b < n; b++) {
    for (int r = 0; r < oh; r++) {
      f32 *yRow = y + (b * oh + r) * ow * co;
      for (int t = 0; t < kh; t++) {
        const f32 *xRow = xp + (b * hp + r * sh + t) * wp * ci;
        const f32 *wRow = w + t * rowTaps * co;
        for (int o = 0; o < co; o += 8) {
          int q = 0;
          for (; q < pixelsBlocked; q += 4) block4x8(xRow + q * xLane, xLane, 1, wRow + o, co, rowTaps, yRow + q * co + o, co);
          for (; q < ow; q++) block1x8(xRow + q * xLane, 1, wRow + o, co, rowTaps, yRow + q * co + o);
        }
      }
    }
  }
}

/*
 * conv2d, then y ← max(0, y + bias[o]) over its output: a conv layer's
 * bias and ReLU, applied while each slice's output is still in cache
 * instead of by two more kernels over the whole activation. The bias is
 * added with one rounding, as a separate Add would.
 */
EXPORT(conv2d_bias_relu)
void conv2d_bias_relu(const f32 *xp, const f32 *w, const f32 *bias, f32 *y, int n, int hp, int wp, int ci, int oh, int ow,
                      int co, int kh, int kw, int sh, int sw) {
  conv2d(xp, w, y, n, hp, wp, ci, oh, ow, co, kh, kw, sh, sw);
  const int rows = n * oh * ow;
  const int blocked = co & ~3;
  const v128_t zero = wasm_f32x4_splat(0);
  for (int i = 0; i < rows; i++) {
    f32 *row = y + i * co;
    int o = 0;
    for (; o < blocked; o += 4) wasm_v128_store(row + o, wasm_f32x4_pmax(zero, wasm_f32x4_add(wasm_v128_load(row + o), wasm_v128_load(bias + o))));
    for (; o < co; o++) {
      const f32 v = row[o] + bias[o];
      row[o] = 0 < v ? v : 0;
    }
  }
}

/*
 * The filter gradient of a stride-(sh, sw) convolution:
 *
 *   dw[t][u][c][o] = Σ_{b,r,q} x[b][r·sh + t][q·sw + u][c] · dy[b][r][q][o]
 *
 * x must already be zero-padded (and cropped) so that every tap of every
 * output pixel lies inside it: xp is [n][hp][wp][ci] with hp = (oh−1)·sh + kh
 * and wp = (ow−1)·sw + kw. Then, for one filter row t, the kw·ci values a
 * pixel meets are contiguous both in xp and in dw[t], so each (image row,
 * filter row) pair is a small matrix product dw[t] += Xᵀ·dY over the ow
 * pixels of the row, computed in 4×8 register blocks, so co must be a
 * multiple of 8 (conv2d_backprop_filter_padded_channels below serves the
 * rest). The x and dy rows it reads stay in L1 while every block of dw[t]
 * is visited.
 *
 * The images are summed in groups of `group`, each group into its own
 * slice of `dw` (kh·kw·ci·co floats each), which the caller adds up in
 * order: how the sum is grouped then never depends on how many threads
 * share the groups, so results are the same on any machine.
 */
EXPORT(conv2d_backprop_filter)
void conv2d_backprop_filter(const f32 *xp, const f32 *dy, f32 *dw, int n, int group, int hp, int wp, int ci, int oh,
                            int ow, int co, int kh, int kw, int sh, int sw) {
  const int rowTaps = kw * ci;
  const int xStep = sw * ci;
  const int size = kh * rowTaps * co;
  for (int b = 0; b < n; b++) {
    if (b % group == 0) __builtin_memset(dw + (b / group) * size, 0, sizeof(f32) * size);
    for (int r = 0; r < oh; r++) {
      const f32 *dyRow = dy + (b * oh + r) * ow * co;
      for (int t = 0; t < kh; t++) {
        const f32 *xRow = xp + (b * hp + r * sh + t) * wp * ci;
        f32 *dwRow = dw + (b / group) * size + t * rowTaps * co;
        int k = 0;
        for (; k + 4 <= rowTaps; k += 4) {
          for (int o = 0; o < co; o += 8) block4x8(xRow + k, 1, xStep, dyRow + o, co, ow, dwRow + k * co + o, co);
        }
        for (; k < rowTaps; k++) {
          for (int o = 0; o < co; o += 8) block1x8(xRow + k, xStep, dyRow + o, co, ow, dwRow + k * co + o);
        }
      }
    }
  }
}

/*
 * Any channel count for the two convolutions above, whose register blocks
 * take output channels eight at a time: the channel axis of their operands
 * is padded with zero columns to the next multiple of 8 (`stride`), and the
 * padding is dropped from the result. A scalar loop over the last co % 8
 * channels instead ran several times slower per channel, so a slim
 * network's 23 channels cost more than 32 would; the padding costs at most
 * 7 channels' arithmetic and one copy. The padded channels hold zeros
 * throughout, and every real channel is summed in the same order as in a
 * network whose channel count is a multiple of 8.
 */
static inline int padded_channels(int co) { return (co + 7) & ~7; }

/* dst[i][0..stride) = src[i][0..cols) followed by zeros, for rows i. */
EXPORT(widen_columns)
void widen_columns(const f32 *src, f32 *dst, int rows, int cols, int stride) {
  for (int i = 0; i < rows; i++) {
    __builtin_memcpy(dst + i * stride, src + i * cols, sizeof(f32) * cols);
    __builtin_memset(dst + i * stride + cols, 0, sizeof(f32) * (stride - cols));
  }
}

/* dst[i][0..cols) = src[i][0..cols) of rows `stride` floats apart. */
EXPORT(narrow_columns)
void narrow_columns(const f32 *src, f32 *dst, int rows, int cols, int stride) {
  for (int i = 0; i < rows; i++) __builtin_memcpy(dst + i * cols, src + i * stride, sizeof(f32) * cols);
}

/*
 * conv2d (with `bias` not null, conv2d_bias_relu) for co channels of any
 * count: w (and bias) come padded to padded_channels(co) columns by
 * widen_columns, the output is computed into yPadded (n·oh·ow rows of
 * that many) and its first co columns are copied to y.
 */
EXPORT(conv2d_padded_channels)
void conv2d_padded_channels(const f32 *xp, const f32 *w, const f32 *bias, f32 *yPadded, f32 *y, int n, int hp, int wp,
                            int ci, int oh, int ow, int co, int kh, int kw, int sh, int sw) {
  const int stride = padded_channels(co);
  if (bias) conv2d_bias_relu(xp, w, bias, yPadded, n, hp, wp, ci, oh, ow, stride, kh, kw, sh, sw);
  else conv2d(xp, w, yPadded, n, hp, wp, ci, oh, ow, stride, kh, kw, sh, sw);
  narrow_columns(yPadded, y, n * oh * ow, co, stride);
}

/*
 * conv2d_backprop_filter for co channels of any count: dy is widened into
 * dyPadded (n·oh·ow rows of padded_channels(co) floats), and each group's
 * slice of dw holds kh·kw·ci rows of that many (narrowed by the caller
 * once the groups are summed).
 */
EXPORT(conv2d_backprop_filter_padded_channels)
void conv2d_backprop_filter_padded_channels(const f32 *xp, const f32 *dy, f32 *dyPadded, f32 *dw, int n, int group, int hp,
                                            int wp, int ci, int oh, int ow, int co, int kh, int kw, int sh, int sw) {
  const int stride = padded_channels(co);
  widen_columns(dy, dyPadded, n * oh * ow, co, stride);
  conv2d_backprop_filter(xp, dyPadded, dw, n, group, hp, wp, ci, oh, ow, stride, kh, kw, sh, sw);
}

/*
 * dy ← dy · step(y) over `count` floats: the gradient of a ReLU from its
 * output y, with exactly the values tfjs's Step (1 where y > 0, NaN where y
 * is NaN, else 0) then Multiply give, signs of zero and NaNs included.
 */
static void relu_gate(f32 *dy, const f32 *y, int count) {
  const v128_t zero = wasm_f32x4_splat(0), one = wasm_f32x4_splat(1), nan = wasm_f32x4_splat(__builtin_nanf(""));
  const int blocked = count & ~3;
  int i = 0;
  for (; i < blocked; i += 4) {
    const v128_t v = wasm_v128_load(y + i);
    v128_t step = wasm_v128_bitselect(one, zero, wasm_f32x4_gt(v, zero));
    step = wasm_v128_bitselect(nan, step, wasm_f32x4_ne(v, v));
    wasm_v128_store(dy + i, wasm_f32x4_mul(wasm_v128_load(dy + i), step));
  }
  for (; i < count; i++) dy[i] = dy[i] * (y[i] != y[i] ? __builtin_nanf("") : y[i] > 0 ? 1.0f : 0.0f);
}

/*
 * What conv2d_gradients reads and writes, laid out by the caller as
 * consecutive 32-bit words (simd-kernels.ts writes them in this order).
 */
struct conv_gradients {
  const f32 *x;        /* [n][h][w][ci] */
  f32 *xp;             /* [n][oh + kh − 1][ow + kw − 1][ci]: x padded for the filter gradient */
  f32 *dy;             /* [n][oh][ow][co], gated in place when y is set */
  const f32 *y;        /* the ReLU's output, as dy; null where there is no ReLU */
  f32 *dyWide;         /* [n][oh][ow][padded(co)], when co is not a multiple of 8 */
  f32 *dyp;            /* [n][h + kh − 1][w + kw − 1][co]: dy padded for dx; null where dx is not wanted */
  const f32 *wRotated; /* [kh][kw][co][padded(ci)]: the filter rotated 180°, channels swapped, zero columns after ci */
  f32 *dxWide;         /* [n][h][w][padded(ci)], when ci is not a multiple of 8 */
  f32 *dx;             /* [n][h][w][ci] */
  f32 *dwParts;        /* one [kh][kw][ci][padded(co)] sum per group of `group` images */
  int group, h, w, ci, oh, ow, co, kh, kw, top, left;
};

/*
 * The gradients of a stride-1 convolution (with y, of relu(conv + bias))
 * for images [first, end) of the batch, in one slice: dy gated, x padded,
 * dx as conv2d of dy padded by (kh − 1 − top, kw − 1 − left) with the
 * rotated filter, and the filter gradient's group sums, each by the same
 * functions, in the same order, as when they ran as separate calls.
 * `first` must start a group; the caller sums the groups in order and
 * the bias gradient from the gated dy.
 */
EXPORT(conv2d_gradients)
void conv2d_gradients(const struct conv_gradients *p, int first, int end) {
  const int count = end - first;
  if (count <= 0) return;
  const int h = p->h, w = p->w, ci = p->ci, oh = p->oh, ow = p->ow, co = p->co, kh = p->kh, kw = p->kw;
  const int hp = oh + kh - 1, wp = ow + kw - 1;
  const int dyFloats = oh * ow * co;
  f32 *dy = p->dy + first * dyFloats;
  if (p->y) relu_gate(dy, p->y + first * dyFloats, count * dyFloats);
  f32 *xp = p->xp + first * hp * wp * ci;
  pad_images(p->x + first * h * w * ci, xp, count, h, w, ci, hp, wp, p->top, p->left);
  if (p->dyp) {
    const int dyHp = h + kh - 1, dyWp = w + kw - 1;
    f32 *dyp = p->dyp + first * dyHp * dyWp * co;
    pad_images(dy, dyp, count, oh, ow, co, dyHp, dyWp, kh - 1 - p->top, kw - 1 - p->left);
    const int ciStride = padded_channels(ci);
    if (ciStride != ci) {
      conv2d_padded_channels(dyp, p->wRotated, 0, p->dxWide + first * h * w * ciStride, p->dx + first * h * w * ci, count, dyHp,
                             dyWp, co, h, w, ci, kh, kw, 1, 1);
    } else {
      conv2d(dyp, p->wRotated, p->dx + first * h * w * ci, count, dyHp, dyWp, co, h, w, ci, kh, kw, 1, 1);
    }
  }
  const int coStride = padded_channels(co);
  f32 *parts = p->dwParts + (first / p->group) * kh * kw * ci * coStride;
  if (coStride != co) {
    conv2d_backprop_filter_padded_channels(xp, dy, p->dyWide + first * oh * ow * coStride, parts, count, p->group, hp, wp, ci, oh,
                                           ow, co, kh, kw, 1, 1);
  } else {
    conv2d_backprop_filter(xp, dy, parts, count, p->group, hp, wp, ci, oh, ow, co, kh, kw, 1, 1);
  }
}

/*
 * c[m][n] = a[m][k] · b[k][n], row-major. The k axis is taken in slices of
 * 256 so that the slice of b that a column block reads (256×8 floats) stays
 * in L1 while every row block of a passes over it.
 */
EXPORT(matmul)
void matmul(const f32 *a, const f32 *b, f32 *c, int m, int k, int n) {
  const int rowsBlocked = m & ~3;
  const int colsBlocked = n & ~7;
  __builtin_memset(c, 0, sizeof(f32) * m * n);
  for (int k0 = 0; k0 < k; k0 += 256) {
    const int depth = k0 + 256 < k ? 256 : k - k0;
    for (int j = 0; j < colsBlocked; j += 8) {
      const f32 *bBlock = b + k0 * n + j;
      int i = 0;
      for (; i < rowsBlocked; i += 4) block4x8(a + i * k + k0, k, 1, bBlock, n, depth, c + i * n + j, n);
      for (; i < m; i++) block1x8(a + i * k + k0, 1, bBlock, n, depth, c + i * n + j);
    }
    for (int j = colsBlocked; j < n; j++) {
      for (int i = 0; i < m; i++) c[i * n + j] += dot(a + i * k + k0, 1, b + k0 * n + j, n, depth);
    }
  }
}

/*
 * dst[j][i] = src[i][j] for src [rows][cols], in tiles of 8×8 so that the
 * strided side of each tile stays in cache: a product's transposed operand
 * (a dense layer's kernel in dy·Wᵀ), made here instead of by tfjs's
 * Transpose, which walks the strided side without tiles.
 */
EXPORT(transpose)
void transpose(const f32 *src, f32 *dst, int rows, int cols) {
  for (int i0 = 0; i0 < rows; i0 += 8) {
    const int i1 = i0 + 8 < rows ? i0 + 8 : rows;
    for (int j0 = 0; j0 < cols; j0 += 8) {
      const int j1 = j0 + 8 < cols ? j0 + 8 : cols;
      for (int j = j0; j < j1; j++) {
        for (int i = i0; i < i1; i++) dst[j * rows + i] = src[i * cols + j];
      }
    }
  }
}

/*
 * Max-pool gradient: each dy value goes to the first position in its window
 * (row-major) holding the window's maximum, as in tfjs's reference kernel; a
 * window whose values are all NaN or −∞ passes nothing. Four channels are
 * handled at once: a pass over the window finds each lane's winning window
 * index, a second pass adds dy where the index matches.
 */
EXPORT(max_pool_backprop)
void max_pool_backprop(const f32 *x, const f32 *dy, f32 *dx, int n, int h, int w, int c, int oh, int ow, int fh, int fw,
                       int sh, int sw, int padTop, int padLeft) {
  const int cBlocked = c & ~3;
  __builtin_memset(dx, 0, sizeof(f32) * n * h * w * c);
  for (int b = 0; b < n; b++) {
    for (int r = 0; r < oh; r++) {
      const int top = r * sh - padTop;
      const int rowStart = top < 0 ? -top : 0;
      const int rowEnd = top + fh > h ? h - top : fh;
      for (int q = 0; q < ow; q++) {
        const int left = q * sw - padLeft;
        const int colStart = left < 0 ? -left : 0;
        const int colEnd = left + fw > w ? w - left : fw;
        const f32 *g = dy + ((b * oh + r) * ow + q) * c;
        for (int d = 0; d < cBlocked; d += 4) {
          v128_t best = wasm_f32x4_splat(-__builtin_inff());
          v128_t winner = wasm_i32x4_splat(-1);
          for (int i = rowStart; i < rowEnd; i++) {
            for (int j = colStart; j < colEnd; j++) {
              v128_t v = wasm_v128_load(x + ((b * h + top + i) * w + left + j) * c + d);
              v128_t greater = wasm_f32x4_gt(v, best);
              best = wasm_v128_bitselect(v, best, greater);
              winner = wasm_v128_bitselect(wasm_i32x4_splat(i * fw + j), winner, greater);
            }
          }
          v128_t grad = wasm_v128_load(g + d);
          for (int i = rowStart; i < rowEnd; i++) {
            for (int j = colStart; j < colEnd; j++) {
              f32 *target = dx + ((b * h + top + i) * w + left + j) * c + d;
              v128_t hit = wasm_i32x4_eq(winner, wasm_i32x4_splat(i * fw + j));
              wasm_v128_store(target, wasm_f32x4_add(wasm_v128_load(target), wasm_v128_and(grad, hit)));
            }
          }
        }
        for (int d = cBlocked; d < c; d++) {
          f32 best = -__builtin_inff();
          int winner = -1;
          for (int i = rowStart; i < rowEnd; i++) {
            for (int j = colStart; j < colEnd; j++) {
              f32 v = x[((b * h + top + i) * w + left + j) * c + d];
              if (v > best) {
                best = v;
                winner = i * fw + j;
              }
            }
          }
          if (winner >= 0) dx[((b * h + top + winner / fw) * w + left + winner % fw) * c + d] += g[d];
        }
      }
    }
  }
}

/*
 * out[j] = Σ_i x[i·cols + j]: a sum over leading axes (a bias gradient).
 * Rows are summed in blocks of 64 into a partial vector that is then added
 * to the total, which keeps the rounding error of long sums near that of
 * a pairwise sum. `partial` is scratch of `cols` floats.
 */
EXPORT(sum_rows)
void sum_rows(const f32 *x, f32 *out, f32 *partial, int rows, int cols) {
  const int blocked = cols & ~3;
  __builtin_memset(out, 0, sizeof(f32) * cols);
  for (int start = 0; start < rows; start += 64) {
    const int end = start + 64 < rows ? start + 64 : rows;
    __builtin_memset(partial, 0, sizeof(f32) * cols);
    for (int i = start; i < end; i++) {
      const f32 *row = x + i * cols;
      int j = 0;
      for (; j < blocked; j += 4) wasm_v128_store(partial + j, wasm_f32x4_add(wasm_v128_load(partial + j), wasm_v128_load(row + j)));
      for (; j < cols; j++) partial[j] += row[j];
    }
    int j = 0;
    for (; j < blocked; j += 4) wasm_v128_store(out + j, wasm_f32x4_add(wasm_v128_load(out + j), wasm_v128_load(partial + j)));
    for (; j < cols; j++) out[j] += partial[j];
  }
}

/*
 * Σ over rows of f(row) for a [rows][cols] matrix, column by column, in
 * blocks of 64 rows summed into `partial` and then into `out`, as in
 * sum_rows. The BatchNorm kernels below use it for their per-channel sums.
 */
#define SUM_BLOCKED_ROWS(out, partial, rows, cols, vectorTerm, scalarTerm)                                  \
  do {                                                                                                      \
    const int blocked_ = (cols) & ~3;                                                                       \
    __builtin_memset(out, 0, sizeof(f32) * (cols));                                                         \
    for (int start_ = 0; start_ < (rows); start_ += 64) {                                                   \
      const int end_ = start_ + 64 < (rows) ? start_ + 64 : (rows);                                         \
      __builtin_memset(partial, 0, sizeof(f32) * (cols));                                                   \
      for (int i = start_; i < end_; i++) {                                                                 \
        int j = 0;                                                                                          \
        for (; j < blocked_; j += 4) wasm_v128_store(partial + j, wasm_f32x4_add(wasm_v128_load(partial + j), vectorTerm)); \
        for (; j < (cols); j++) partial[j] += scalarTerm;                                                   \
      }                                                                                                     \
      int j = 0;                                                                                            \
      for (; j < blocked_; j += 4) wasm_v128_store(out + j, wasm_f32x4_add(wasm_v128_load(out + j), wasm_v128_load(partial + j))); \
      for (; j < (cols); j++) out[j] += partial[j];                                                         \
    }                                                                                                       \
  } while (0)

/*
 * BatchNorm with the batch's statistics, then ReLU, over x viewed as
 * [rows][cols] (NHWC with cols = channels): the training forward pass.
 *
 *   mean[c] = Σ_i x[i][c] / rows,  variance[c] = Σ_i (x[i][c] − mean[c])² / rows
 *   y[i][c] = max(0, (x[i][c] − mean[c]) · gamma[c] / √(variance[c] + ε) + beta[c])
 *
 * Two passes for the statistics (as tfjs's moments: the variance from the
 * deviations, not from Σx² − rows·mean², which cancels badly) and one for y.
 * `scratch` holds 2·cols floats.
 */
EXPORT(batch_norm_relu)
void batch_norm_relu(const f32 *x, const f32 *gamma, const f32 *beta, f32 *y, f32 *mean, f32 *variance, f32 *scratch,
                     int rows, int cols, f32 epsilon) {
  f32 *partial = scratch, *scale = scratch + cols;
  const f32 perRow = 1.0f / (f32)rows;
  SUM_BLOCKED_ROWS(mean, partial, rows, cols, wasm_v128_load(x + i * cols + j), x[i * cols + j]);
  for (int j = 0; j < cols; j++) mean[j] *= perRow;
  SUM_BLOCKED_ROWS(variance, partial, rows, cols,
                   ({
                     v128_t d_ = wasm_f32x4_sub(wasm_v128_load(x + i * cols + j), wasm_v128_load(mean + j));
                     wasm_f32x4_mul(d_, d_);
                   }),
                   (x[i * cols + j] - mean[j]) * (x[i * cols + j] - mean[j]));
  for (int j = 0; j < cols; j++) {
    variance[j] *= perRow;
    scale[j] = gamma[j] / __builtin_sqrtf(variance[j] + epsilon);
  }
  const int blocked = cols & ~3;
  const v128_t zero = wasm_f32x4_splat(0);
  for (int i = 0; i < rows; i++) {
    const f32 *row = x + i * cols;
    f32 *out = y + i * cols;
    int j = 0;
    for (; j < blocked; j += 4) {
      v128_t v = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(row + j), wasm_v128_load(mean + j)), wasm_v128_load(scale + j));
      wasm_v128_store(out + j, wasm_f32x4_max(zero, wasm_f32x4_add(v, wasm_v128_load(beta + j))));
    }
    for (; j < cols; j++) {
      f32 v = (row[j] - mean[j]) * scale[j] + beta[j];
      out[j] = v > 0 ? v : 0;
    }
  }
}

/*
 * The gradients of batch_norm_relu, the batch statistics included, from its
 * input x, its batch statistics and dy. With g = dy where the ReLU passed
 * (else 0), x̂ the normalised x and s = 1/√(variance + ε):
 *
 *   dbeta[c] = Σ_i g[i][c],  dgamma[c] = Σ_i g[i][c] · x̂[i][c]
 *   dx[i][c] = gamma[c] · s[c] · (g[i][c] − dbeta[c]/rows − x̂[i][c] · dgamma[c]/rows)
 *
 * Where the ReLU passed is recomputed from x with exactly the operations
 * batch_norm_relu applied (the same scale, vector and leftover paths), so
 * it is the same set of elements as y > 0, without copying y in.
 * One pass for the two sums, one for dx. `scratch` holds 3·cols floats.
 */
EXPORT(batch_norm_relu_backprop)
void batch_norm_relu_backprop(const f32 *x, const f32 *dy, const f32 *mean, const f32 *variance, const f32 *gamma,
                              const f32 *beta, f32 *dx, f32 *dgamma, f32 *dbeta, f32 *scratch, int rows, int cols,
                              f32 epsilon) {
  f32 *partial = scratch, *inverse = scratch + cols, *scale = scratch + 2 * cols;
  for (int j = 0; j < cols; j++) {
    inverse[j] = 1.0f / __builtin_sqrtf(variance[j] + epsilon);
    scale[j] = gamma[j] / __builtin_sqrtf(variance[j] + epsilon);
  }
  const v128_t zero = wasm_f32x4_splat(0);
#define PASSED_VECTOR(i, j)                                                                                              \
  wasm_f32x4_gt(wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(x + (i) * cols + (j)), wasm_v128_load(mean + (j))), \
                                              wasm_v128_load(scale + (j))),                                               \
                               wasm_v128_load(beta + (j))),                                                               \
                zero)
#define GATED_VECTOR(i, j) wasm_v128_and(wasm_v128_load(dy + (i) * cols + (j)), PASSED_VECTOR(i, j))
#define GATED_SCALAR(i, j) ((x[(i) * cols + (j)] - mean[j]) * scale[j] + beta[j] > 0 ? dy[(i) * cols + (j)] : 0.0f)
#define NORMALISED_VECTOR(i, j) \
  wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(x + (i) * cols + (j)), wasm_v128_load(mean + (j))), wasm_v128_load(inverse + (j)))
#define NORMALISED_SCALAR(i, j) ((x[(i) * cols + (j)] - mean[j]) * inverse[j])
  SUM_BLOCKED_ROWS(dbeta, partial, rows, cols, GATED_VECTOR(i, j), GATED_SCALAR(i, j));
  SUM_BLOCKED_ROWS(dgamma, partial, rows, cols, wasm_f32x4_mul(GATED_VECTOR(i, j), NORMALISED_VECTOR(i, j)),
                   GATED_SCALAR(i, j) * NORMALISED_SCALAR(i, j));
  const f32 perRow = 1.0f / (f32)rows;
  const int blocked = cols & ~3;
  for (int i = 0; i < rows; i++) {
    int j = 0;
    for (; j < blocked; j += 4) {
      v128_t centred = wasm_f32x4_sub(GATED_VECTOR(i, j), wasm_f32x4_mul(wasm_v128_load(dbeta + j), wasm_f32x4_splat(perRow)));
      v128_t slope = wasm_f32x4_mul(wasm_v128_load(dgamma + j), wasm_f32x4_splat(perRow));
      v128_t coefficient = wasm_f32x4_mul(wasm_v128_load(gamma + j), wasm_v128_load(inverse + j));
      v128_t value = wasm_f32x4_sub(centred, wasm_f32x4_mul(NORMALISED_VECTOR(i, j), slope));
      wasm_v128_store(dx + i * cols + j, wasm_f32x4_mul(coefficient, value));
    }
    for (; j < cols; j++) {
      f32 value = GATED_SCALAR(i, j) - dbeta[j] * perRow - NORMALISED_SCALAR(i, j) * dgamma[j] * perRow;
      dx[i * cols + j] = gamma[j] * inverse[j] * value;
    }
  }
#undef PASSED_VECTOR
#undef GATED_VECTOR
#undef GATED_SCALAR
#undef NORMALISED_VECTOR
#undef NORMALISED_SCALAR
}

/*
 * Adam's update of one variable in one pass, in place. It applies exactly
 * the float32 operations, in the order, that tfjs's AdamOptimizer applies as
 * separate kernels (one rounding per operation, no fused multiply-add, in
 * either build), so the results are the same bits; the scalars arrive
 * already rounded to float32, as tfjs's scalar tensors hold them. With
 * bias1 = 1 − β1ᵗ and bias2 = 1 − β2ᵗ:
 *   m ← m·β1 + g·(1−β1),  v ← v·β2 + g²·(1−β2)
 *   w ← ((m/bias1) / (√(v/bias2) + ε))·(−lr) + w
 */
EXPORT(adam_update)
void adam_update(f32 *w, const f32 *g, f32 *m, f32 *v, int count, f32 beta1, f32 oneMinusBeta1, f32 beta2,
                 f32 oneMinusBeta2, f32 bias1, f32 bias2, f32 epsilon, f32 negativeRate) {
  const int blocked = count & ~3;
  int i = 0;
  for (; i < blocked; i += 4) {
    const v128_t gi = wasm_v128_load(g + i);
    const v128_t mi = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(m + i), wasm_f32x4_splat(beta1)),
                                     wasm_f32x4_mul(gi, wasm_f32x4_splat(oneMinusBeta1)));
    const v128_t vi = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(v + i), wasm_f32x4_splat(beta2)),
                                     wasm_f32x4_mul(wasm_f32x4_mul(gi, gi), wasm_f32x4_splat(oneMinusBeta2)));
    const v128_t corrected = wasm_f32x4_div(mi, wasm_f32x4_splat(bias1));
    const v128_t root = wasm_f32x4_add(wasm_f32x4_sqrt(wasm_f32x4_div(vi, wasm_f32x4_splat(bias2))), wasm_f32x4_splat(epsilon));
    const v128_t step = wasm_f32x4_mul(wasm_f32x4_div(corrected, root), wasm_f32x4_splat(negativeRate));
    wasm_v128_store(w + i, wasm_f32x4_add(step, wasm_v128_load(w + i)));
    wasm_v128_store(m + i, mi);
    wasm_v128_store(v + i, vi);
  }
  for (; i < count; i++) {
    const f32 mi = m[i] * beta1 + g[i] * oneMinusBeta1;
    const f32 vi = v[i] * beta2 + (g[i] * g[i]) * oneMinusBeta2;
    w[i] = ((mi / bias1) / (__builtin_sqrtf(vi / bias2) + epsilon)) * negativeRate + w[i];
    m[i] = mi;
    v[i] = vi;
  }
}

