"""The grouping graph stages, from AE maps to the classifier's inputs (the readers and generators
of data files are the modules beside this package in `datasets/`):

    config          GraphConfig: candidates, edges and pairs, label radius, tag normalisation
    candidates      stage 1: maps -> keypoint candidates (NMS, sub-pixel peaks, sampled tags)
    candidate_graph stage 2: candidates -> message edges and classified pairs (no ground truth)
    features        vertex features and edge attributes the classifier reads
    labels          the ground-truth person of each candidate, pair labels (training, scoring)
    cache           built graphs kept on disk, keyed on content, checksummed
"""
