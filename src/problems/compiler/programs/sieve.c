/* Sieve of Eratosthenes: number of primes below several limits, and their sum. */
#include <stdio.h>
#include <string.h>

#define MAX 200000
static char composite[MAX];

static long count_primes(int n, long *sum) {
  memset(composite, 0, (size_t)n);
  long count = 0;
  *sum = 0;
  for (int i = 2; i < n; i++) {
    if (composite[i]) continue;
    count++;
    *sum += i;
    for (long j = (long)i * i; j < n; j += i) composite[j] = 1;
  }
  return count;
}

int main(void) {
  int limits[] = {10, 100, 1000, 10000, 100000, MAX};
  for (int k = 0; k < 6; k++) {
    long sum;
    long c = count_primes(limits[k], &sum);
    printf("primes below %d: %ld (sum %ld)\n", limits[k], c, sum);
  }
  return 0;
}
