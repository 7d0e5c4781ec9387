"""SHA-256 of each shipped bundle's manifest.sha256, by bundle name: the bundles the app serves
without PREDICTOR_TRUST_BUNDLE (see predictor/serving/bundle_trust.py).

Written by ``python -m training train`` when it writes model/, and by ``python -m training pin``;
tests/test_bundle_trust.py checks it against model/. Not edited by hand.
"""

PINNED_MANIFESTS: dict[str, str] = {
    "boosting": "464ca767d8a3610c3bb114c551f0bc3504eadfcabfc3bb929c21b5c1f4c47edc",
    "ridge": "f052ab60ec65938dfcebaf588afee8fa204dd5b7478aec881fc990820168ffee",
}
