"""SHA-256 of each shipped bundle's manifest.sha256, by bundle name: the bundles the app serves
without PREDICTOR_TRUST_BUNDLE (see predictor/serving/bundle_trust.py).

Written by ``python -m training train`` when it writes model/, and by ``python -m training pin``;
tests/test_bundle_trust.py checks it against model/. Not edited by hand.
"""

PINNED_MANIFESTS: dict[str, str] = {
    "boosting": "84b8d449e3692974805d6e0261960602637c622ebdd1f7d0ab350ac695ff05c6",
    "ridge": "797d0f7fd5d1d29ffd18dba25138f3906300b4653bb0b65e59d4c06ec41d8e77",
}
