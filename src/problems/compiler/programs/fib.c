/* Fibonacci numbers three ways (recursive, iterative, fast doubling) modulo a prime. */
#include <stdio.h>

#define MOD 1000000007LL

static long long rec(int n) { return n < 2 ? n : (rec(n - 1) + rec(n - 2)) % MOD; }

static long long iter(int n) {
  long long a = 0, b = 1;
  for (int i = 0; i < n; i++) { long long t = (a + b) % MOD; a = b; b = t; }
  return a;
}

static void doubling(long long n, long long *f, long long *g) {
  if (n == 0) { *f = 0; *g = 1; return; }
  long long a, b;
  doubling(n / 2, &a, &b);
  long long c = a * ((2 * b - a + MOD) % MOD) % MOD;
  long long d = (a * a + b * b) % MOD;
  if (n % 2) { *f = d; *g = (c + d) % MOD; } else { *f = c; *g = d; }
}

int main(void) {
  for (int n = 1; n <= 25; n += 4) {
    long long f, g;
    doubling(n, &f, &g);
    printf("F(%d) = %lld %lld %lld\n", n, rec(n), iter(n), f);
  }
  long long f, g;
  doubling(1000000000LL, &f, &g);
  printf("F(1e9) mod p = %lld, iter(100000) = %lld\n", f, iter(100000));
  return 0;
}
