#include <stdio.h>

int main(void) {
  puts("Hello from strata");
  return 0;
}
