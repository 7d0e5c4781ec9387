"""The page's fixed words: the introduction and the notes on what the answer means."""

INTRO = """
# Campaign Purchase Predictor
Plan a social media ad campaign and see how many purchases it is likely to bring, **with an
honest range**. Change the plan, compare scenarios, and check what the budget would buy.
"""

NOTES = """
**What the range means.** The range comes from how far the model's predictions fell from the
real outcomes of campaigns it had not seen (conformal calibration). For campaigns like those in
the training data, about 90% of outcomes land inside a 90% range, counted over many campaigns.
It grows with the prediction, because bigger campaigns vary more, and it is wider for plans with
few ads and for plans unlike the campaigns the model learned from, which it predicts less
surely. It does **not** promise that
*your* campaign lands inside it: about one campaign in ten falls outside a 90% range, and the
promise only holds for campaigns drawn from the same world as the training data. It does not
cover changes that data never saw, and outside the training data's range (a warning tells you)
it is no longer backed by evidence.

**Limitations**

- **Synthetic, single-company data.** The model learned from simulated campaigns of one
  advertiser in the schema of a public dataset, not from your market.
- **No product, price or creative quality.** What you sell, its price, and how good the ads
  are matter a lot, and the model sees none of them.
- **Correlation, not causation.** It describes patterns in past campaigns; doubling a budget
  will not necessarily do what the curve shows.
- **No seasonality shocks, competitors or platform changes.** Holidays beyond the start month,
  a rival's launch or an algorithm change are not in the data.
- **Limited training size.** A limited number of synthetic campaigns; rare set-ups are poorly
  covered.
- **Best for campaigns similar to the training data.** A warning appears when a setting is
  outside the range the model was trained on, and the what-if notes say where the curves
  leave it.
- **An educational tool.** Use it to explore trade-offs and to ask better questions, not to
  commit a budget.

**Economics.** Revenue is purchases × average order value; ROAS is revenue ÷ budget; CPA is
budget ÷ purchases (undefined at 0 purchases); profit is revenue × margin − budget. Their ranges
come from the purchase range.
"""
