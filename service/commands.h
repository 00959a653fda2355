/* commands.h — every `vigil` command that lives in its own file, declared
 * one way: a `command` (name, summary, --help text, handler; see cli.h)
 * defined beside the code it describes, listed in main.c's table. */
#ifndef VG_COMMANDS_H
#define VG_COMMANDS_H

#include "service/cli.h"

extern const command cmd_backtest;
extern const command cmd_topics;
extern const command cmd_outreach;
extern const command cmd_tasks;
extern const command cmd_deliver;
extern const command cmd_customer;
extern const command cmd_specialists;
extern const command cmd_daily;
extern const command cmd_serve;
extern const command cmd_report;
extern const command cmd_runs;
extern const command cmd_check;

#endif
