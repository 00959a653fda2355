/* cmd_serve.c — `vigil serve`: hands the global options to the scheduler
 * service in service/serve.c and runs it until it is told to stop. */
#include "service/cmd_serve.h"

#include <getopt.h>

#include "service/serve.h"

int cmd_serve(cli *c, int argc, char **argv, vg_error *err)
{
    static const struct option opts[] = {{0, 0, 0, 0}};
    if (getopt_long(argc, argv, "", opts, NULL) != -1 || optind < argc)
        return vg_fail(err, VG_EUSAGE, "see `vigil serve --help`");
    serve_opts o = {c->dsn, c->config_path, c->log, NULL};
    return serve_run(&o, err);
}
