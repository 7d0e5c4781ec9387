"""SHA-256 of each shipped bundle's manifest.sha256, by bundle name: the bundles the app serves
without PREDICTOR_TRUST_BUNDLE (see predictor/serving/bundle_trust.py).

Written by ``python -m training train`` when it writes model/, and by ``python -m training pin``;
tests/test_bundle_trust.py checks it against model/. Not edited by hand.
"""

PINNED_MANIFESTS: dict[str, str] = {
    "boosting": "6f05897fed0670ca2bbce818b249579b9f0ac06d904932bb88fa233aa1d61afd",
    "ridge": "4c4724320461679b4380d283fcf08c66c03a7c139c9997944f4c2341658e30af",
}
