/* Quickbeam bench: numeric kernels on arrays. An iterative radix-2 complex FFT in f64 (twiddles from
 * half-angle recurrences, so no libm) run forward and inverse with a round-trip error check, a
 * convolution of two integer sequences through the FFT, and a blocked single-precision matrix multiply.
 * argv[1] = log2 of the FFT size, argv[2] = repetitions of the forward/inverse pair. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <math.h>

typedef struct { double re, im; } cpx;

/* cos and sin of pi / 2^k for k = 0..63, from cos(pi) = -1 by half-angle steps */
static double cos_tab[64], sin_tab[64];
static void init_twiddles(void) {
  double c = -1.0, s = 0.0;
  cos_tab[0] = c; sin_tab[0] = s;
  for (int k = 1; k < 64; k++) {
    double nc = sqrt((1.0 + c) / 2.0);
    double ns = k == 1 ? 1.0 : s / (2.0 * nc);
    c = nc; s = ns; cos_tab[k] = c; sin_tab[k] = s;
  }
}

static void fft(cpx *a, int logn, int inverse) {
  int n = 1 << logn;
  for (int i = 1, j = 0; i < n; i++) {           /* bit reversal */
    int bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) { cpx t = a[i]; a[i] = a[j]; a[j] = t; }
  }
  for (int s = 1; s <= logn; s++) {
    int m = 1 << s, half = m >> 1;
    double wr = cos_tab[s - 1], wi = inverse ? sin_tab[s - 1] : -sin_tab[s - 1];
    for (int k = 0; k < n; k += m) {
      double ur = 1.0, ui = 0.0;
      for (int j = 0; j < half; j++) {
        cpx *p = &a[k + j], *q = &a[k + j + half];
        double tr = ur * q->re - ui * q->im, ti = ur * q->im + ui * q->re;
        q->re = p->re - tr; q->im = p->im - ti;
        p->re += tr; p->im += ti;
        double nr = ur * wr - ui * wi; ui = ur * wi + ui * wr; ur = nr;
      }
    }
  }
  if (inverse) for (int i = 0; i < n; i++) { a[i].re /= n; a[i].im /= n; }
}

static uint32_t lcg = 1;
static uint32_t rnd(void) { lcg = lcg * 1664525u + 1013904223u; return lcg >> 8; }

static void matmul(const float *a, const float *b, float *c, int n) {
  const int B = 32;
  memset(c, 0, sizeof(float) * (size_t)(n * n));
  for (int ii = 0; ii < n; ii += B)
    for (int kk = 0; kk < n; kk += B)
      for (int jj = 0; jj < n; jj += B)
        for (int i = ii; i < ii + B && i < n; i++)
          for (int k = kk; k < kk + B && k < n; k++) {
            float aik = a[i * n + k];
            for (int j = jj; j < jj + B && j < n; j++) c[i * n + j] += aik * b[k * n + j];
          }
}

int main(int argc, char **argv) {
  int logn = argc > 1 ? atoi(argv[1]) : 14, reps = argc > 2 ? atoi(argv[2]) : 4;
  int n = 1 << logn;
  init_twiddles();
  printf("fft: n=2^%d, %d round trips\n", logn, reps);
  cpx *x = malloc(sizeof(cpx) * (size_t)n), *y = malloc(sizeof(cpx) * (size_t)n);
  lcg = 99;
  for (int i = 0; i < n; i++) { x[i].re = (double)(rnd() % 2001) / 1000.0 - 1.0; x[i].im = 0; }
  memcpy(y, x, sizeof(cpx) * (size_t)n);
  double spec = 0;
  for (int r = 0; r < reps; r++) {
    fft(y, logn, 0);
    if (r == 0) for (int i = 0; i < n; i++) spec += sqrt(y[i].re * y[i].re + y[i].im * y[i].im);
    fft(y, logn, 1);
  }
  double err = 0;
  for (int i = 0; i < n; i++) { double d = fabs(y[i].re - x[i].re) + fabs(y[i].im); if (d > err) err = d; }
  printf("spectrum L1 = %.6f, round-trip max error %s 1e-9\n", spec, err < 1e-9 ? "<" : ">=");

  /* exact integer convolution of two digit strings (a big multiplication) through the FFT */
  int m = n / 2;
  for (int i = 0; i < n; i++) { x[i].re = i < m ? (double)(rnd() % 10) : 0; x[i].im = i < m ? (double)(rnd() % 10) : 0; }
  fft(x, logn, 0);
  for (int i = 0; i < n; i++) {                   /* product of the two real inputs packed as re and im */
    int j = (n - i) & (n - 1);
    double ar = (x[i].re + x[j].re) / 2, ai = (x[i].im - x[j].im) / 2;
    double br = (x[i].im + x[j].im) / 2, bi = (x[j].re - x[i].re) / 2;
    y[i].re = ar * br - ai * bi; y[i].im = ar * bi + ai * br;
  }
  fft(y, logn, 1);
  uint64_t h = 1469598103934665603ull; long long maxc = 0;
  for (int i = 0; i < n; i++) {
    long long v = (long long)floor(y[i].re + 0.5);
    if (v > maxc) maxc = v;
    h = (h ^ (uint64_t)v) * 1099511628211ull;
  }
  printf("convolution: max coefficient %lld, hash %016llx\n", maxc, (unsigned long long)h);

  int mn = 32 * (logn - 7);
  float *a = malloc(sizeof(float) * (size_t)(mn * mn)), *b = malloc(sizeof(float) * (size_t)(mn * mn)),
        *c = malloc(sizeof(float) * (size_t)(mn * mn));
  for (int i = 0; i < mn * mn; i++) { a[i] = (float)(rnd() % 17) * 0.125f - 1.0f; b[i] = (float)(rnd() % 13) * 0.25f - 1.5f; }
  matmul(a, b, c, mn);
  double tr = 0, sum = 0;
  for (int i = 0; i < mn; i++) tr += c[i * mn + i];
  for (int i = 0; i < mn * mn; i++) sum += c[i];
  printf("matmul %dx%d: trace %.4f, sum %.4f\n", mn, mn, tr, sum);
  free(a); free(b); free(c); free(x); free(y);
  return 0;
}
