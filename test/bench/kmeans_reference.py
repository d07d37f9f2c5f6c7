#!/usr/bin/python3
"""scikit-learn side of test/bench/04_segmentation.sh (benchmark only: the
extension never uses Python).

  kmeans_reference.py data OUTDIR
      writes OUTDIR/<name>.csv (one "{x1,...,xd}" feature array per line, the
      exact float64 values) for the quality data sets and the 1M x 8 speed
      data set, plus OUTDIR/<name>.npy with the same values.
  kmeans_reference.py quality OUTDIR
      prints "name k inertia" for KMeans(n_clusters=k, n_init=10) on each
      quality data set (best of seeds 0..4, as a strong reference).
  kmeans_reference.py speed OUTDIR RUNS
      prints "lloyd|elkan median_seconds inertia" for KMeans(8, n_init=1) on
      the speed data set (data already in memory; fit time only).
"""
import sys
import time

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import (load_breast_cancer, load_digits, load_iris,
                              load_wine, make_blobs)

QUALITY = [("iris", 3), ("wine", 3), ("breast_cancer", 2), ("digits", 10), ("blobs", 5)]


def quality_sets():
    blobs, _ = make_blobs(n_samples=5000, n_features=6, centers=5, cluster_std=2.5,
                          random_state=7)
    return {
        "iris": load_iris().data,
        "wine": load_wine().data,
        "breast_cancer": load_breast_cancer().data,
        "digits": load_digits().data,
        "blobs": blobs,
    }


def speed_set():
    x, _ = make_blobs(n_samples=1_000_000, n_features=8, centers=8, cluster_std=2.0,
                      random_state=42)
    return x


def write(outdir, name, x):
    np.save(f"{outdir}/{name}.npy", x)
    with open(f"{outdir}/{name}.csv", "w") as f:
        for row in x:
            f.write('"{' + ",".join(repr(float(v)) for v in row) + '}"\n')


def main():
    mode, outdir = sys.argv[1], sys.argv[2]
    if mode == "data":
        for name, x in quality_sets().items():
            write(outdir, name, x)
        write(outdir, "speed", speed_set())
    elif mode == "quality":
        for name, k in QUALITY:
            x = np.load(f"{outdir}/{name}.npy")
            best = min(KMeans(n_clusters=k, n_init=10, random_state=s).fit(x).inertia_
                       for s in range(5))
            print(name, k, repr(best))
    elif mode == "speed":
        runs = int(sys.argv[3])
        x = np.load(f"{outdir}/speed.npy")
        for algorithm in ("lloyd", "elkan"):
            times, inertia = [], None
            for r in range(runs):
                start = time.perf_counter()
                km = KMeans(n_clusters=8, n_init=1, algorithm=algorithm, random_state=r).fit(x)
                times.append(time.perf_counter() - start)
                inertia = km.inertia_
            print(algorithm, sorted(times)[(runs - 1) // 2], repr(inertia))


if __name__ == "__main__":
    main()
