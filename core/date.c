/* date.c — civil-date arithmetic (Howard Hinnant's days_from_civil algorithm).
 * Pure functions; the only clock read is date_today(). */
#include "date.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int date_from_ymd(int y, int m, int d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy =
        (153u * (unsigned)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (unsigned)d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int)doe - 719468;
}

void date_to_ymd(int day, int *y, int *m, int *d)
{
    int z = day + 719468;
    const int era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

int date_parse(const char *s, int *day)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (int i = 0; i < 10; i++) {
        if (i == 4 || i == 7)
            continue;
        if (s[i] < '0' || s[i] > '9')
            return -1;
    }
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    if (y < 1900 || y > 9999 || m < 1 || m > 12 || d < 1 ||
        d > days_in_month(y, m))
        return -1;
    *day = date_from_ymd(y, m, d);
    return 0;
}

void date_format(int day, char buf[DATE_BUF])
{
    int y, m, d;
    date_to_ymd(day, &y, &m, &d);
    /* The modulo bounds keep the output inside DATE_BUF for any int. */
    snprintf(buf, DATE_BUF, "%04u-%02u-%02u", (unsigned)y % 10000u,
             (unsigned)m % 100u, (unsigned)d % 100u);
}

int date_today(void)
{
    return (int)(time(NULL) / 86400);
}
