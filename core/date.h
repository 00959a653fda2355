/* date.h — UTC calendar days as integers (days since 1970-01-01).
 * Every as-of computation in vigil works in whole UTC days. */
#ifndef VG_DATE_H
#define VG_DATE_H

#define DATE_BUF 11 /* "YYYY-MM-DD" + NUL */

/* Parse "YYYY-MM-DD" strictly (real calendar dates only); 0 on success. */
int date_parse(const char *s, int *day);
void date_format(int day, char buf[DATE_BUF]);
int date_from_ymd(int y, int m, int d);
void date_to_ymd(int day, int *y, int *m, int *d);
/* Today's UTC day. */
int date_today(void);

#endif
