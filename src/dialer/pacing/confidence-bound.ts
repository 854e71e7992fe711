/**
 * One-sided upper confidence bounds of a proportion (abandoned among answered), for counts that may be fractional
 * (AMD false positives are counted as fractions of a call). Pure functions, no state.
 *
 * - Wilson score bound: the p at which a one-sided score test at `confidence` would just reject the observed rate.
 *   Closed form, close to nominal coverage, never below the observed rate; the default.
 * - Clopper–Pearson ("exact") bound: the p with P(X ≤ x | n, p) = 1 − confidence, i.e. the `confidence` quantile of
 *   Beta(x + 1, n − x). Never below nominal coverage, so a little wider than Wilson; computed by bisection.
 */

export type BoundMethod = 'wilson' | 'clopper-pearson';

/** Upper bound of the rate x/n at `confidence` (e.g. 0.95). 1 when n = 0. */
export function upperBound(method: BoundMethod, x: number, n: number, confidence: number): number {
  if (!(n > 0)) return 1;
  const k = Math.min(Math.max(x, 0), n);
  if (method === 'wilson') return wilsonUpper(k, n, normalQuantile(confidence));
  return clopperPearsonUpper(k, n, confidence);
}

/**
 * The highest rate the window may run at with n answered calls so that its upper bound stays at or below `cap`:
 * the largest p̂ with upperBound(p̂·n, n) ≤ cap; 0 when even no abandon at all leaves the bound above the cap
 * (too few calls yet to be confident of anything).
 */
export function safeRate(method: BoundMethod, n: number, cap: number, confidence: number): number {
  if (!(n > 0)) return 0;
  if (method === 'wilson') {
    // The Wilson bound U of p̂ solves (U − p̂)² = z²U(1 − U)/n, so U = cap exactly at p̂ = cap − z·√(cap(1 − cap)/n).
    const z = normalQuantile(confidence);
    return Math.max(0, cap - z * Math.sqrt((cap * (1 - cap)) / n));
  }
  if (clopperPearsonUpper(0, n, confidence) > cap) return 0;
  let lo = 0;
  let hi = cap;
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (clopperPearsonUpper(mid * n, n, confidence) <= cap) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** Wilson score upper bound with the normal quantile z (1.645 for one-sided 95 %). */
export function wilsonUpper(x: number, n: number, z: number): number {
  if (!(n > 0)) return 1;
  const p = Math.min(1, Math.max(0, x / n));
  const z2 = z * z;
  return Math.min(1, (p + z2 / (2 * n) + z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n));
}

/** Clopper–Pearson upper bound: the `confidence` quantile of Beta(x + 1, n − x); 1 when x ≥ n. */
export function clopperPearsonUpper(x: number, n: number, confidence: number): number {
  if (!(n > 0) || x >= n) return 1;
  const a = Math.max(0, x) + 1;
  const b = n - Math.max(0, x);
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (regularizedBeta(mid, a, b) < confidence) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** Standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`confidence must be in (0, 1) (got ${p})`);
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/** I_x(a, b), the regularized incomplete beta function (continued fraction, modified Lentz). */
function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return (front * betaFraction(x, a, b)) / a;
  return 1 - (front * betaFraction(1 - x, b, a)) / b;
}

function betaFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const step = d * c;
    h *= step;
    if (Math.abs(step - 1) < 1e-12) break;
  }
  return h;
}

/** log Γ(x) for x > 0 (Lanczos, g = 7, n = 9). */
function logGamma(x: number): number {
  const g = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const y = x - 1;
  let sum = g[0]!;
  for (let i = 1; i < 9; i++) sum += g[i]! / (y + i);
  const t = y + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(sum);
}
