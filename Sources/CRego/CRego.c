#include "CRego.h"
int crego_placeholder(void) { return 0; }
