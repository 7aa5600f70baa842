/* Quickbeam bench: floating-point kernels. A planetary n-body simulation (f64 arithmetic, sqrt, division;
 * the outer planets around the sun, symplectic Euler steps) followed by a Mandelbrot set count (f64
 * compares and branches in a tight loop) and a single-precision Jacobi relaxation on a grid (f32 loads and
 * stores). argv[1] = n-body steps, argv[2] = Mandelbrot side, argv[3] = Jacobi sweeps on a 128x128 grid. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#define PI 3.141592653589793
#define SOLAR_MASS (4 * PI * PI)
#define DAYS_PER_YEAR 365.24

typedef struct { double x, y, z, vx, vy, vz, m; } body_t;

static void init_bodies(body_t *b) {
  /* sun, jupiter, saturn, uranus, neptune: positions in AU, velocities in AU/day, masses in suns */
  static const double init[5][7] = {
    {0, 0, 0, 0, 0, 0, 1},
    {4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
     1.66007664274403694e-03, 7.69901118419740425e-03, -6.90460016972063023e-05, 9.54791938424326609e-04},
    {8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
     -2.76742510726862411e-03, 4.99852801234917238e-03, 2.30417297573763929e-05, 2.85885980666130812e-04},
    {1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
     2.96460137564761618e-03, 2.37847173959480950e-03, -2.96589568540237556e-05, 4.36624404335156298e-05},
    {1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
     2.68067772490389322e-03, 1.62824170038242295e-03, -9.51592254519715870e-05, 5.15138902046611451e-05}};
  for (int i = 0; i < 5; i++) {
    b[i].x = init[i][0]; b[i].y = init[i][1]; b[i].z = init[i][2];
    b[i].vx = init[i][3] * DAYS_PER_YEAR; b[i].vy = init[i][4] * DAYS_PER_YEAR; b[i].vz = init[i][5] * DAYS_PER_YEAR;
    b[i].m = init[i][6] * SOLAR_MASS;
  }
  double px = 0, py = 0, pz = 0;
  for (int i = 0; i < 5; i++) { px += b[i].vx * b[i].m; py += b[i].vy * b[i].m; pz += b[i].vz * b[i].m; }
  b[0].vx = -px / SOLAR_MASS; b[0].vy = -py / SOLAR_MASS; b[0].vz = -pz / SOLAR_MASS;
}

static double energy(const body_t *b, int n) {
  double e = 0;
  for (int i = 0; i < n; i++) {
    e += 0.5 * b[i].m * (b[i].vx * b[i].vx + b[i].vy * b[i].vy + b[i].vz * b[i].vz);
    for (int j = i + 1; j < n; j++) {
      double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
      e -= b[i].m * b[j].m / sqrt(dx * dx + dy * dy + dz * dz);
    }
  }
  return e;
}

static void advance(body_t *b, int n, double dt) {
  for (int i = 0; i < n; i++) {
    for (int j = i + 1; j < n; j++) {
      double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
      double d2 = dx * dx + dy * dy + dz * dz;
      double mag = dt / (d2 * sqrt(d2));
      b[i].vx -= dx * b[j].m * mag; b[i].vy -= dy * b[j].m * mag; b[i].vz -= dz * b[j].m * mag;
      b[j].vx += dx * b[i].m * mag; b[j].vy += dy * b[i].m * mag; b[j].vz += dz * b[i].m * mag;
    }
  }
  for (int i = 0; i < n; i++) { b[i].x += dt * b[i].vx; b[i].y += dt * b[i].vy; b[i].z += dt * b[i].vz; }
}

static long mandelbrot(int w, int h, int maxit) {
  long inside = 0;
  for (int py = 0; py < h; py++) {
    double ci = -1.25 + 2.5 * py / h;
    for (int px = 0; px < w; px++) {
      double cr = -2.0 + 2.75 * px / w, zr = 0, zi = 0;
      int it = 0;
      while (it < maxit && zr * zr + zi * zi <= 4.0) {
        double t = zr * zr - zi * zi + cr;
        zi = 2 * zr * zi + ci; zr = t; it++;
      }
      inside += it == maxit;
    }
  }
  return inside;
}

static double jacobi(int n, int iters) {
  float *a = calloc((size_t)(n * n), sizeof(float)), *b = calloc((size_t)(n * n), sizeof(float));
  for (int i = 0; i < n; i++) { a[i] = b[i] = 1.0f; a[(n - 1) * n + i] = b[(n - 1) * n + i] = -1.0f; }
  for (int k = 0; k < iters; k++) {
    for (int y = 1; y < n - 1; y++)
      for (int x = 1; x < n - 1; x++)
        b[y * n + x] = 0.25f * (a[(y - 1) * n + x] + a[(y + 1) * n + x] + a[y * n + x - 1] + a[y * n + x + 1]);
    float *t = a; a = b; b = t;
  }
  double s = 0;
  for (int i = 0; i < n * n; i++) s += a[i] * (double)((i % 7) + 1);
  free(a); free(b);
  return s;
}

int main(int argc, char **argv) {
  int steps = argc > 1 ? atoi(argv[1]) : 100000;
  static body_t bodies[5];
  init_bodies(bodies);
  printf("nbody: %d steps\n", steps);
  printf("energy before: %.9f\n", energy(bodies, 5));
  for (int i = 0; i < steps; i++) advance(bodies, 5, 0.01);
  printf("energy after:  %.9f\n", energy(bodies, 5));
  printf("jupiter at (%.6f, %.6f, %.6f)\n", bodies[1].x, bodies[1].y, bodies[1].z);

  int side = argc > 2 ? atoi(argv[2]) : 400;
  printf("mandelbrot %dx%d: %ld points inside\n", side, side, mandelbrot(side, side, 200));
  int sweeps = argc > 3 ? atoi(argv[3]) : 300, g = 128;
  printf("jacobi %dx%d, %d sweeps: %.6f\n", g, g, sweeps, jacobi(g, sweeps));
  return 0;
}
