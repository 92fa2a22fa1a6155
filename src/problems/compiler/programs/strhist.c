/* Letter histogram and word statistics of a built-in text. */
#include <stdio.h>
#include <ctype.h>

static const char *text =
  "It is a truth universally acknowledged, that a single compiler in possession of a good "
  "intermediate representation, must be in want of a pass ordering. However little known the "
  "feelings or views of such a compiler may be on its first entering a neighbourhood, this truth "
  "is so well fixed in the minds of the surrounding engineers.";

int main(void) {
  int hist[26] = {0};
  int words = 0, longest = 0, cur = 0, vowels = 0;
  for (const char *p = text; ; p++) {
    int c = (unsigned char)*p;
    if (isalpha(c)) {
      int l = tolower(c) - 'a';
      hist[l]++;
      cur++;
      if (l == 0 || l == 4 || l == 8 || l == 14 || l == 20) vowels++;
    } else {
      if (cur > 0) { words++; if (cur > longest) longest = cur; }
      cur = 0;
      if (c == 0) break;
    }
  }
  for (int i = 0; i < 26; i++) if (hist[i]) printf("%c:%d ", 'a' + i, hist[i]);
  printf("\nwords=%d longest=%d vowels=%d\n", words, longest, vowels);
  return 0;
}
