#define _GNU_SOURCE
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include "CSpawn.h"

int cspawn_addclosefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

int cspawn_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

short cspawn_setsid_flag(void) { return POSIX_SPAWN_SETSID; }

void cspawn_line_buffered_stdout(void) { setvbuf(stdout, NULL, _IOLBF, 0); }
void cspawn_signal_disposition(int number, int ignore) { signal(number, ignore ? SIG_IGN : SIG_DFL); }
