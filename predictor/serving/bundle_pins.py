"""SHA-256 of each shipped bundle's manifest.sha256, by bundle name: the bundles the app serves
without PREDICTOR_TRUST_BUNDLE (see predictor/serving/bundle_trust.py).

Written by ``python -m training train`` when it writes model/, and by ``python -m training pin``;
tests/test_bundle_trust.py checks it against model/. Not edited by hand.
"""

PINNED_MANIFESTS: dict[str, str] = {
    "boosting": "84b8d449e3692974805d6e0261960602637c622ebdd1f7d0ab350ac695ff05c6",
    "ridge": "4562278aab87aae7eb80656d6b4edd57a78f6aab29d98e01d9cf144f6037bb9a",
}
