/* The SVG report of an evaluation (dmbp_eval_run_write): the mean
 * deletion and insertion curves of every method, two panels side by side,
 * written by hand as SVG 1.1. */
#include "eval.h"

#include <math.h>
#include <string.h>

/* Layout, in SVG user units (pixels). */
#define SVG_W 1000
#define PANEL_W 380
#define PANEL_H 280
#define PANEL_TOP 92
#define PANEL_LEFT0 80
#define PANEL_LEFT1 (PANEL_LEFT0 + PANEL_W + 120)
#define LEGEND_TOP (PANEL_TOP + PANEL_H + 90)
#define LEGEND_COLS 4
#define LEGEND_COL_W 225
#define LEGEND_ROW_H 22

/* One colour per method, the same on every plot: Okabe and Ito's
 * colour-blind-safe palette; DMBP gets the strongest, and two methods a
 * dash pattern so that the lines part even in gray. */
static const struct {
    const char *colour, *dash;
} style[] = {
    [DMBP_METHOD_SALIENCY] = {"#56B4E9", NULL},
    [DMBP_METHOD_GXI] = {"#0072B2", NULL},
    [DMBP_METHOD_IG] = {"#009E73", NULL},
    [DMBP_METHOD_SMOOTHGRAD] = {"#CC79A7", NULL},
    [DMBP_METHOD_GUIDED] = {"#E69F00", "6 3"},
    [DMBP_METHOD_GRADCAM] = {"#555555", "2 3"},
    [DMBP_METHOD_DMBP] = {"#D55E00", NULL},
    [DMBP_METHOD_OCCLUSION] = {"#000000", NULL},
    [DMBP_METHOD_GRADCAMPP] = {"#555555", "6 2 2 2"},
    [DMBP_METHOD_SCORECAM] = {"#999999", "2 3"},
    [DMBP_METHOD_RISE] = {"#000000", "4 4"},
    [DMBP_METHOD_LRP] = {"#F0E442", "8 3"},
};
_Static_assert(sizeof style / sizeof style[0] == DMBP_NUM_METHODS,
               "a style for every method");

static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void stroke(FILE *f, dmbp_method m, double width)
{
    fprintf(f, " fill=\"none\" stroke=\"%s\" stroke-width=\"%g\"",
            style[m].colour, width);
    if (style[m].dash)
        fprintf(f, " stroke-dasharray=\"%s\"", style[m].dash);
}

/* Axes, grid, ticks and labels of a panel whose plot area starts at
 * (left, PANEL_TOP); x and y both span [0, 1]. */
static void panel_frame(FILE *f, int left, const char *title,
                        const char *subtitle, const char *xlabel)
{
    fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"title\">", left,
            PANEL_TOP - 30);
    xml_text(f, title);
    fprintf(f, "</text>\n<text x=\"%d\" y=\"%d\" class=\"tick\">", left,
            PANEL_TOP - 12);
    xml_text(f, subtitle);
    fputs("</text>\n", f);
    for (int t = 0; t <= 5; t++) {
        double v = t / 5.0;
        double gx = left + v * PANEL_W, gy = PANEL_TOP + (1 - v) * PANEL_H;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                "class=\"grid\"/>\n", gx, PANEL_TOP, gx, PANEL_TOP + PANEL_H);
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
                "class=\"grid\"/>\n", left, gy, left + PANEL_W, gy);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"tick\" "
                "text-anchor=\"middle\">%g</text>\n", gx,
                PANEL_TOP + PANEL_H + 18, v);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" class=\"tick\" "
                "text-anchor=\"end\">%g</text>\n", left - 8, gy + 4, v);
    }
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
            "class=\"axes\"/>\n", left, PANEL_TOP, PANEL_W, PANEL_H);
    fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"label\" "
            "text-anchor=\"middle\">", left + PANEL_W / 2,
            PANEL_TOP + PANEL_H + 40);
    xml_text(f, xlabel);
    fputs("</text>\n", f);
    fprintf(f, "<text class=\"label\" text-anchor=\"middle\" "
            "transform=\"translate(%d %d) rotate(-90)\">probability of the "
            "target class</text>\n", left - 44, PANEL_TOP + PANEL_H / 2);
}

static void curve(FILE *f, const dmbp_eval_run *r, int left, const dmbp__ev_method *m,
                  const double *y)
{
    bool dmbp = m->o.method == DMBP_METHOD_DMBP;
    fputs("<polyline", f);
    stroke(f, m->o.method, dmbp ? 3 : 1.8);
    fputs(" stroke-linejoin=\"round\" points=\"", f);
    for (int i = 0; i < r->points; i++) {
        double v = y[i] < 0 ? 0 : y[i] > 1 ? 1 : y[i];
        fprintf(f, "%s%.1f,%.1f", i ? " " : "",
                left + dmbp__ev_curve_x(r, i) * PANEL_W,
                PANEL_TOP + (1 - v) * PANEL_H);
    }
    fprintf(f, "\"><title>%s</title></polyline>\n",
            dmbp_method_name(m->o.method));
}

void dmbp__ev_write_svg(FILE *f, const dmbp_eval_run *r)
{
    int rows = (r->n_methods + LEGEND_COLS - 1) / LEGEND_COLS;
    int height = LEGEND_TOP + rows * LEGEND_ROW_H + 16;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
            "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
            "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n",
            SVG_W, height, SVG_W, height);
    fputs("<style>\n"
          ".title { font-size: 15px; font-weight: bold; }\n"
          ".label { font-size: 13px; }\n"
          ".tick { font-size: 11px; fill: #444444; }\n"
          ".grid { stroke: #e4e4e4; stroke-width: 1; }\n"
          ".axes { fill: none; stroke: #888888; stroke-width: 1; }\n"
          ".legend { font-size: 12.5px; }\n"
          "</style>\n"
          "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n", f);
    const char *base = strrchr(r->model_name, '/');
    base = base ? base + 1 : r->model_name;
    fputs("<text x=\"16\" y=\"26\" class=\"title\">", f);
    xml_text(f, base);
    fprintf(f, ": mean curves over %d images</text>\n", r->n);

    static const char *const del_sub[] = {
        [DMBP_SUBSTRATE_ZERO] = "most relevant pixels first, set to 0 "
                                "(the dataset mean)",
        [DMBP_SUBSTRATE_BLUR] = "most relevant pixels first, blurred",
        [DMBP_SUBSTRATE_MEAN] = "most relevant pixels first, set to the "
                                "image's mean"};
    static const char *const ins_sub[] = {
        [DMBP_SUBSTRATE_ZERO] = "most relevant pixels first, into an image "
                                "of 0 (the dataset mean)",
        [DMBP_SUBSTRATE_BLUR] = "most relevant pixels first, into the "
                                "blurred image",
        [DMBP_SUBSTRATE_MEAN] = "most relevant pixels first, into the "
                                "image's mean"};
    panel_frame(f, PANEL_LEFT0, "Deletion (lower is better)",
                del_sub[r->eo.deletion_substrate],
                "fraction of the pixels removed");
    panel_frame(f, PANEL_LEFT1, "Insertion (higher is better)",
                ins_sub[r->eo.insertion_start],
                "fraction of the pixels inserted");
    /* DMBP last, on top of the others. */
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < r->n_methods; k++) {
            const dmbp__ev_method *m = &r->m[k];
            if ((m->o.method == DMBP_METHOD_DMBP) != (pass == 1))
                continue;
            curve(f, r, PANEL_LEFT0, m, m->del_curve);
            curve(f, r, PANEL_LEFT1, m, m->ins_curve);
        }
    fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"legend\">method, and "
            "its mean AUC: deletion / insertion</text>\n", PANEL_LEFT0,
            LEGEND_TOP - 24);
    for (int k = 0; k < r->n_methods; k++) {
        const dmbp__ev_method *m = &r->m[k];
        int x = PANEL_LEFT0 + (k % LEGEND_COLS) * LEGEND_COL_W;
        int y = LEGEND_TOP + (k / LEGEND_COLS) * LEGEND_ROW_H;
        bool dmbp = m->o.method == DMBP_METHOD_DMBP;
        fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"", x, y - 4,
                x + 28, y - 4);
        stroke(f, m->o.method, dmbp ? 3 : 1.8);
        dmbp__ev_stat del = dmbp__ev_stats(m->v + DMBP_EVAL_DELETION, r->n, DMBP_EVAL_NUM_METRICS);
        dmbp__ev_stat ins = dmbp__ev_stats(m->v + DMBP_EVAL_INSERTION, r->n, DMBP_EVAL_NUM_METRICS);
        fprintf(f, "/>\n<text x=\"%d\" y=\"%d\" class=\"legend\"%s>%s  "
                "%.3f / %.3f</text>\n", x + 36, y,
                dmbp ? " font-weight=\"bold\"" : "",
                dmbp_method_name(m->o.method), del.mean, ins.mean);
    }
    fputs("</svg>\n", f);
}
