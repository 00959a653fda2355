#!/usr/bin/python3
# topics_sklearn.py — the sklearn baseline for bench/topics_eval.c: TF-IDF
# (sublinear, uni+bigrams) + KMeans at the same k on the same CFPB rows.
import csv
import sys
import time

from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

import os


def main():
    # The CFPB complaint sample is not part of the repository.
    path = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("VIGIL_CFPB_CSV")
    if not path:
        sys.exit("usage: topics_sklearn.py COMPLAINTS.csv (or set VIGIL_CFPB_CSV)")
    with open(path, newline="", encoding="utf-8") as fh:
        fh.readline()
        fh.readline()  # two lines of unzip output precede the header
        rows = [r for r in csv.DictReader(fh) if r["Consumer complaint narrative"]]
    texts = [r["Consumer complaint narrative"] for r in rows]
    product = [r["Product"] for r in rows]
    issue = [r["Issue"] for r in rows]
    k = len(set(product))
    print(f"rows with narrative: {len(rows)}, products: {k}, issues: {len(set(issue))}")
    t0 = time.monotonic()
    vec = TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=2,
                          max_df=0.5, ngram_range=(1, 2), max_features=50000)
    X = vec.fit_transform(texts)
    t1 = time.monotonic()
    km = KMeans(n_clusters=k, n_init=3, random_state=42).fit(X)
    t2 = time.monotonic()
    lab = km.labels_
    print(f"sklearn  k={k:<3d} vocab={X.shape[1]}  "
          f"NMI(product)={normalized_mutual_info_score(product, lab):.4f} "
          f"ARI(product)={adjusted_rand_score(product, lab):.4f}  "
          f"NMI(issue)={normalized_mutual_info_score(issue, lab):.4f} "
          f"ARI(issue)={adjusted_rand_score(issue, lab):.4f}  "
          f"tfidf {t1 - t0:.2f}s cluster {t2 - t1:.2f}s")


if __name__ == "__main__":
    main()
