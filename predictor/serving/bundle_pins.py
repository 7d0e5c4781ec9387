"""SHA-256 of each shipped bundle's manifest.sha256, by bundle name: the bundles the app serves
without PREDICTOR_TRUST_BUNDLE (see predictor/serving/bundle_trust.py).

Written by ``python -m training train`` when it writes model/, and by ``python -m training pin``;
tests/test_bundle_trust.py checks it against model/. Not edited by hand.
"""

PINNED_MANIFESTS: dict[str, str] = {
    "boosting": "2464b7468630079a737be4fe8866905bd478a7d9f2ea69b135ba392792867301",
    "ridge": "87f6852decbb0ef39940f61aa165b8d93225aeeb478adfe3c0e4bc69cf7596cb",
}
