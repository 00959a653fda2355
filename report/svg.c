/* svg.c — inline SVG charts for the report. Sizes come from a viewBox so the
 * charts scale with the page and print; colors and numbers are ours, text
 * from callers is escaped. */
#include "svg.h"

#include <math.h>
#include <string.h>

#include "core/date.h"

double svg_nice_max(double v)
{
    if (!(v > 0) || !isfinite(v))
        return 1;
    double p = pow(10, floor(log10(v)));
    static const double steps[] = {1, 2, 2.5, 5, 10};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (steps[i] * p >= v * (1 - 1e-12))
            return steps[i] * p;
    return 10 * p;
}

/* No xmlns: inline SVG in HTML needs none, and the page names no URL. */
static void open_svg(html_buf *b, const char *cls, double w, double h,
                     const char *title)
{
    html_printf(b,
                "<svg class=\"chart %s\" viewBox=\"0 0 %.0f %.0f\" "
                "width=\"%.0f\" height=\"%.0f\" role=\"img\" aria-label=\"",
                cls, w, h, w, h);
    html_text(b, title);
    html_raw(b, "\"><title>");
    html_text(b, title);
    html_raw(b, "</title>\n");
}

/* Share label for a y-axis tick ("25%"). */
static void pct_tick(html_buf *b, double x, double y, double v)
{
    html_printf(b,
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
                "class=\"tick\">%.0f%%</text>\n",
                x, y + 4, v * 100);
}

/* The series' legend along the top, from x = left: a swatch and its name,
 * spaced by the name's length. */
static void legend(html_buf *b, double left, size_t nseries,
                   const char *const *series_names, const char *const *colors)
{
    double lx = left;
    for (size_t s = 0; s < nseries; s++) {
        html_printf(b,
                    "<rect x=\"%.1f\" y=\"8\" width=\"12\" height=\"12\" "
                    "fill=\"%s\"/><text x=\"%.1f\" y=\"18\" class=\"legend\">",
                    lx, colors[s], lx + 16);
        html_text(b, series_names[s]);
        html_raw(b, "</text>\n");
        lx += 24 + 8.0 * (double)strlen(series_names[s]);
    }
}

/* Grid lines at 0, 25, 50, 75 and 100% of a plot of pw x ph at (L, T), with
 * their share labels left of the plot. */
static void share_grid(html_buf *b, double L, double T, double pw, double ph)
{
    for (int t = 0; t <= 4; t++) {
        double y = T + ph - ph * t / 4.0;
        html_printf(b,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                    "class=\"grid\"/>\n",
                    L, y, L + pw, y);
        pct_tick(b, L - 6, y, t / 4.0);
    }
}

/* The calibration plot's square grid (six lines each way, up to m on both
 * axes, from the origin (x0, y0) over P) with its ticks and axis titles, in
 * a chart S wide and high. */
static void calib_axes(html_buf *b, double x0, double y0, double P, double m,
                       double S)
{
    for (int t = 0; t <= 5; t++) {
        double f = t / 5.0, v = m * f;
        html_printf(b,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                    "class=\"grid\"/>\n"
                    "<line x1=\"%.1f\" y1=\"16\" x2=\"%.1f\" y2=\"%.1f\" "
                    "class=\"grid\"/>\n",
                    x0, y0 - P * f, x0 + P, y0 - P * f, x0 + P * f, x0 + P * f,
                    y0);
        html_printf(b,
                    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
                    "class=\"tick\">%.3g</text>\n"
                    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                    "class=\"tick\">%.3g</text>\n",
                    x0 - 6, y0 - P * f + 4, v, x0 + P * f, y0 + 16, v);
    }
    html_printf(b,
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                "class=\"axis\">predicted churn risk</text>\n"
                "<text transform=\"translate(14 %.1f) rotate(-90)\" "
                "text-anchor=\"middle\" class=\"axis\">observed churn "
                "rate</text>\n",
                x0 + P / 2, S - 6, 16 + P / 2);
}

void svg_stacked_bars(html_buf *b, const char *title, size_t nbars,
                      const char *const *bar_labels, size_t nseries,
                      const char *const *series_names,
                      const char *const *colors, const double *values)
{
    const double W = 720, H = 280, L = 48, R = 12, T = 34, B = 46;
    const double pw = W - L - R, ph = H - T - B;
    open_svg(b, "tiers", W, H, title);
    legend(b, L, nseries, series_names, colors);
    share_grid(b, L, T, pw, ph);
    if (nbars == 0) {
        html_raw(b, "</svg>\n");
        return;
    }
    double slot = pw / (double)nbars;
    double bw = slot * 0.7 > 48 ? 48 : slot * 0.7;
    /* about 12 date labels fit under the axis */
    size_t every = nbars <= 12 ? 1 : (nbars + 11) / 12;
    for (size_t i = 0; i < nbars; i++) {
        double total = 0;
        for (size_t s = 0; s < nseries; s++) {
            double v = values[i * nseries + s];
            total += v > 0 ? v : 0;
        }
        double x = L + slot * (double)i + (slot - bw) / 2;
        double y = T + ph;
        for (size_t s = 0; s < nseries && total > 0; s++) {
            double v = values[i * nseries + s];
            if (!(v > 0))
                continue;
            double h = ph * v / total;
            y -= h;
            html_raw(b, "<rect class=\"seg-");
            html_text(b, series_names[s]);
            html_printf(b,
                        "\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                        "height=\"%.1f\" fill=\"%s\"><title>",
                        x, y, bw, h, colors[s]);
            html_text(b, bar_labels[i]);
            html_raw(b, " ");
            html_text(b, series_names[s]);
            html_printf(b, ": %.0f (%.1f%%)</title></rect>\n", v,
                        100 * v / total);
        }
        if (i % every == 0 || i == nbars - 1) {
            html_printf(b,
                        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                        "class=\"tick\">",
                        x + bw / 2, T + ph + 16);
            html_text(b, bar_labels[i]);
            html_raw(b, "</text>\n");
        }
    }
    html_raw(b, "</svg>\n");
}

void svg_calibration(html_buf *b, const char *title, size_t n,
                     const double *pred, const double *obs, const double *rows)
{
    const double S = 380, M = 56, P = S - M - 16;
    double hi = 0, rmax = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(pred[i]) || !isfinite(obs[i]))
            continue;
        hi = fmax(hi, fmax(pred[i], obs[i]));
        if (rows && isfinite(rows[i]))
            rmax = fmax(rmax, rows[i]);
    }
    double m = svg_nice_max(hi > 1 ? 1 : hi);
    open_svg(b, "calibration", S, S, title);
    const double x0 = M, y0 = 16 + P; /* plot origin */
    calib_axes(b, x0, y0, P, m, S);
    html_printf(b,
                "<line class=\"diagonal\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                "y2=\"%.1f\"><title>perfect calibration</title></line>\n",
                x0, y0, x0 + P, y0 - P);
    html_raw(b, "<polyline class=\"calib\" points=\"");
    for (size_t i = 0; i < n; i++)
        if (isfinite(pred[i]) && isfinite(obs[i]))
            html_printf(b, "%.1f,%.1f ", x0 + P * fmin(pred[i] / m, 1),
                        y0 - P * fmin(obs[i] / m, 1));
    html_raw(b, "\"/>\n");
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(pred[i]) || !isfinite(obs[i]))
            continue;
        double r = 3.5;
        if (rows && rmax > 0 && isfinite(rows[i]) && rows[i] > 0)
            r = 3 + 6 * sqrt(rows[i] / rmax);
        html_printf(b,
                    "<circle class=\"calib-pt\" cx=\"%.1f\" cy=\"%.1f\" "
                    "r=\"%.1f\"><title>predicted %.4f, observed %.4f",
                    x0 + P * fmin(pred[i] / m, 1), y0 - P * fmin(obs[i] / m, 1),
                    r, pred[i], obs[i]);
        if (rows && isfinite(rows[i]))
            html_printf(b, ", %.0f rows", rows[i]);
        html_raw(b, "</title></circle>\n");
    }
    html_raw(b, "</svg>\n");
}

void svg_day_bars(html_buf *b, const char *title, int first_day, size_t ndays,
                  const double *counts, const unsigned char *mark)
{
    /* below the 42-unit plot: the first and last dates, so a reader knows
     * which days the bars are without hovering */
    const double W = 320, H = 66, T = 4, B = 20;
    const double ph = H - T - B;
    double mx = 0;
    for (size_t i = 0; i < ndays; i++)
        if (isfinite(counts[i]))
            mx = fmax(mx, counts[i]);
    if (mx < 1)
        mx = 1;
    open_svg(b, "daybars", W, H, title);
    double slot = ndays ? W / (double)ndays : W;
    for (size_t i = 0; i < ndays; i++) {
        char d[DATE_BUF];
        date_format(first_day + (int)i, d);
        double x = slot * (double)i;
        if (mark && mark[i])
            html_printf(b,
                        "<rect class=\"alert-window\" x=\"%.1f\" y=\"0\" "
                        "width=\"%.1f\" height=\"%.0f\"/>\n",
                        x, slot, H);
        double v = isfinite(counts[i]) && counts[i] > 0 ? counts[i] : 0;
        double h = ph * v / mx;
        html_printf(b,
                    "<rect class=\"day\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                    "height=\"%.1f\"><title>%s: %.0f</title></rect>\n",
                    x + slot * 0.1, T + ph - h, slot * 0.8, h, d, v);
    }
    html_printf(b,
                "<line class=\"base\" x1=\"0\" y1=\"%.1f\" x2=\"%.0f\" "
                "y2=\"%.1f\"/>\n",
                T + ph + 0.5, W, T + ph + 0.5);
    if (ndays > 0) {
        char d0[DATE_BUF], d1[DATE_BUF];
        date_format(first_day, d0);
        date_format(first_day + (int)ndays - 1, d1);
        html_printf(b,
                    "<text x=\"0\" y=\"%.1f\" class=\"tick\">%s</text>\n"
                    "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\" "
                    "class=\"tick\">%s</text>\n",
                    T + ph + 15, d0, W, T + ph + 15, d1);
    }
    html_raw(b, "</svg>\n");
}

void svg_share_bar(html_buf *b, const char *cls, const char *title,
                   size_t nseries, const char *const *series_names,
                   const char *const *colors, const double *values,
                   const char *const *value_labels)
{
    const double W = 720, H = 78, L = 8, R = 8, T = 8, BH = 28;
    const double pw = W - L - R;
    double total = 0;
    for (size_t s = 0; s < nseries; s++)
        total += values[s] > 0 ? values[s] : 0;
    open_svg(b, cls, W, H, title);
    double x = L, lx = L;
    for (size_t s = 0; s < nseries; s++) {
        double v = values[s] > 0 ? values[s] : 0;
        double w = total > 0 ? pw * v / total : 0;
        if (w > 0) {
            html_raw(b, "<rect class=\"seg-");
            html_text(b, series_names[s]);
            html_printf(b,
                        "\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                        "height=\"%.1f\" fill=\"%s\"><title>",
                        x, T, w, BH, colors[s]);
            html_text(b, series_names[s]);
            html_raw(b, ": ");
            html_text(b, value_labels ? value_labels[s] : "");
            html_printf(b, " (%.1f%%)</title></rect>\n", 100 * v / total);
            x += w;
        }
        /* the legend names every series, empty ones too */
        html_printf(b,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" "
                    "height=\"12\" fill=\"%s\"/><text x=\"%.1f\" y=\"%.1f\" "
                    "class=\"legend\">",
                    lx, T + BH + 14, colors[s], lx + 16, T + BH + 24);
        html_text(b, series_names[s]);
        html_raw(b, " ");
        html_text(b, value_labels ? value_labels[s] : "");
        html_printf(b, " (%.0f%%)</text>\n", total > 0 ? 100 * v / total : 0);
        lx += pw / (double)(nseries ? nseries : 1);
    }
    if (total <= 0)
        html_printf(b,
                    "<rect class=\"grid\" x=\"%.1f\" y=\"%.1f\" "
                    "width=\"%.1f\" height=\"%.1f\" fill=\"none\"/>\n",
                    L, T, pw, BH);
    html_raw(b, "</svg>\n");
}
