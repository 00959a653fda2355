/* cmd_report.h — `vigil report`: the command-line side of report/report.h
 * (options, the summary line or --json object). */
#ifndef VG_CMD_REPORT_H
#define VG_CMD_REPORT_H

#include "service/cli.h"

#define CMD_REPORT_USAGE                                                       \
    "usage: vigil [global options] report [--as-of D] --out FILE.html "        \
    "[--json]\n"                                                               \
    "                                    [--dates N] [--top N] [--days N] "    \
    "[--topics N]\n\n"                                                         \
    "Write one self-contained HTML page (inline CSS and SVG, no scripts, no "  \
    "external\n"                                                               \
    "resources) as of D (default today, UTC): the model and its validation "   \
    "metrics,\n"                                                               \
    "the tier distribution over the last --dates score dates (default 12), "   \
    "the\n"                                                                    \
    "calibration curve, the --top riskiest customers and why (default 20), "   \
    "daily\n"                                                                  \
    "tickets of the --topics busiest topics over the --days before D "         \
    "(defaults 8\n"                                                            \
    "and 30) and the open trend alerts. Nothing dated after D is shown. A "    \
    "section\n"                                                                \
    "without data says which command to run. FILE is replaced atomically.\n"

int cmd_report(cli *c, int argc, char **argv, vg_error *err);

#endif
