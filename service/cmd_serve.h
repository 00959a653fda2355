/* cmd_serve.h — the `vigil serve` command (the scheduler service); the
 * service itself is service/serve.h. */
#ifndef VG_CMD_SERVE_H
#define VG_CMD_SERVE_H

#include "service/cli.h"

#define SERVE_USAGE                                                            \
    "usage: vigil [global options] serve\n\n"                                  \
    "Run the scheduled jobs (daily, topics, train) on the cron schedules of "  \
    "the\n"                                                                    \
    "configuration (schedule.*), each scheduled time once across every "       \
    "instance\n"                                                               \
    "sharing the database (recorded in vigil.job_runs), and answer HTTP on\n"  \
    "http.listen: GET /healthz, /metrics (Prometheus), /alerts (JSON Feed), "  \
    "/queue.\n"                                                                \
    "SIGTERM or SIGINT stop it (a running job is canceled and rolled back "    \
    "within\n"                                                                 \
    "serve.stop_timeout); SIGHUP reloads the configuration file, keeping the " \
    "running\n"                                                                \
    "one if the new file is invalid. Logs go to stderr.\n"

int cmd_serve(cli *c, int argc, char **argv, vg_error *err);

#endif
