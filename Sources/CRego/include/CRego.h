#ifndef CREGO_H
#define CREGO_H
int crego_placeholder(void);
#endif
