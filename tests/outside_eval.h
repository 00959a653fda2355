/* outside_eval.h — what a user's own evaluation of `train` + `score` would
 * measure: the scores of one date read from vigil.scores, judged against
 * the cancellations the source recorded in [day, day + horizon), with
 * vigil's metric functions but none of its training or scoring code. The
 * backtest and blend tests compare vigil's own figures with it. */
#ifndef VG_TEST_OUTSIDE_EVAL_H
#define VG_TEST_OUTSIDE_EVAL_H

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

#include "model/metrics.h"

/* ROC AUC and Brier of the scores at day (YYYY-MM-DD), the rows scored and
 * how many of them churned within horizon days. */
static inline void outside_eval(const char *dsn, const char *day, int horizon,
                                double *auc, double *brier, long *rows,
                                long *churned)
{
    char h[16];
    snprintf(h, sizeof h, "%d", horizon);
    const char *params[2] = {day, h};
    PGconn *c = PQconnectdb(dsn);
    PQclear(PQexec(c, "SET TIME ZONE 'UTC'"));
    PGresult *r = PQexecParams(
        c,
        "SELECT s.churn_risk, (c.canceled_at >= $1::date AND c.canceled_at < "
        "$1::date + $2::int)::int FROM vigil.scores s JOIN customers c USING "
        "(customer_id) WHERE s.as_of = $1::date",
        2, NULL, params, NULL, NULL, 0);
    int n = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : 0;
    double *p = malloc((size_t)(n + 1) * sizeof *p),
           *y = malloc((size_t)(n + 1) * sizeof *y);
    *churned = 0;
    for (int i = 0; i < n; i++) {
        p[i] = atof(PQgetvalue(r, i, 0));
        y[i] = atoi(PQgetvalue(r, i, 1));
        *churned += y[i] > 0;
    }
    *rows = n;
    *auc = metrics_roc_auc(p, y, NULL, (size_t)n);
    *brier = metrics_brier(p, y, NULL, (size_t)n);
    free(p);
    free(y);
    PQclear(r);
    PQfinish(c);
}

#endif
