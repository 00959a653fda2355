/* cmd_serve.c — `vigil serve`: hands the global options to the scheduler
 * service in service/serve.c and runs it until it is told to stop. */
#include "service/commands.h"

#include <getopt.h>

#include "service/serve.h"

static int run_serve(cli *c, int argc, char **argv, vg_error *err)
{
    static const struct option opts[] = {{0, 0, 0, 0}};
    if (getopt_long(argc, argv, "", opts, NULL) != -1)
        return vg_fail(err, VG_EUSAGE, "see `vigil serve --help`");
    if (cli_no_operands("serve", argc, argv, err) != VG_OK)
        return VG_EUSAGE;
    serve_opts o = {c->dsn, c->config_path, c->log, NULL};
    return serve_run(&o, err);
}

const command cmd_serve = {
    .name = "serve",
    .fn = run_serve,
    .summary = "the scheduler service: scheduled jobs and HTTP",
    .usage =
        "usage: vigil [global options] serve\n\n"
        "Run the scheduled jobs (daily, topics, train, deliver) on the cron\n"
        "schedules of the configuration (schedule.*), each scheduled time once "
        "across\nevery instance sharing the database (recorded in "
        "vigil.job_runs), and answer\nHTTP on http.listen: GET /healthz, "
        "/metrics (Prometheus), /alerts (JSON Feed),\n/queue.\n"
        "SIGTERM or SIGINT stop it (a running job is canceled and rolled back "
        "within\n"
        "serve.stop_timeout); SIGHUP reloads the configuration file, keeping "
        "the "
        "running\n"
        "one if the new file is invalid. Logs go to stderr.\n",
};
