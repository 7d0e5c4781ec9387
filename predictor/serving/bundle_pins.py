"""SHA-256 of each shipped bundle's manifest.sha256, by bundle name: the bundles the app serves
without PREDICTOR_TRUST_BUNDLE (see predictor/serving/bundle_trust.py).

Written by ``python -m training train`` when it writes model/, and by ``python -m training pin``;
tests/test_bundle_trust.py checks it against model/. Not edited by hand.
"""

PINNED_MANIFESTS: dict[str, str] = {
    "boosting": "ac5a1a72a58d2abefdbc3d2c8a0816ed67ba90aeeaade3eaa7c3909ba069f4a6",
    "ridge": "87f6852decbb0ef39940f61aa165b8d93225aeeb478adfe3c0e4bc69cf7596cb",
}
