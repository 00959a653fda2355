/* flattrees.c — see flattrees.h. */
#include "model/flattrees.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct flattrees {
    int ntrees;
    int *first;          /* per tree: index of its root in the node arrays */
    int *left, *right;   /* per node: children (absolute), -1 for a leaf */
    int *feature;        /* per node: split feature */
    unsigned char *dflt; /* per node: missing goes left */
    float *cond;         /* per node: split condition (leaf: its value) */
    float *mean;         /* per node: mean value (leaf: the leaf value) */
    float base_margin;
};

void flattrees_free(flattrees *t)
{
    if (!t)
        return;
    free(t->first);
    free(t->left);
    free(t->right);
    free(t->feature);
    free(t->dflt);
    free(t->cond);
    free(t->mean);
    free(t);
}

/* A node's mean value exactly as XGBoost computes it (RegTree::
 * FillNodeMeanValue, in float): a leaf's value, else the children's means
 * weighted by their hessian sums. */
static float fill_mean(flattrees *t, const float *hess, int n, int depth)
{
    if (t->left[n] < 0 || depth > 64)
        return t->mean[n] = t->cond[n];
    float r = fill_mean(t, hess, t->left[n], depth + 1) * hess[t->left[n]];
    r += fill_mean(t, hess, t->right[n], depth + 1) * hess[t->right[n]];
    r /= hess[n];
    return t->mean[n] = r;
}

static int json_int_at(json_t *a, size_t i)
{
    json_t *v = json_array_get(a, i);
    return json_is_true(v)      ? 1
           : json_is_integer(v) ? (int)json_integer_value(v)
                                : 0;
}

/* One tree of the JSON model into the flat arrays from node `base` on;
 * 0 when its shape is not the plain numeric tree this code walks. */
static int flattrees_add_tree(flattrees *t, json_t *tree, int base, float *hess,
                              size_t ncols)
{
    json_t *l = json_object_get(tree, "left_children"),
           *r = json_object_get(tree, "right_children"),
           *f = json_object_get(tree, "split_indices"),
           *c = json_object_get(tree, "split_conditions"),
           *d = json_object_get(tree, "default_left"),
           *h = json_object_get(tree, "sum_hessian"),
           *st = json_object_get(tree, "split_type");
    size_t n = json_array_size(l);
    if (n == 0 || json_array_size(r) != n || json_array_size(f) != n ||
        json_array_size(c) != n || json_array_size(d) != n ||
        json_array_size(h) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int li = json_int_at(l, i), ri = json_int_at(r, i);
        int fi = json_int_at(f, i);
        if (li >= (int)n || ri >= (int)n || (li < 0) != (ri < 0) ||
            (li >= 0 && (fi < 0 || (size_t)fi >= ncols)) ||
            (st && json_int_at(st, i) != 0)) /* a categorical split */
            return 0;
        t->left[base + i] = li < 0 ? -1 : base + li;
        t->right[base + i] = ri < 0 ? -1 : base + ri;
        t->feature[base + i] = fi;
        t->dflt[base + i] = (unsigned char)json_int_at(d, i);
        t->cond[base + i] = (float)json_number_value(json_array_get(c, i));
        hess[base + i] = (float)json_number_value(json_array_get(h, i));
    }
    fill_mean(t, hess, base, 0);
    return 1;
}

/* Whether the learner is the one model this walk reproduces: binary
 * logistic, gbtree, one tree per round, at least `rounds` numeric trees. */
static int flattrees_supported(json_t *learner, size_t rounds)
{
    json_t *gb = json_object_get(learner, "gradient_booster");
    json_t *model = json_object_get(gb, "model");
    json_t *info = json_object_get(model, "tree_info");
    const char *obj = json_string_value(
        json_object_get(json_object_get(learner, "objective"), "name"));
    const char *gbn = json_string_value(json_object_get(gb, "name"));
    const char *npt = json_string_value(json_object_get(
        json_object_get(model, "gbtree_model_param"), "num_parallel_tree"));
    if (!obj || strcmp(obj, "binary:logistic") != 0 || !gbn ||
        strcmp(gbn, "gbtree") != 0 || (npt && strcmp(npt, "1") != 0) ||
        rounds == 0 ||
        json_array_size(json_object_get(model, "trees")) < rounds)
        return 0;
    for (size_t i = 0; i < rounds; i++)
        if (json_int_at(info, i) != 0)
            return 0;
    return 1;
}

static flattrees *flattrees_alloc(size_t ntrees, size_t nodes)
{
    flattrees *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->first = malloc(ntrees * sizeof *t->first);
    t->left = malloc(nodes * sizeof *t->left);
    t->right = malloc(nodes * sizeof *t->right);
    t->feature = malloc(nodes * sizeof *t->feature);
    t->dflt = malloc(nodes);
    t->cond = malloc(nodes * sizeof *t->cond);
    t->mean = malloc(nodes * sizeof *t->mean);
    if (!t->first || !t->left || !t->right || !t->feature || !t->dflt ||
        !t->cond || !t->mean) {
        flattrees_free(t);
        return NULL;
    }
    return t;
}

flattrees *flattrees_from_json(const char *json, size_t len, size_t rounds,
                               size_t ncols)
{
    json_t *root = json_loadb(json, len, 0, NULL);
    json_t *learner = json_object_get(root, "learner");
    json_t *trees = json_object_get(
        json_object_get(json_object_get(learner, "gradient_booster"), "model"),
        "trees");
    const char *bs = json_string_value(json_object_get(
        json_object_get(learner, "learner_model_param"), "base_score"));
    flattrees *t = NULL;
    float *hess = NULL;
    size_t nodes = 0;
    if (!bs || !flattrees_supported(learner, rounds))
        goto fail;
    for (size_t i = 0; i < rounds; i++)
        nodes += json_array_size(
            json_object_get(json_array_get(trees, i), "left_children"));
    t = flattrees_alloc(rounds, nodes);
    hess = malloc((nodes ? nodes : 1) * sizeof *hess);
    if (!t || !hess)
        goto fail;
    int base = 0;
    for (size_t i = 0; i < rounds; i++) {
        json_t *tree = json_array_get(trees, i);
        t->first[i] = base;
        if (!flattrees_add_tree(t, tree, base, hess, ncols))
            goto fail;
        base += (int)json_array_size(json_object_get(tree, "left_children"));
    }
    t->ntrees = (int)rounds;
    /* The bias starts at the margin of base_score, as XGBoost's own
     * (ProbToMargin, in float). */
    float p = strtof(bs, NULL);
    t->base_margin = -logf(1.0f / p - 1.0f);
    free(hess);
    json_decref(root);
    return t;
fail:
    free(hess);
    flattrees_free(t);
    json_decref(root);
    return NULL;
}

/* Saabas contributions of one row, in XGBoost's order of float operations
 * (CPUPredictor::PredictContribution with RegTree::
 * CalculateContributionsApprox): each tree's deltas are summed per feature
 * first, then added to the row's totals. */
void flattrees_contribs_row(const flattrees *t, const float *x, size_t ncols,
                            float *out)
{
    memset(out, 0, (ncols + 1) * sizeof *out);
    for (int k = 0; k < t->ntrees; k++) {
        int n = t->first[k];
        float node = t->mean[n];
        out[ncols] += node;
        if (t->left[n] < 0)
            continue;
        int feats[128];
        float part[128];
        int np = 0, split = 0;
        while (t->left[n] >= 0 && np < 128) {
            split = t->feature[n];
            float v = x[split];
            n = isnan(v)         ? (t->dflt[n] ? t->left[n] : t->right[n])
                : v < t->cond[n] ? t->left[n]
                                 : t->right[n];
            float nv = t->mean[n];
            int q = 0;
            while (q < np && feats[q] != split)
                q++;
            if (q == np) {
                feats[np] = split;
                part[np++] = 0.0f;
            }
            part[q] += nv - node;
            node = nv;
        }
        /* XGBoost adds the leaf value minus the last mean: zero */
        int q = 0;
        while (q < np && feats[q] != split)
            q++;
        if (q < np)
            part[q] += t->cond[n] - node;
        for (int i = 0; i < np; i++)
            out[feats[i]] += part[i];
    }
    out[ncols] += t->base_margin;
}
