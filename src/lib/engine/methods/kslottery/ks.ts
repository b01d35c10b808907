/**
 * The two-sample Kolmogorov-Smirnov test, as KS-Lottery applies it to one
 * parameter row before and after a probe fine-tuning. Plain TypeScript, no
 * tfjs: the rows arrive as Float32Arrays read back once.
 *
 * The p-value is SciPy's `ks_2samp(a, b, method='asymp')` (two-sided) as of
 * SciPy 1.5 and later: the distribution of the one-sample Kolmogorov
 * statistic D_n at the effective size n = round(n1·n2/(n1+n2)) (rounding
 * half to even, as NumPy does), evaluated as Simard & L'Ecuyer (2011)
 * recommend, region by region: closed forms near the ends, the exact
 * Durbin matrix (Marsaglia, Tsang & Wang 2003) for small n·d², twice the
 * exact one-sided Smirnov tail (Birnbaum & Tingey) for large ones, and
 * the Pelz-Good expansion for large n in between. Older SciPy (and the
 * notes in next-methods.md) used the limiting Kolmogorov law Q(√n_e·D),
 * which overstates p for rows as short as a first conv filter's 27 values.
 */

/** The statistic D = sup_t |F_a(t) − F_b(t)| of the two empirical CDFs; ties are handled as SciPy does (right-continuous CDFs). */
export function ksStatistic(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length === 0 || b.length === 0) throw new Error('ksStatistic: both samples need at least one value');
  const x = Float64Array.from(a).sort();
  const y = Float64Array.from(b).sort();
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    // Step past every value equal to the smaller head in both samples, then compare the CDFs there.
    const t = Math.min(x[i], y[j]);
    while (i < x.length && x[i] <= t) i++;
    while (j < y.length && y[j] <= t) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return d;
}

/** NumPy's `round`: halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** The effective sample size SciPy's asymptotic mode uses: round(n1·n2/(n1+n2)). */
export function effectiveSize(n1: number, n2: number): number {
  return roundHalfEven((n1 * n2) / (n1 + n2));
}

export interface KsResult {
  statistic: number;
  pValue: number;
}

/** Two-sided two-sample KS test: D and SciPy's asymptotic-mode p-value. */
export function ksTwoSample(a: ArrayLike<number>, b: ArrayLike<number>): KsResult {
  const statistic = ksStatistic(a, b);
  return { statistic, pValue: kolmogorovSf(effectiveSize(a.length, b.length), statistic) };
}

function clip01(p: number): number {
  return Math.min(1, Math.max(0, p));
}

function logFactorial(n: number): number {
  let s = 0;
  for (let i = 2; i <= n; i++) s += Math.log(i);
  return s;
}

/**
 * P(D_n^+ ≥ x), the one-sided Smirnov tail, by the exact Birnbaum-Tingey sum
 * x·Σ_{j ≤ n(1−x)} C(n, j)(1 − x − j/n)^(n−j)(x + j/n)^(j−1), in logs:
 * every term is positive, so nothing cancels.
 */
export function smirnovSf(n: number, x: number): number {
  if (x <= 0) return 1;
  if (x >= 1) return 0;
  const last = Math.floor(n * (1 - x) + 1e-12);
  let logC = 0; // log C(n, j)
  let sum = 0;
  for (let j = 0; j <= last; j++) {
    if (j > 0) logC += Math.log((n - j + 1) / j);
    const rest = 1 - x - j / n;
    if (rest <= 0) break;
    sum += Math.exp(logC + (n - j) * Math.log(rest) + (j - 1) * Math.log(x + j / n));
  }
  return clip01(x * sum);
}

/**
 * P(D_n < d) by the Durbin matrix, as Marsaglia, Tsang & Wang (2003) set it
 * out: n!/n^n · (H^n)[k−1][k−1] with k = ⌊nd⌋ + 1, h = k − nd and H the
 * (2k−1)² matrix below. The power is taken by squaring, rescaling by powers
 * of two so that nothing overflows.
 */
export function durbinCdf(n: number, d: number): number {
  const k = Math.floor(n * d) + 1;
  const m = 2 * k - 1;
  const h = k - n * d;
  const H = new Float64Array(m * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) H[i * m + j] = i - j + 1 >= 0 ? 1 : 0;
  for (let i = 0; i < m; i++) {
    H[i * m] -= Math.pow(h, i + 1);
    H[(m - 1) * m + i] -= Math.pow(h, m - i);
  }
  if (2 * h - 1 > 0) H[(m - 1) * m] += Math.pow(2 * h - 1, m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      const g = i - j + 1;
      if (g > 0) H[i * m + j] /= Math.exp(logFactorial(g));
    }
  }
  const multiply = (a: Float64Array, b: Float64Array): Float64Array => {
    const c = new Float64Array(m * m);
    for (let i = 0; i < m; i++) {
      for (let l = 0; l < m; l++) {
        const ail = a[i * m + l];
        if (ail === 0) continue;
        for (let j = 0; j < m; j++) c[i * m + j] += ail * b[l * m + j];
      }
    }
    return c;
  };
  // Keeps |entries| near 1 and returns the log2 of the factor taken out.
  const rescale = (a: Float64Array): number => {
    let max = 0;
    for (const v of a) max = Math.max(max, Math.abs(v));
    if (max === 0) return 0;
    const e = Math.round(Math.log2(max));
    const f = Math.pow(2, -e);
    for (let i = 0; i < a.length; i++) a[i] *= f;
    return e;
  };
  let result: Float64Array | null = null;
  let resultExp = 0;
  let base: Float64Array = H;
  let baseExp = 0;
  for (let p = n; p > 0; p = Math.floor(p / 2)) {
    if (p % 2 === 1) {
      if (result === null) {
        result = base.slice();
        resultExp = baseExp;
      } else {
        result = multiply(result, base);
        resultExp += baseExp;
      }
      resultExp += rescale(result);
    }
    if (p > 1) {
      base = multiply(base, base);
      baseExp *= 2;
      baseExp += rescale(base);
    }
  }
  const entry = result![(k - 1) * m + (k - 1)];
  if (entry <= 0) return 0;
  const logP = logFactorial(n) - n * Math.log(n) + Math.log(entry) + resultExp * Math.LN2;
  return clip01(Math.exp(logP));
}

/** P(D_n ≤ x) by the Pelz-Good (1976) expansion in 1/√n, for large n and moderate n·x². */
export function pelzGoodCdf(n: number, x: number): number {
  const z = Math.sqrt(n) * x;
  if (z < 0.05) return 0;
  const pi2 = Math.PI ** 2;
  const z2 = z * z;
  const z4 = z2 * z2;
  const z6 = z4 * z2;
  const z8 = z4 * z4;
  const sqrt2pi = Math.sqrt(2 * Math.PI);
  const terms = Math.ceil((16 * z) / Math.PI);
  // Sums over odd m = 2k − 1 of polynomials in m² times exp(−π² m² / (8 z²)).
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let k = 1; k <= terms; k++) {
    const m2 = (2 * k - 1) ** 2;
    const w = Math.exp((-pi2 * m2) / (8 * z2));
    s0 += w;
    s1 += (-z2 + (pi2 * m2) / 4) * w;
    s2 += (6 * z6 + 2 * z4 + ((2 * z4 - 5 * z2) * pi2 * m2) / 4 + (pi2 * pi2 * (1 - 2 * z2) * m2 * m2) / 16) * w;
    s3 +=
      (-30 * z6 -
        90 * z8 +
        ((135 * z4 - 96 * z6) * pi2 * m2) / 4 +
        (pi2 * pi2 * (212 * z4 - 60 * z2) * m2 * m2) / 16 +
        (pi2 ** 3 * (5 - 30 * z2) * m2 ** 3) / 64) *
      w;
  }
  // Sums over all k of k²·exp(−π² k² / (2 z²)), for the second and third terms.
  let t2 = 0;
  let t3 = 0;
  for (let k = 1; k <= terms; k++) {
    const w = k * k * Math.exp((-pi2 * k * k) / (2 * z2));
    t2 += w;
    t3 += (3 * z2 - pi2 * k * k) * w;
  }
  const k0 = (sqrt2pi / z) * s0;
  const k1 = (sqrt2pi / (6 * z4)) * s1;
  const k2 = (sqrt2pi / (72 * z ** 7)) * s2 - ((pi2 * sqrt2pi) / (36 * z ** 3)) * t2;
  const k3 = (sqrt2pi / (6480 * z ** 10)) * s3 + ((pi2 * sqrt2pi) / (216 * z6)) * t3;
  return k0 + k1 / Math.sqrt(n) + k2 / n + k3 / n ** 1.5;
}

/**
 * P(D_n ≥ x) for the one-sample two-sided Kolmogorov statistic: SciPy's
 * `kstwo.sf(x, n)`, with its choice of method in each region (Simard &
 * L'Ecuyer 2011), so the p-values agree to rounding.
 */
export function kolmogorovSf(n: number, x: number): number {
  if (!Number.isInteger(n) || n <= 0) throw new Error(`kolmogorovSf: n must be a positive integer, got ${n}`);
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    // Ruben & Gambino: P(D_n < x) = n!/n^n (2t − 1)^n for 1/2n ≤ x ≤ 1/n.
    if (t <= 0.5) return 1;
    return clip01(1 - Math.exp(logFactorial(n) - n * Math.log(n) + n * Math.log(2 * t - 1)));
  }
  if (t >= n - 1) return clip01(2 * (1 - x) ** n);
  if (x >= 0.5) return clip01(2 * smirnovSf(n, x));
  const nx2 = t * x;
  if (n <= 140) {
    if (nx2 <= 4) return clip01(1 - durbinCdf(n, x));
    return clip01(2 * smirnovSf(n, x));
  }
  if (nx2 >= 370) return 0;
  if (nx2 >= 2.2) return clip01(2 * smirnovSf(n, x));
  if (n <= 100_000 && n * x ** 1.5 <= 1.4) return clip01(1 - durbinCdf(n, x));
  return clip01(1 - pelzGoodCdf(n, x));
}
