"""The planner's answers built on a Predictor: target budget, drivers, what-if curves, economics, scenarios, batch scoring."""
