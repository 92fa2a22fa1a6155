/* Quicksort (Hoare partition, insertion sort below 16 elements) of pseudo-random arrays. */
#include <stdio.h>

static void insertion(int *a, int lo, int hi) {
  for (int i = lo + 1; i <= hi; i++) {
    int v = a[i], j = i - 1;
    while (j >= lo && a[j] > v) { a[j + 1] = a[j]; j--; }
    a[j + 1] = v;
  }
}

static void quicksort(int *a, int lo, int hi) {
  while (hi - lo >= 16) {
    int p = a[lo + (hi - lo) / 2], i = lo - 1, j = hi + 1;
    for (;;) {
      do i++; while (a[i] < p);
      do j--; while (a[j] > p);
      if (i >= j) break;
      int t = a[i]; a[i] = a[j]; a[j] = t;
    }
    if (j - lo < hi - j) { quicksort(a, lo, j); lo = j + 1; } else { quicksort(a, j + 1, hi); hi = j; }
  }
  insertion(a, lo, hi);
}

int main(void) {
  static int a[20000];
  unsigned x = 2024;
  for (int n = 10; n <= 20000; n *= 3) {
    for (int i = 0; i < n; i++) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; a[i] = (int)(x % 100000); }
    quicksort(a, 0, n - 1);
    int sorted = 1;
    long sum = 0;
    for (int i = 0; i < n; i++) { if (i && a[i - 1] > a[i]) sorted = 0; sum += (long)a[i] * (i % 7); }
    printf("n=%d sorted=%d min=%d max=%d weighted=%ld\n", n, sorted, a[0], a[n - 1], sum);
  }
  return 0;
}
