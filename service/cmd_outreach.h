/* cmd_outreach.h — the outreach queue's commands for service/main.c's table:
 * `outreach` (the daily run), `tasks` (lifecycle) and `deliver` (push). */
#ifndef VG_CMD_OUTREACH_H
#define VG_CMD_OUTREACH_H

#include "service/cli.h"

int cmd_outreach(cli *c, int argc, char **argv, vg_error *err);
int cmd_tasks(cli *c, int argc, char **argv, vg_error *err);
int cmd_deliver(cli *c, int argc, char **argv, vg_error *err);

/* --help texts, kept beside the code they describe. */
extern const char cmd_outreach_usage[];
extern const char cmd_tasks_usage[];
extern const char cmd_deliver_usage[];

#endif
