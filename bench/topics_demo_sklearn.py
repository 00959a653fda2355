#!/usr/bin/python3
# topics_demo_sklearn.py — the scikit-learn baseline for
# bench/topics_demo_eval.c: the same tickets (same hash sample), subject +
# body as raw text, TfidfVectorizer (default tokenizer, sublinear tf,
# uni+bigrams, min_df=2, max_df=0.5, max_features=50000 like vigil's cap)
# + KMeans (k-means++, n_init given, default 1) at k = number of true topics.
# Usage: topics_demo_sklearn.py tickets.csv [per-mille] [n_init]
import csv
import sys
import time

from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

csv.field_size_limit(1 << 30)


def fnv1a(s):
    h = 0xCBF29CE484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def main():
    path = sys.argv[1]
    permille = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    n_init = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    t0 = time.monotonic()
    texts, truth = [], []
    with open(path, newline="", encoding="utf-8") as fh:
        for tid, _lang, subj, body, topic in csv.reader(fh):
            if permille < 1000 and fnv1a(tid) % 1000 >= permille:
                continue
            texts.append(subj + "\n" + body)
            truth.append(topic)
    k = len(set(truth))
    t1 = time.monotonic()
    vec = TfidfVectorizer(sublinear_tf=True, min_df=2, max_df=0.5,
                          ngram_range=(1, 2), max_features=50000)
    X = vec.fit_transform(texts)
    t2 = time.monotonic()
    km = KMeans(n_clusters=k, n_init=n_init, random_state=42).fit(X)
    t3 = time.monotonic()
    lab = km.labels_
    print(f"sklearn  k={k:<3d} docs={len(texts)} vocab={X.shape[1]} "
          f"NMI={normalized_mutual_info_score(truth, lab):.4f} "
          f"ARI={adjusted_rand_score(truth, lab):.4f}  "
          f"(n_init={n_init})  read {t1 - t0:.2f}s tfidf {t2 - t1:.2f}s "
          f"kmeans {t3 - t2:.2f}s  total(tfidf+kmeans) {t3 - t1:.2f}s",
          flush=True)


if __name__ == "__main__":
    main()
