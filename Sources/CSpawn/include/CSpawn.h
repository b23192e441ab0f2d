#ifndef CSPAWN_H
#define CSPAWN_H
#include <spawn.h>

/// posix_spawn pieces that glibc only declares under _GNU_SOURCE, which Swift's Glibc module does not set.
int cspawn_addclosefrom(posix_spawn_file_actions_t *actions, int from);
int cspawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);
short cspawn_setsid_flag(void);
/// Makes stdout line-buffered (a daemon's log is read while it runs).
void cspawn_line_buffered_stdout(void);
/// A signal's disposition set to ignore (1) or to its default (0): SIG_IGN and SIG_DFL are casts Swift cannot import.
void cspawn_signal_disposition(int signal, int ignore);
#endif
