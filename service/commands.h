/* commands.h — the `vigil` commands that live in their own files, for the
 * command table in main.c. */
#ifndef VG_COMMANDS_H
#define VG_COMMANDS_H

#include "service/cli.h"

int cmd_topics(cli *c, int argc, char **argv, vg_error *err);
extern const char cmd_topics_usage[];
int cmd_daily(cli *c, int argc, char **argv, vg_error *err);
extern const char cmd_daily_usage[];
int cmd_runs(cli *c, int argc, char **argv, vg_error *err);
extern const char cmd_runs_usage[];
int cmd_check(cli *c, int argc, char **argv, vg_error *err);
extern const char cmd_check_usage[];

int cmd_customer(cli *c, int argc, char **argv, vg_error *err);
extern const char cmd_customer_usage[];
int cmd_specialists(cli *c, int argc, char **argv, vg_error *err);
extern const char cmd_specialists_usage[];
int cmd_backtest(cli *c, int argc, char **argv, vg_error *err);
extern const char cmd_backtest_usage[];

#endif
